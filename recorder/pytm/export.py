"""Exports of a snapshot for other tools: pprof and collapsed stacks.

``to_pprof(snapshot, path)`` writes a gzip-compressed ``profile.proto``
(github.com/google/pprof, proto/profile.proto) that ``pprof``, Pyroscope,
Parca and Grafana read. ``to_collapsed(snapshot, path)`` writes one line
per traceback, ``root;...;leaf BYTES`` with frames as ``file:line`` --
the input of flamegraph.pl and speedscope. From the command line:
``python -m pytm export DUMP.pytm -o OUT [--format pprof|collapsed]``.

What the values mean. pytm's snapshot sizes are already unbiased
estimates in sampled mode (each sample weighs the bytes it stands for),
so the exported values are those estimates and need no scaling: the
profile says so in a comment, and records the sampling interval as its
period (``space``/``bytes``; 1 in exact mode) for tools that display
it. Only live memory is in a snapshot: the sample types are
``inuse_space`` (bytes) and ``inuse_objects`` (count), as in Go's heap
profiles.

pytm frames carry a file name and a line, no function name: each file is
one pprof Function (name = file name) and each (file, line) one Location.
"""

from __future__ import annotations

import gzip
import os
from typing import Dict, List, Tuple

__all__ = ["to_pprof", "to_collapsed", "to_flamegraph_html", "pprof_bytes",
           "collapsed_lines", "flamegraph_tree"]


# ---- a protobuf encoder for the few wire types profile.proto uses -------
#
# Every field is a varint (wire type 0: int64/uint64/bool) or
# length-delimited (wire type 2: strings, sub-messages, packed repeated
# varints). Key = (field number << 3) | wire type, as a varint. Worked
# example: ValueType{type=1, unit=2} is 08 01 10 02; inside a Profile as
# field 1 it becomes 0a 04 08 01 10 02.

def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # int64: two's complement, ten bytes
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _int(field: int, n: int) -> bytes:
    return _varint(field << 3) + _varint(n) if n else b""


def _bytes(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _packed(field: int, values) -> bytes:
    body = b"".join(_varint(v) for v in values)
    return _bytes(field, body) if body else b""


class _Strings:
    """The profile's string table; index 0 is the empty string."""

    def __init__(self) -> None:
        self.index: Dict[str, int] = {"": 0}
        self.table: List[str] = [""]

    def __call__(self, s: str) -> int:
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.table)
            self.table.append(s)
        return i


def _stacks(snapshot) -> List[Tuple[List[Tuple[str, int]], int, int]]:
    """(frames root first, size, count) per traceback, biggest first."""
    out = []
    for st in snapshot.statistics("traceback"):
        frames = [(f.filename, f.lineno) for f in st.traceback]
        out.append((frames, st.size, st.count))
    return out


