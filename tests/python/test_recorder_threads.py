"""Allocations from several threads, and thread-slot release."""

THREADS = """
import json, sys, threading, pytm
interval = int(sys.argv[1])
pytm.start(sample_interval=interval)
N = 20000
out = [[None] * N for _ in range(4)]
barrier = threading.Barrier(5)
def work(k):
    dst = out[k]
    barrier.wait()
    for i in range(N):
        dst[i] = bytes(200)  # LINE_T
    barrier.wait()   # keep every thread alive while main looks
    barrier.wait()
ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in ts:
    t.start()
barrier.wait()
barrier.wait()
live = len(pytm._recorder._threads())
barrier.wait()
for t in ts:
    t.join()
# join() returns when the thread state is gone; the C thread runs its
# TSD destructors (which release the slot) a moment later.
import time
deadline = time.monotonic() + 10
while len(pytm._recorder._threads()) > 1 and time.monotonic() < deadline:
    time.sleep(0.01)
after = len(pytm._recorder._threads())
snap = pytm.take_snapshot()
size = count = 0
for st in snap.statistics("lineno"):
    if st.traceback[0].lineno == int(sys.argv[2]):
        size, count = st.size, st.count
stats = pytm._recorder._stats()
pytm.stop()
print(json.dumps({"size": size, "count": count, "live": live,
                  "after": after, "registered": stats["registered_threads"]}))
"""
LINE_T = next(i + 1 for i, l in enumerate(THREADS.splitlines())
              if "# LINE_T" in l)


def test_four_threads_exact(run_py):
    """GIVEN 4 threads each allocating 20000 bytes(200) on one line
    WHEN traced in exact mode
    THEN that line holds exactly 80000 blocks of 233 bytes, each thread
    had a slot while alive, and the slots are released after they exit."""
    r = run_py(THREADS, "1", str(LINE_T)).json()
    assert r["count"] == 4 * 20000
    assert r["size"] == 4 * 20000 * 233
    assert r["live"] == 5
    assert r["after"] == 1
    assert r["registered"] == 1


def test_four_threads_sampled(run_py):
    """GIVEN the same 4-thread workload (18.6 MB on one line)
    WHEN sampled at 4 KiB (standard error ~0.28 MB, i.e. 1.5%)
    THEN the line's estimate is within 8% (> 5 standard errors) and the
    thread slots are released."""
    r = run_py(THREADS, "4096", str(LINE_T)).json()
    expected = 4 * 20000 * 233
    assert abs(r["size"] - expected) <= 0.08 * expected, r
    assert r["after"] == 1
