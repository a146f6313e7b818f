"""Four threads allocating small objects at once, so the hooks' per-thread
state, locking and reentrancy guard are exercised under contention for the
GIL and for any lock the tracer takes."""

import threading

N_THREADS = 4
PER_THREAD = 250_000


def setup():
    return PER_THREAD


def worker(n, barrier, out, slot):
    barrier.wait()
    ring = [None] * 32
    total = 0
    for i in range(n):
        big = i + 2_000_000
        item = [big, (big, slot), {"i": big}]
        ring[i & 31] = item
        total += len(item)
    out[slot] = total


def run(n):
    barrier = threading.Barrier(N_THREADS)
    out = [0] * N_THREADS
    threads = [threading.Thread(target=worker, args=(n, barrier, out, k))
               for k in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if out != [3 * n] * N_THREADS:
        raise RuntimeError("threads4: wrong result %r" % (out,))