def pprof_bytes(snapshot) -> bytes:
    """The snapshot as an uncompressed profile.proto Profile message."""
    strings = _Strings()
    functions: Dict[str, int] = {}
    locations: Dict[Tuple[str, int], int] = {}
    fn_msgs: List[bytes] = []
    loc_msgs: List[bytes] = []
    samples: List[bytes] = []
    for frames, size, count in _stacks(snapshot):
        ids = []
        for filename, lineno in reversed(frames):  # pprof: leaf first
            loc = locations.get((filename, lineno))
            if loc is None:
                fid = functions.get(filename)
                if fid is None:
                    fid = functions[filename] = len(functions) + 1
                    name = strings(filename)
                    fn_msgs.append(_bytes(5, _int(1, fid) + _int(2, name) +
                                          _int(3, name) + _int(4, name)))
                loc = locations[(filename, lineno)] = len(locations) + 1
                line = _int(1, fid) + _int(2, lineno)
                loc_msgs.append(_bytes(4, _int(1, loc) + _bytes(4, line)))
            ids.append(loc)
        samples.append(_bytes(2, _packed(1, ids) + _packed(2, [size, count])))
    interval = snapshot.sample_interval
    info = snapshot.info() if hasattr(snapshot, "info") else {}
    sample_types = (_bytes(1, _int(1, strings("inuse_space")) +
                           _int(2, strings("bytes"))) +
                    _bytes(1, _int(1, strings("inuse_objects")) +
                           _int(2, strings("count"))))
    comments = [strings(
        "pytm snapshot%s: %s; values are %s" % (
            " of PID %s" % info["pid"] if info.get("pid") else "",
            "exact (every allocation)" if interval == 1 else
            "sampled, mean interval %d bytes" % interval,
            "exact" if interval == 1 else
            "unbiased estimates (already scaled: do not scale again)"))]
    period_type = _bytes(11, _int(1, strings("space")) +
                         _int(2, strings("bytes")))
    time_ns = int(info.get("taken_time_ns") or 0)
    head = sample_types + b"".join(samples) + b"".join(loc_msgs) + \
        b"".join(fn_msgs)
    table = b"".join(_bytes(6, s.encode("utf-8", "surrogateescape"))
                     for s in strings.table)
    tail = (_int(9, time_ns) + period_type + _int(12, interval) +
            _packed(13, comments) + _int(14, strings("inuse_space")))
    # the string table must be final before it is written: every
    # strings() call above has happened
    return head + table + tail


def to_pprof(snapshot, path) -> None:
    """Writes the snapshot to path as a gzip-compressed pprof profile."""
    data = gzip.compress(pprof_bytes(snapshot), mtime=0)
    _write(path, data)


def _frame(filename: str, lineno: int) -> str:
    # ';' separates frames and a newline ends a stack in the format
    return "%s:%d" % (filename.replace(";", "_").replace("\n", " "), lineno)


def collapsed_lines(snapshot) -> List[str]:
    """One 'root;...;leaf BYTES' line per traceback, biggest first."""
    return ["%s %d" % (";".join(_frame(f, l) for f, l in frames), size)
            for frames, size, _ in _stacks(snapshot) if size > 0]


def to_collapsed(snapshot, path) -> None:
    """Writes the snapshot's collapsed stacks to path."""
    text = "".join(line + "\n" for line in collapsed_lines(snapshot))
    _write(path, text.encode("utf-8", "surrogateescape"))


def _write(path, data: bytes) -> None:
    path = os.fspath(path)
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ---- a self-contained HTML flame graph -----------------------------------
#
# One file, no network at view time: the stacks are embedded as a JSON
# tree {"n": name, "v": bytes, "c": [children]} and drawn by the script
# below as an icicle (root on top) with absolutely positioned divs. Click
# a frame to zoom into it, click the root bar to zoom out; hovering shows
# the frame, its size and its share.

