"""Quick tracer overhead check (the recorder's own; the full benchmark
suite is bench/runner.py).

    PYTHONPATH=build/python python bench/quick_overhead.py [--runs 7]
        [--modes none,pass,s64k,s128k,s256k,s512k,exact,tm]
        [--workloads alloc,mixed]

Each (mode, workload) run is a fresh interpreter that starts the tracer,
warms up, then times the workload alone (perf_counter). Runs are
interleaved (round-robin over modes) so that machine noise hits every
mode alike; the report gives medians and the overhead vs "none".

--ir counts instructions under valgrind's callgrind instead (one run =
Ir of two runs minus Ir of one), which the load of a shared machine does
not disturb.

Modes: none (untraced), pass (PEP 445 hooks that only forward:
bench/hook/benchhook.c, compiled on first use into bench/.cache), sNNk (pytm sampled at NN KiB, nframe 1),
exact (pytm sample_interval=1), tm (stdlib tracemalloc, nframe 1).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys

CHILD = r'''
import sys, time
mode, workload = sys.argv[1], sys.argv[2]

def alloc(n=300_000):
    keep = []
    for i in range(n):
        t = (i, i + 1, None)
        l = [i, t, "x"]
        d = {"a": i, "b": l}
        s = str(i) + "-" + str(i * 7)
        if i % 8 == 0:
            keep.append((d, s))
        if len(keep) > 20000:
            keep = []
    return len(keep)

def mixed(reps=3):
    import ast, json, os, re, textwrap
    srcdir = os.path.dirname(os.__file__)
    files = ["textwrap.py", "argparse.py", "tokenize.py", "json/decoder.py"]
    sources = [open(os.path.join(srcdir, f)).read() for f in files]
    word = re.compile(r"\b[a-z_]{4,}\b")
    total = 0
    for _ in range(reps):
        for src in sources:
            tree = ast.parse(src)
            total += sum(1 for _ in ast.walk(tree))
            words = word.findall(src)
            doc = {"words": words[:2000],
                   "counts": {w: len(w) for w in words[:3000]}}
            text = json.dumps(doc)
            total += len(json.loads(text)["words"])
            parts = []
            for i, w in enumerate(words[:5000]):
                parts.append("%d:%s" % (i, w.upper()))
            total += len(",".join(parts))
            total += len(textwrap.fill(" ".join(words[:2000]), 70))
    return total

fn = {"alloc": alloc, "mixed": mixed}[workload]
if mode == "pass":
    import benchhook
    benchhook.start_passthrough()
elif mode == "exact":
    import pytm
    pytm.start(1, sample_interval=1)
elif mode.startswith("s") and mode.endswith("k"):
    import pytm
    pytm.start(1, sample_interval=int(mode[1:-1]) * 1024)
elif mode == "tm":
    import tracemalloc
    tracemalloc.start(1)
if len(sys.argv) > 3:  # --ir: just run the workload N times
    for _ in range(int(sys.argv[3])):
        fn()
    sys.exit(0)
fn()  # warm-up: imports, caches, interned frames
t0 = time.perf_counter()
fn()
print(time.perf_counter() - t0)
'''


HERE = os.path.dirname(os.path.abspath(__file__))


def benchhook_dir() -> str:
    """A directory holding benchhook built for this interpreter (the
    PEP 445 pass-through floor is not part of pytm's extension)."""
    import sysconfig
    out = os.path.join(HERE, ".cache", sys.implementation.cache_tag)
    src = os.path.join(HERE, "hook", "benchhook.c")
    so = os.path.join(out, "benchhook" + sysconfig.get_config_var("EXT_SUFFIX"))
    if not os.path.exists(so) or os.path.getmtime(so) < os.path.getmtime(src):
        os.makedirs(out, exist_ok=True)
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-shared", "-fPIC",
                        "-I" + sysconfig.get_paths()["include"], src,
                        "-o", so], check=True)
    return out


def child_env() -> dict:
    env = dict(os.environ, PYTHONHASHSEED="0")
    path = benchhook_dir()
    env["PYTHONPATH"] = path + (os.pathsep + env["PYTHONPATH"]
                                if env.get("PYTHONPATH") else "")
    return env


def run_once(mode: str, workload: str) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, workload],
                         capture_output=True, text=True, check=True,
                         env=child_env())
    return float(out.stdout.strip().splitlines()[-1])


def instructions(mode: str, workload: str, reps: int) -> int:
    """Instructions executed by a child running the workload reps times
    (callgrind's Ir count: deterministic, immune to machine load)."""
    exe = os.path.realpath(sys.executable)  # not a pyenv shim script
    out = subprocess.run(["valgrind", "--tool=callgrind",
                          "--callgrind-out-file=/dev/null", exe, "-c",
                          CHILD, mode, workload, str(reps)],
                         capture_output=True, text=True, check=True,
                         env=child_env())
    m = re.search(r"Collected : (\d+)", out.stderr)
    if m is None:
        raise RuntimeError("no callgrind total:\n" + out.stderr)
    return int(m.group(1))


def report_ir(modes, workloads) -> None:
    """Ir of one workload run = Ir(2 runs) - Ir(1 run)."""
    for workload in workloads:
        per = {m: instructions(m, workload, 2) - instructions(m, workload, 1)
               for m in modes}
        print("workload %s (instructions per run, callgrind)" % workload)
        base = per.get("none")
        for m in modes:
            over = (" %+6.1f%%" % ((per[m] / base - 1) * 100)) if base else ""
            print("  %-6s %14d%s" % (m, per[m], over))
        sys.stdout.flush()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--modes",
                    default="none,pass,s64k,s128k,s256k,s512k,exact,tm")
    ap.add_argument("--workloads", default="alloc,mixed")
    ap.add_argument("--ir", action="store_true",
                    help="count instructions under callgrind instead of "
                         "timing (for noisy machines)")
    args = ap.parse_args()
    modes = args.modes.split(",")
    if args.ir:
        report_ir(modes, args.workloads.split(","))
        return 0
    for workload in args.workloads.split(","):
        times = {m: [] for m in modes}
        for _ in range(args.runs):
            for m in modes:
                times[m].append(run_once(m, workload))
        base = statistics.median(times["none"]) if "none" in times else None
        print("workload %s (%d interleaved runs, medians)"
              % (workload, args.runs))
        for m in modes:
            med = statistics.median(times[m])
            over = (" %+6.1f%%" % ((med / base - 1) * 100)) if base else ""
            print("  %-6s %8.4f s%s   [min %.4f max %.4f]"
                  % (m, med, over, min(times[m]), max(times[m])))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
