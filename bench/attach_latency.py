#!/usr/bin/env python3
"""How long `python -m pytm attach PID` takes, and how long it holds the
target's main thread (issue 11; docs/attach.md).

    PYTHONPATH=build/dev/python python3 bench/attach_latency.py [--build build/dev] [-n 5]

Each round starts a fresh plain python3 (no pytm on its path) that
allocates from its main thread every 10 ms, then measures
  * first rows: from launching `python -m pytm attach PID` to the first
    `pytmtop -p PID --once --json` whose rows include the target's
    allocating line (pytmtop polled back to back);
  * held: the time the injector held the main thread stopped, from
    PTRACE_INTERRUPT to PTRACE_DETACH (reported by the command, --json);
  * attach command: wall time of the attach command alone (interpreter
    start-up included);
and detaches. Prints each round and the medians.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

TARGET = '''\
import os, sys, time
keep = []
def grow():
    keep.append(bytearray(40_000))  # LINE_GROW
    if len(keep) > 300:
        del keep[:150]
print("started", flush=True)
while not os.path.exists(sys.argv[1]):
    grow()
    time.sleep(0.01)
'''
LINE = next(i for i, l in enumerate(TARGET.splitlines(), 1) if "LINE_GROW" in l)


def one_round(build, tmp, i):
    script = os.path.join(tmp, "target%d.py" % i)
    stop = script + ".stop"
    with open(script, "w") as f:
        f.write(TARGET)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    t = subprocess.Popen([sys.executable, script, stop], env=env,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert t.stdout.readline() == "started\n"
        time.sleep(0.2)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "pytm", "attach", str(t.pid), "--json"],
                           capture_output=True, text=True)
        t_cmd = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit("attach failed: " + r.stderr)
        held = json.loads(r.stdout)["held_ns"] / 1e6
        while True:
            q = subprocess.run([os.path.join(build, "pytmtop"), "-p", str(t.pid),
                                "--once", "--json"], capture_output=True, text=True)
            if q.returncode == 0 and any(
                    row["filename"] == script and row["lineno"] == LINE
                    for row in json.loads(q.stdout)["rows"]):
                break
            if time.perf_counter() - t0 > 30:
                raise SystemExit("no rows after 30 s")
        t_rows = time.perf_counter() - t0
        d = subprocess.run([sys.executable, "-m", "pytm", "detach", str(t.pid)],
                           capture_output=True, text=True)
        if d.returncode != 0:
            raise SystemExit("detach failed: " + d.stderr)
        return t_rows * 1e3, held, t_cmd * 1e3
    finally:
        open(stop, "w").close()
        t.wait(10)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/dev", help="build tree with pytmtop")
    ap.add_argument("-n", type=int, default=5, help="rounds (default 5)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            rows.append(one_round(args.build, tmp, i))
            print("round %d: first rows %7.1f ms   held %6.3f ms   attach command %7.1f ms"
                  % ((i + 1,) + rows[-1]))
    med = [statistics.median(c) for c in zip(*rows)]
    print("median of %d: first rows %.1f ms, main thread held %.3f ms, attach command %.1f ms"
          % (args.n, *med))
    print("(CPython %s, %s)" % (sys.version.split()[0], os.uname().machine))


if __name__ == "__main__":
    main()