_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>%(title)s</title>
<style>
body{font:12px monospace;margin:8px;background:#fff;color:#222}
#g{position:relative;width:100%%;}
.f{position:absolute;height:17px;overflow:hidden;white-space:nowrap;
box-sizing:border-box;border:1px solid #fff;padding:0 2px;cursor:pointer;
line-height:15px}
#info{height:18px;margin:4px 0}
</style></head><body>
<h3 id="h">%(title)s</h3>
<div id="info">%(subtitle)s</div>
<div id="g"></div>
<script>
var DATA = %(data)s;
var g = document.getElementById("g"), info = document.getElementById("info");
function fmt(b){var u=["B","KiB","MiB","GiB"],i=0;while(b>=1024&&i<3){b/=1024;i++;}
 return (i?b.toFixed(1):b)+" "+u[i];}
function color(name){var h=0;for(var i=0;i<name.length;i++)h=(h*31+name.charCodeAt(i))>>>0;
 return "hsl("+(20+h%%40)+","+(60+h%%30)+"%%,"+(55+h%%20)+"%%)";}
function draw(root){
 g.innerHTML=""; var W=g.clientWidth||1000, depth=0;
 function walk(node,x,w,d){
  if(w<1)return; depth=Math.max(depth,d);
  var e=document.createElement("div"); e.className="f";
  e.style.left=x+"px"; e.style.width=w+"px"; e.style.top=(d*17)+"px";
  e.style.background=d?color(node.n):"#ddd";
  e.textContent=node.n; e.title=node.n+"  "+fmt(node.v)+"  "+
   (100*node.v/DATA.v).toFixed(1)+"%%";
  e.onmouseover=function(){info.textContent=e.title;};
  e.onclick=function(){draw(d?node:DATA);};
  g.appendChild(e);
  var cx=x;
  (node.c||[]).forEach(function(c){var cw=w*c.v/node.v;walk(c,cx,cw,d+1);cx+=cw;});
 }
 walk(root,0,W,0); g.style.height=((depth+1)*17)+"px";
}
draw(DATA);
</script></body></html>
"""


def flamegraph_tree(snapshot) -> dict:
    """The stacks as a tree of {"n", "v", "c"} dicts, root first."""
    root = {"n": "all", "v": 0, "c": {}}
    for frames, size, _ in _stacks(snapshot):
        if size <= 0:
            continue
        root["v"] += size
        node = root
        for filename, lineno in frames:
            name = "%s:%d" % (filename, lineno)
            child = node["c"].get(name)
            if child is None:
                child = node["c"][name] = {"n": name, "v": 0, "c": {}}
            child["v"] += size
            node = child

    def finish(node):
        kids = sorted(node["c"].values(), key=lambda c: -c["v"])
        out = {"n": node["n"], "v": node["v"]}
        if kids:
            out["c"] = [finish(k) for k in kids]
        return out
    return finish(root)


def to_flamegraph_html(snapshot, path, title: str = "pytm memory") -> None:
    """Writes a self-contained HTML flame graph of the live memory."""
    import html
    import json
    tree = flamegraph_tree(snapshot)
    interval = snapshot.sample_interval
    subtitle = "%s live, %s" % (
        _fmt_size(tree["v"]), "exact" if interval == 1 else
        "sampled every %s on average (estimates)" % _fmt_size(interval))
    # </script> inside the data must not end the script element
    data = json.dumps(tree).replace("</", "<\\/")
    text = _HTML % {"title": html.escape(title), "data": data,
                    "subtitle": html.escape(subtitle)}
    _write(path, text.encode("utf-8", "surrogateescape"))


def _fmt_size(n: float) -> str:
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            return "%.1f %s" % (n / div, unit)
    return "%d B" % n


FORMATS = {"pprof": to_pprof, "collapsed": to_collapsed,
           "html": to_flamegraph_html}


def main(argv: List[str]) -> int:
    """python -m pytm export DUMP -o OUT [--format pprof|collapsed]."""
    import argparse
    from ._snapshot import DumpError, Snapshot
    p = argparse.ArgumentParser(
        prog="python -m pytm export",
        description="convert a .pytm dump for pprof or flame graph tools")
    p.add_argument("dump", help="a .pytm file (Snapshot.dump, pytmtop 's')")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.add_argument("--format", choices=sorted(FORMATS), default=None,
                   help="default: from the output's extension (.pb.gz or "
                        ".pprof: pprof; .html: flame graph; otherwise "
                        "collapsed)")
    args = p.parse_args(argv)
    fmt = args.format
    if fmt is None:
        out = args.output.lower()
        fmt = "pprof" if out.endswith((".pb.gz", ".pprof", ".pb")) else \
            "html" if out.endswith((".html", ".htm")) else "collapsed"
    try:
        snap = Snapshot.load(args.dump)
    except (DumpError, OSError) as e:
        print("pytm export: %s" % e, file=__import__("sys").stderr)
        return 1
    FORMATS[fmt](snap, args.output)
    print("pytm export: %s -> %s (%s)" % (args.dump, args.output, fmt))
    return 0


