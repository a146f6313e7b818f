"""The soak's target (bench/soak.py starts it): a steady mixed workload
under pytm's sampled mode, forever, until its stdin closes.

A bounded pool of live objects (bytes, str, list, dict, tuple, bytearray
of varying sizes, made at a dozen call sites) where every step replaces
one random slot: live memory and the set of tracebacks stop growing
after the first seconds, so any growth the soak sees is the tracer's.

Protocol (one line each way, on stdout/stdin):
  child -> READY <pid> <arena path>     once pytm has started
  child -> STAT {json}                  about once a second: tracer memory
                                        (get_tracemalloc_memory), traced
                                        bytes, this process's VmRSS
  parent -> PAUSE / child -> PAUSED     the workload stops at a step
                                        boundary (so a viewer reading the
                                        arena sees no change in flight)
  parent -> GO                          it continues
"""

import json
import os
import random
import sys
import threading
import time

import pytm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness import rss  # noqa: E402

POOL = 20000


def vm_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def make(rng):
    k = rng.randrange(12)
    n = rng.randrange(1, 4096)
    if k == 0:
        return bytes(n)
    if k == 1:
        return "x" * n
    if k == 2:
        return list(range(n // 16))
    if k == 3:
        return {i: i for i in range(n // 64)}
    if k == 4:
        return tuple(range(n // 32))
    if k == 5:
        return bytearray(n * 8)
    if k == 6:
        return [str(i) for i in range(n // 128)]
    if k == 7:
        return {"a": n, "b": [n], "c": (n,)}
    if k == 8:
        return bytes(n * 4)
    if k == 9:
        return set(range(n // 64))
    if k == 10:
        return json.dumps({"n": n, "v": list(range(n // 256))})
    return object()


def main():
    pytm.start()
    print("READY %d %s" % (os.getpid(), pytm.arena_path()), flush=True)
    paused = threading.Event()
    resume = threading.Event()
    quit_ = threading.Event()

    def control():
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "PAUSE":
                resume.clear()
                paused.set()
            elif cmd == "GO":
                paused.clear()
                resume.set()
        quit_.set()
        resume.set()

    threading.Thread(target=control, daemon=True).start()
    rng = random.Random(13)
    pool = [None] * POOL
    last_stat = 0.0
    while not quit_.is_set():
        for _ in range(200):
            pool[rng.randrange(POOL)] = make(rng)
        if paused.is_set():
            print("PAUSED", flush=True)
            resume.wait()
        now = time.monotonic()
        if now - last_stat >= 1.0:
            last_stat = now
            cur, peak = pytm.get_traced_memory()
            print("STAT " + json.dumps({
                "tracer_mem": pytm.get_tracemalloc_memory(),
                "traced": cur, "rss_kib": vm_rss_kib(),
                "hwm_kib": rss.vm_hwm_kib()}), flush=True)
    pytm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
