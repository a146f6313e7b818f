#!/usr/bin/env python3
"""A dump written on one CPython version loads on every other one.

Usage: cross_version.py WORKDIR PYTHON=PYTHONPATH [PYTHON=PYTHONPATH ...]

Each interpreter (with its own build of pytm on the given PYTHONPATH)
traces the same workload exactly, dumps a snapshot to WORKDIR/<tag>.pytm
and writes what it saw (statistics by line and by traceback, the
traceback limit, the traced total) to WORKDIR/<tag>.json. Then every
interpreter loads every dump and must see exactly what the writer saw.
Exit status 0 when all N x N loads agree; one line per pair on stdout.
.ci/test runs it over every interpreter it built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

WRITE = r'''
import json, sys, pytm
out = sys.argv[1]
pytm.start(8, sample_interval=1)
keep = []
def grow(n):
    for i in range(n):
        keep.append(("k%d" % i) * (i % 40 + 1))
def nest(d):
    return grow(3000) if d == 0 else nest(d - 1)
nest(4)
keep.append(bytearray(123456))
snap = pytm.take_snapshot()
pytm.stop()
snap.dump(out + ".pytm")
json.dump(FACTS(snap), open(out + ".json", "w"))
'''

READ = r'''
import json, sys, pytm
snap = pytm.Snapshot.load(sys.argv[1] + ".pytm")
print(json.dumps(FACTS(snap)))
'''

FACTS = r'''
def FACTS(snap):
    def rows(kind):
        return sorted([[str(f) for f in st.traceback], st.size, st.count]
                      for st in snap.statistics(kind))
    return {"lineno": rows("lineno"), "traceback": rows("traceback"),
            "limit": snap.traceback_limit,
            "total": sum(t.size for t in snap.traces)}
'''


def run(python: str, path: str, code: str, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=path)
    env.pop("PYTHONTRACEMALLOC", None)
    proc = subprocess.run([python, "-c", FACTS + code, *args], env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s%s" % (python, proc.stdout,
                                              proc.stderr))
    return proc.stdout


def version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True, text=True, check=True).stdout.strip()


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    work = argv[1]
    os.makedirs(work, exist_ok=True)
    pairs = [a.split("=", 1) for a in argv[2:]]
    tags = {}
    for python, path in pairs:
        tag = version(python)
        tags[python] = tag
        run(python, path, WRITE, os.path.join(work, tag))
    bad = 0
    for reader, rpath in pairs:
        for writer, _ in pairs:
            base = os.path.join(work, tags[writer])
            want = json.load(open(base + ".json"))
            got = json.loads(run(reader, rpath, READ, base))
            ok = got == want and want["lineno"] and want["total"] > 123456
            bad += not ok
            print("dump written on %s, loaded on %s: %s (%d lines, %d bytes)"
                  % (tags[writer], tags[reader], "same" if ok else "DIFFERENT",
                     len(got["lineno"]), got["total"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
