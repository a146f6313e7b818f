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

__all__ = ["to_pprof", "to_collapsed", "pprof_bytes", "collapsed_lines"]


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


FORMATS = {"pprof": to_pprof, "collapsed": to_collapsed}


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
                        ".pprof: pprof; otherwise collapsed)")
    args = p.parse_args(argv)
    fmt = args.format
    if fmt is None:
        out = args.output.lower()
        fmt = "pprof" if out.endswith((".pb.gz", ".pprof", ".pb")) \
            else "collapsed"
    try:
        snap = Snapshot.load(args.dump)
    except (DumpError, OSError) as e:
        print("pytm export: %s" % e, file=__import__("sys").stderr)
        return 1
    FORMATS[fmt](snap, args.output)
    print("pytm export: %s -> %s (%s)" % (args.dump, args.output, fmt))
    return 0


