"""Exports of a snapshot for other tools: pprof, collapsed stacks, HTML.

``write(snapshot, path, format=None, **options)`` (also
``Snapshot.export``) writes one of three formats, guessed from the
extension when ``format`` is None (``format_for``):

- ``pprof``: a gzip-compressed ``profile.proto`` (github.com/google/pprof,
  proto/profile.proto) that ``pprof``, Pyroscope, Parca and Grafana read;
- ``collapsed``: one line per traceback, ``root;...;leaf BYTES`` with
  frames as ``file:line`` -- the input of flamegraph.pl and speedscope;
- ``html``: a self-contained flame graph (option ``title``).

``from_pid(pid)`` reads another traced process's arena (read-only,
through the shm reader) into a Snapshot that exports the same way. From
the command line: ``python -m pytm export (DUMP | --pid PID) -o OUT
[--format pprof|collapsed|html] [--title TEXT]``.

What the values mean. pytm's sizes are already unbiased estimates in
sampled mode (each sample weighs the bytes it stands for), so the
exported values are those estimates and need no scaling: the profile
says so in a comment, and records the sampling interval as its period
(``space``/``bytes``; 1 in exact mode). The sample types are
``inuse_space`` (bytes) and ``inuse_objects`` (count) of live memory,
then, when the snapshot knows them, ``alloc_space`` and ``alloc_objects``:
everything allocated at that traceback since tracing started, freed or
not (the arena's cumulative totals; unknown for a snapshot built from
raw traces or filtered).

pytm frames carry a file name and a line, no function name: each file is
one pprof Function (name = file name) and each (file, line) one Location.
A traceback cut at the traceback limit (``total_nframe > nframe``) gets a
``<stack cut off>`` pseudo-frame at its root end in every format.
"""

from __future__ import annotations

import gzip
import os
import sys
from typing import Dict, List, NamedTuple, Optional, Tuple

from ._recorder import ArenaError

__all__ = ["write", "format_for", "from_pid", "FORMATS", "ArenaError",
           "to_pprof", "to_collapsed", "to_flamegraph_html", "pprof_bytes",
           "collapsed_lines", "flamegraph_tree", "CUT_OFF"]

# The root-most pseudo-frame of a traceback cut at the traceback limit.
CUT_OFF = "<stack cut off>"

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


class _Stack(NamedTuple):
    """One exported stack: frames root first ((file, line), or CUT_OFF
    first when the traceback was cut), live size and count, cumulative
    alloc_size and alloc_count (0 when unknown)."""
    frames: Tuple
    size: int
    count: int
    alloc_size: int
    alloc_count: int


def _data(snapshot):
    """The C SnapData behind a pytm or stdlib tracemalloc Snapshot."""
    from ._snapshot import Snapshot
    if not isinstance(snapshot, Snapshot):
        snapshot = Snapshot.from_tracemalloc(snapshot)
    return snapshot._data


def _stacks(snapshot) -> Tuple[List[_Stack], bool]:
    """(stacks biggest first, whether the alloc totals are known). Equal
    tracebacks (same frames, both cut or both whole) are merged."""
    merged: Dict[Tuple, List[int]] = {}
    known = False
    for frames, total, size, count, a_size, a_count, a_samples in \
            _data(snapshot).tracebacks():
        known = known or a_samples > 0
        root_first = tuple(reversed(frames))
        if total is not None and total > len(frames):
            root_first = (CUT_OFF,) + root_first
        acc = merged.get(root_first)
        if acc is None:
            merged[root_first] = [size, count, a_size, a_count]
        else:
            for i, v in enumerate((size, count, a_size, a_count)):
                acc[i] += v
    stacks = [_Stack(f, *v) for f, v in merged.items()]
    # Ties compare frames; CUT_OFF (a str) sorts as a frame of its own.
    stacks.sort(key=lambda st: (-st.size, -st.alloc_size, tuple(
        (CUT_OFF, -1) if f is CUT_OFF else f for f in st.frames)))
    return stacks, known


def _name(frame) -> str:
    """A frame as 'file:line' (the cut-off pseudo-frame as itself)."""
    return frame if frame == CUT_OFF else "%s:%d" % frame


