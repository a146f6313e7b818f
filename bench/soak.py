#!/usr/bin/env python3
"""Long-running soak of sampled mode with a viewer attached (bench, not CI).

    bench/soak.py --build BUILD [--duration 30m] [--python PY]

Starts bench/soak_child.py (a steady mixed workload under pytm sampled
mode, BUILD/python on its path) and a live `pytmtop -p PID -d 0.1` on a
pseudo-terminal (10 refreshes a second) for the whole run. Every
--check seconds it pauses the workload at a step boundary and reads the
arena with `pytmtop -p PID --once --json --group traceback`, then checks:

  - the arena's traced total equals the sum over its tracebacks (and the
    viewer's total), and no samples were dropped;
  - arena use is bounded: the number of tracebacks and the tracer's own
    memory (its tables plus the arena's used part) stay below fixed
    limits;
  - the tracer's own memory (get_tracemalloc_memory), the child's peak
    RSS (VmHWM: its current RSS moves with the workload's live data by a
    few MB, so it is reported, not checked) and the live viewer's RSS do
    not grow after the warm-up: growth since the warm-up must stay within
    a floor plus a slope limit per minute.

Prints one line per check and a summary with least-squares slopes in
KiB/min. Exits 0 when every check held, 1 with a message naming the
first violation, 2 when the soak could not run.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness import viewer  # noqa: E402

# Bounds (KiB unless named otherwise). Growth after warm-up may not
# exceed FLOOR + SLOPE * minutes; the floors absorb allocator noise.
LIMITS = {
    "tracer_kib": (128, 8.0),
    "rss_kib": (1024, 32.0),      # reported, not checked: follows live data
    "hwm_kib": (2048, 32.0),
    "viewer_kib": (256, 16.0),
}
MAX_TRACEBACKS = 20000
MAX_TRACER_KIB = 16 << 10


def parse_duration(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smh]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("duration like 20s, 30m, 1h: %r"
                                         % text)
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--build", required=True,
                   help="CMake build tree (BUILD/python, BUILD/pytmtop)")
    p.add_argument("--duration", type=parse_duration, default=1800.0,
                   help="e.g. 30m (default), 20s")
    p.add_argument("--check", type=float, default=None,
                   help="seconds between checks (default: duration/60, "
                        "between 2 and 30)")
    p.add_argument("--warmup", type=float, default=None,
                   help="seconds before growth is measured (default: a "
                        "quarter of the run, at most 120)")
    p.add_argument("--python", default=sys.executable)
    return p.parse_args(argv)


def find_pytmtop(build):
    for rel in ("pytmtop", "tui/pytmtop"):
        path = os.path.join(build, rel)
        if os.access(path, os.X_OK):
            return path
    return None


def vm_rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def slope_per_min(ts, ys):
    """Least-squares slope of ys over ts (seconds), per minute; None with
    fewer than two points."""
    n = len(ts)
    if n < 2:
        return None
    mt, my = sum(ts) / n, sum(ys) / n
    den = sum((t - mt) ** 2 for t in ts)
    if den == 0:
        return None
    return sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / den * 60.0


class Child:
    """soak_child.py with its stdout read by a thread: the latest STAT
    line, and a queue of PAUSED acknowledgements."""

    def __init__(self, python, build):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [os.path.join(build, "python")] +
            ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        self.p = subprocess.Popen(
            [python, os.path.join(HERE, "soak_child.py")], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            bufsize=1)
        line = self.p.stdout.readline().split()
        if len(line) != 3 or line[0] != "READY":
            raise RuntimeError("soak child did not start: %r" % line)
        self.pid, self.arena = int(line[1]), line[2]
        self.stat = None
        self.paused = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stdout:
            if line.startswith("STAT "):
                self.stat = json.loads(line[5:])
            elif line.startswith("PAUSED"):
                self.paused.set()

    def pause(self, timeout=10.0):
        self.paused.clear()
        self.p.stdin.write("PAUSE\n")
        self.p.stdin.flush()
        if not self.paused.wait(timeout):
            raise RuntimeError("the soak child did not pause")

    def go(self):
        self.p.stdin.write("GO\n")
        self.p.stdin.flush()

    def stop(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.p.returncode


def read_arena(pytmtop, pid):
    out = subprocess.run([pytmtop, "-p", str(pid), "--once", "--json",
                          "--group", "traceback"], capture_output=True,
                         text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError("pytmtop --once --json exited %d: %s"
                           % (out.returncode, out.stderr.strip()[-500:]))
    return json.loads(out.stdout)


def check_arena(doc, tracer_kib):
    """Messages for every violated arena invariant of one reading."""
    bad = []
    rows_total = sum(r["size"] for r in doc["rows"])
    if doc["traced_current"] != doc["total_size"]:
        bad.append("arena traced total %d != viewer total %d"
                   % (doc["traced_current"], doc["total_size"]))
    if rows_total != doc["total_size"]:
        bad.append("sum over tracebacks %d != total %d"
                   % (rows_total, doc["total_size"]))
    if doc.get("n_dropped"):
        bad.append("%d samples dropped" % doc["n_dropped"])
    if doc["n_tracebacks"] > MAX_TRACEBACKS:
        bad.append("%d tracebacks in the arena (limit %d)"
                   % (doc["n_tracebacks"], MAX_TRACEBACKS))
    if tracer_kib > MAX_TRACER_KIB:
        bad.append("tracer memory %d KiB (limit %d)"
                   % (tracer_kib, MAX_TRACER_KIB))
    return bad


def check_growth(series, t_warm, elapsed):
    """Messages for every series growing beyond its limit after t_warm."""
    bad = []
    minutes = max(elapsed - t_warm, 0.0) / 60.0
    for key, (floor, slope) in LIMITS.items():
        if key == "rss_kib":
            continue
        pts = [(t, v[key]) for t, v in series if t >= t_warm
               and v.get(key) is not None]
        if len(pts) < 2:
            continue
        base = min(v for _, v in pts[:max(1, len(pts) // 10)])
        growth = pts[-1][1] - base
        allowed = floor + slope * minutes
        if growth > allowed:
            bad.append("%s grew %d KiB since the warm-up (allowed %.0f: "
                       "%d + %.0f/min)" % (key, growth, allowed, floor,
                                            slope))
    return bad


def summary(series, t_warm):
    out = {}
    for key in LIMITS:
        pts = [(t, v[key]) for t, v in series if t >= t_warm
               and v.get(key) is not None]
        out[key] = {
            "slope_kib_per_min": slope_per_min([t for t, _ in pts],
                                               [v for _, v in pts]),
            "first": pts[0][1] if pts else None,
            "last": pts[-1][1] if pts else None,
            "min": min(v for _, v in pts) if pts else None,
            "max": max(v for _, v in pts) if pts else None,
        }
    return out


def run(args):
    pytmtop = find_pytmtop(args.build)
    if pytmtop is None:
        print("soak: no pytmtop in %s" % args.build, file=sys.stderr)
        return 2
    check = args.check or min(30.0, max(2.0, args.duration / 60.0))
    warm = args.warmup if args.warmup is not None else \
        min(120.0, args.duration / 4.0)
    child = Child(args.python, args.build)
    live = viewer._Viewer(pytmtop, child.pid, dict(os.environ), 10 ** 9)
    t0 = time.monotonic()
    series, failures, n_checks = [], [], 0
    last_doc = None
    try:
        while True:
            elapsed = time.monotonic() - t0
            if elapsed >= args.duration:
                break
            time.sleep(min(check, args.duration - elapsed))
            if child.p.poll() is not None:
                failures.append("the soak child exited %s"
                                % child.p.returncode)
                break
            if live.p.poll() is not None:
                failures.append("the live viewer exited %s"
                                % live.p.returncode)
                break
            child.pause()
            try:
                doc = read_arena(pytmtop, child.pid)
            finally:
                child.go()
            last_doc = doc
            n_checks += 1
            t = time.monotonic() - t0
            stat = child.stat or {}
            point = {"tracer_kib": (stat.get("tracer_mem") or 0) / 1024.0,
                     "rss_kib": stat.get("rss_kib"),
                     "hwm_kib": stat.get("hwm_kib"),
                     "viewer_kib": vm_rss_kib(live.p.pid),
                     "tracebacks": doc["n_tracebacks"]}
            series.append((t, point))
            print("[%6.0fs] traced %.1f MB in %d tracebacks; tracer %.0f KiB;"
                  " rss %s KiB; viewer %s KiB"
                  % (t, doc["total_size"] / 1e6, doc["n_tracebacks"],
                     point["tracer_kib"], point["rss_kib"],
                     point["viewer_kib"]), flush=True)
            bad = check_arena(doc, point["tracer_kib"]) + \
                check_growth(series, warm, t)
            if bad:
                failures.extend("at %.0f s: %s" % (t, b) for b in bad)
                break
    finally:
        rc_view, _, _ = live.finish()
        rc_child = child.stop()
    if not failures and rc_child != 0:
        failures.append("the soak child exited %s" % rc_child)
    if not failures and n_checks < 2:
        failures.append("only %d check(s) ran" % n_checks)
    summ = summary(series, warm)
    print("soak summary: %.0f s, %d checks, warm-up %.0f s, %d tracebacks "
          "at the end; viewer exit %s" % (
              time.monotonic() - t0, n_checks, warm,
              last_doc["n_tracebacks"] if last_doc else -1, rc_view))
    for key, s in summ.items():
        sl = s["slope_kib_per_min"]
        print("  %-10s slope %s KiB/min  (after warm-up: first %s, last %s,"
              " min %s, max %s KiB)" % (
                  key, "n/a" if sl is None else "%+.2f" % sl,
                  *("%.0f" % s[k] if s[k] is not None else "n/a"
                    for k in ("first", "last", "min", "max"))))
    print("SOAK-JSON " + json.dumps({"checks": n_checks, "failures":
                                      failures, "summary": summ}))
    if failures:
        for f in failures:
            print("soak: VIOLATION %s" % f, file=sys.stderr)
        return 1
    print("soak: every check held")
    return 0


def main(argv):
    args = parse_args(argv)
    try:
        return run(args)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print("soak: could not run: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
