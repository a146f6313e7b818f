"""One measurement, in a fresh interpreter: bench/runner.py starts this file
once per (tracer, workload, repeat), never reusing a process.

    python bench/child.py --workload W --tracer T --out result.json [...]

Order of events: import the workload and run its setup() (untimed, no
in-process tracer yet), gc.collect(), start the tracer, time run() with
perf_counter, stop the clock, read this process's own peak RSS (VmHWM;
harness/rss.py says why not ru_maxrss), then gather tracer-specific extras (allocation
counts, a per-line snapshot for the accuracy figure) and write one JSON
object to --out. Tracers started outside the process (memray run) are
already active during setup; the in-process time still covers run() only.
"""

import argparse
import gc
import importlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness import proc, rss, tracers  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--workload", required=True)
    p.add_argument("--tracer", required=True, choices=sorted(tracers.BY_NAME))
    p.add_argument("--out", required=True)
    p.add_argument("--interval", type=int, default=None,
                   help="pytm sample_interval override (accuracy figure)")
    p.add_argument("--lines", action="store_true",
                   help="record per-line sizes after the run (accuracy)")
    p.add_argument("--handshake", action="store_true",
                   help="after starting the tracer print READY <pid> and "
                        "wait for a line on stdin before running (viewer)")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    tracer = tracers.BY_NAME[args.tracer]
    mod = importlib.import_module("workloads." + args.workload)
    state = mod.setup()
    gc.collect()

    session = tracer.start(interval=args.interval)
    if args.handshake:
        print("READY %d" % os.getpid(), flush=True)
        sys.stdin.readline()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    result = mod.run(state)
    cpu1 = time.process_time()
    t1 = time.perf_counter()
    hwm = rss.vm_hwm_kib()

    out = {"workload": args.workload, "tracer": args.tracer,
           "t_run": t1 - t0, "cpu_run": cpu1 - cpu0, "hwm_kib": hwm,
           "layout_fixed": proc.layout_fixed()}
    out.update(session.extras(lines=args.lines))
    session.stop()
    del result
    with open(args.out, "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