def pprof_bytes(snapshot) -> bytes:
    """The snapshot as an uncompressed profile.proto Profile message:
    sample types inuse_space/bytes, inuse_objects/count, then
    alloc_space/bytes, alloc_objects/count when the alloc totals are
    known; one sample per traceback, locations leaf first."""
    strings = _Strings()
    functions: Dict[str, int] = {}
    locations: Dict[object, int] = {}
    fn_msgs: List[bytes] = []
    loc_msgs: List[bytes] = []
    samples: List[bytes] = []
    stacks, known = _stacks(snapshot)
    for st in stacks:
        values = [st.size, st.count]
        if known:
            values += [st.alloc_size, st.alloc_count]
        if not any(values):
            continue
        ids = []
        for frame in reversed(st.frames):  # pprof: leaf first
            loc = locations.get(frame)
            if loc is None:
                filename, lineno = (CUT_OFF, 0) if frame == CUT_OFF else frame
                fid = functions.get(filename)
                if fid is None:
                    fid = functions[filename] = len(functions) + 1
                    name = strings(filename)
                    source = 0 if frame == CUT_OFF else name
                    fn_msgs.append(_bytes(5, _int(1, fid) + _int(2, name) +
                                          _int(3, name) + _int(4, source)))
                loc = locations[frame] = len(locations) + 1
                line = _int(1, fid) + _int(2, lineno)
                loc_msgs.append(_bytes(4, _int(1, loc) + _bytes(4, line)))
            ids.append(loc)
        samples.append(_bytes(2, _packed(1, ids) + _packed(2, values)))
    interval = _data(snapshot).sample_interval
    info = _data(snapshot).info()
    types = [("inuse_space", "bytes"), ("inuse_objects", "count")]
    if known:
        types += [("alloc_space", "bytes"), ("alloc_objects", "count")]
    sample_types = b"".join(_bytes(1, _int(1, strings(t)) + _int(2, strings(u)))
                            for t, u in types)
    comments = [strings(
        "pytm snapshot%s: %s; values are %s" % (
            " of PID %s" % info["pid"] if info.get("pid") else "",
            "exact (every allocation)" if interval == 1 else
            "sampled, mean interval %d bytes" % interval,
            "exact" if interval == 1 else
            "unbiased estimates (already scaled: do not scale again)")),
        strings("alloc_space/alloc_objects: allocated since tracing "
                "started, freed or not" if known else
                "no alloc_space/alloc_objects: this snapshot does not know "
                "the cumulative totals")]
    period_type = _bytes(11, _int(1, strings("space")) +
                         _int(2, strings("bytes")))
    time_ns = int(info.get("taken_time_ns") or 0)
    start_ns = int(info.get("start_time_ns") or 0)
    duration = time_ns - start_ns if 0 < start_ns <= time_ns else 0
    head = sample_types + b"".join(samples) + b"".join(loc_msgs) + \
        b"".join(fn_msgs)
    table = b"".join(_bytes(6, s.encode("utf-8", "surrogateescape"))
                     for s in strings.table)
    tail = (_int(9, time_ns) + _int(10, duration) + period_type +
            _int(12, interval) + _packed(13, comments) +
            _int(14, strings("inuse_space")))
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
    """One 'root;...;leaf BYTES' line per traceback with live bytes,
    biggest first; a cut traceback starts with CUT_OFF."""
    return ["%s %d" % (";".join(f if f == CUT_OFF else _frame(*f)
                                for f in st.frames), st.size)
            for st in _stacks(snapshot)[0] if st.size > 0]


def to_collapsed(snapshot, path) -> None:
    """Writes the snapshot's collapsed stacks to path."""
    text = "".join(line + "\n" for line in collapsed_lines(snapshot))
    _write(path, text.encode("utf-8", "surrogateescape"))


def _write(path, data: bytes) -> None:
    """Writes data to path atomically (a temporary file beside it,
    renamed over it). Raises OSError; no file is left behind then."""
    path = os.fspath(path)
    tmp = "%s.tmp%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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
    """The stacks with live bytes as a tree of {"n", "v", "c"} dicts,
    root first, children biggest first."""
    root = {"n": "all", "v": 0, "c": {}}
    for st in _stacks(snapshot)[0]:
        if st.size <= 0:
            continue
        root["v"] += st.size
        node = root
        for frame in st.frames:
            name = _name(frame)
            child = node["c"].get(name)
            if child is None:
                child = node["c"][name] = {"n": name, "v": 0, "c": {}}
            child["v"] += st.size
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
    interval = _data(snapshot).sample_interval
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

# (extension, format), longest first; matched case-insensitively
_EXTENSIONS = ((".pb.gz", "pprof"), (".pprof", "pprof"), (".pb", "pprof"),
               (".collapsed", "collapsed"), (".folded", "collapsed"),
               (".txt", "collapsed"), (".html", "html"), (".htm", "html"))

def format_for(path) -> str:
    """The format named by path's extension: .pb.gz/.pprof/.pb -> 'pprof',
    .txt/.collapsed/.folded -> 'collapsed', .html/.htm -> 'html'.
    Raises ValueError for any other extension."""
    name = os.fsdecode(os.fspath(path)).lower()
    for ext, fmt in _EXTENSIONS:
        if name.endswith(ext):
            return fmt
    raise ValueError(
        "cannot tell the export format from the name %r: use a .pb.gz, "
        ".pprof, .txt, .collapsed, .folded or .html name, or give the "
        "format (%s)" % (os.fsdecode(os.fspath(path)), ", ".join(FORMATS)))


def write(snapshot, path, format: Optional[str] = None, **options) -> str:
    """Writes snapshot (a pytm or tracemalloc Snapshot) to path in
    `format` ('pprof', 'collapsed' or 'html'; None: format_for(path)),
    atomically. Options: title= (html only). Returns the format used.
    Raises ValueError for an unknown format or extension, TypeError for
    an option the format does not take, OSError when path cannot be
    written (no file is left behind then)."""
    fmt = format_for(path) if format is None else format
    if fmt not in FORMATS:
        raise ValueError("unknown export format %r (choose from %s)"
                         % (fmt, ", ".join(FORMATS)))
    allowed = {"title"} if fmt == "html" else set()
    extra = set(options) - allowed
    if extra:
        raise TypeError("the %s export takes no option %s"
                        % (fmt, ", ".join(sorted(extra))))
    FORMATS[fmt](snapshot, path, **options)
    return fmt


def from_pid(pid: int, shm_dir: Optional[str] = None):
    """A Snapshot of another traced process's arena, read read-only
    (shm_dir None: $PYTM_SHM_DIR, else /dev/shm). It holds per-traceback
    totals, live and cumulative, but no per-block traces. Raises
    pytm.export.ArenaError with one line for a dead PID, a process that
    is not traced, a foreign, corrupt or stale arena."""
    from . import _recorder
    from ._snapshot import Snapshot
    return Snapshot._from_data(_recorder.read_arena(pid, shm_dir))


def main(argv: List[str]) -> int:
    """python -m pytm export (DUMP | --pid PID) -o OUT [--format F]
    [--title T]: 0 when written, 1 with one line on stderr otherwise."""
    import argparse
    from ._snapshot import DumpError, Snapshot
    p = argparse.ArgumentParser(
        prog="python -m pytm export",
        description="convert a .pytm dump, or a traced process's live "
                    "arena, for pprof or flame graph tools")
    p.add_argument("dump", nargs="?",
                   help="a .pytm file (Snapshot.dump, pytmtop 's')")
    p.add_argument("-p", "--pid", type=int,
                   help="read this traced process's live arena instead")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.add_argument("--format", choices=sorted(FORMATS), default=None,
                   help="default: from the output's extension (.pb.gz, "
                        ".pprof: pprof; .txt, .collapsed, .folded: "
                        "collapsed; .html: flame graph)")
    p.add_argument("--title", help="title of the HTML flame graph")
    args = p.parse_args(argv)
    if (args.dump is None) == (args.pid is None):
        p.error("give either a DUMP file or --pid PID")

    def fail(msg: str) -> int:
        print("pytm export: %s" % msg, file=sys.stderr)
        return 1
    try:
        fmt = args.format or format_for(args.output)
    except ValueError as e:
        return fail(str(e))
    if args.title is not None and fmt != "html":
        return fail("--title is for the html format only")
    try:
        if args.pid is not None:
            snap, source = from_pid(args.pid), "PID %d" % args.pid
        else:
            snap, source = Snapshot.load(args.dump), args.dump
    except (DumpError, ArenaError, OSError, ValueError) as e:
        return fail(str(e))
    options = {}
    if fmt == "html":
        options["title"] = args.title or "pytm memory: %s" % source
    try:
        write(snap, args.output, fmt, **options)
    except OSError as e:
        return fail("cannot write %s: %s" % (args.output,
                                              e.strerror or e))
    print("pytm export: %s -> %s (%s)" % (source, args.output, fmt))
    return 0
