"""The issue-2 tracing API: arguments, lifecycle, allocator chaining,
fork."""

import os

import pytest

ARGS = """
import json, sys, tracemalloc, pytm
out = {}
def err(fn, *a, **k):
    try:
        fn(*a, **k)
    except Exception as e:
        return [type(e).__name__, str(e)]
    fn.__self__.stop() if hasattr(fn, "__self__") else None
    return None
for name, args in [("zero", (0,)), ("big", (65536,)), ("neg", (-1,)),
                   ("float", (1.5,)), ("str", ("3",))]:
    out[name] = [err(pytm.start, *args), err(tracemalloc.start, *args)]
    pytm.stop(); tracemalloc.stop()
out["interval0"] = err(pytm.start, sample_interval=0)
out["interval_neg"] = err(pytm.start, sample_interval=-4096)
out["interval_float"] = err(pytm.start, sample_interval=4096.0)
out["tracing_after_errors"] = pytm.is_tracing()
print(json.dumps(out))
"""


def test_bad_arguments_like_stdlib(run_py):
    """GIVEN bad nframe values
    WHEN passed to pytm.start and tracemalloc.start
    THEN both raise the same exception type with the same message; a
    zero/negative sample_interval is a ValueError, a non-int a TypeError,
    and nothing is left tracing."""
    r = run_py(ARGS).json()
    for name in ("zero", "big", "neg", "float", "str"):
        mine, std = r[name]
        assert std is not None, name
        assert mine == std, name
    assert r["zero"][0] == ["ValueError",
                            "the number of frames must be in range [1; 65535]"]
    assert r["float"][0][0] == "TypeError"
    assert r["interval0"][0] == "ValueError"
    assert r["interval_neg"][0] == "ValueError"
    assert r["interval_float"][0] == "TypeError"
    assert r["tracing_after_errors"] is False


def test_lifecycle_and_counters(run_py):
    """GIVEN a fresh interpreter
    WHEN starting, allocating, resetting the peak, clearing and stopping
    THEN every API call reports the expected state."""
    code = """
    import json, pytm
    r = {}
    r["before"] = [pytm.is_tracing(), pytm.arena_path(),
                   pytm.get_traced_memory()]
    pytm.start(5, sample_interval=1)
    r["tracing"] = pytm.is_tracing()
    r["limit"] = pytm.get_traceback_limit()
    r["interval"] = pytm.get_sample_interval()
    data = [bytes(1000) for _ in range(2000)]
    r["cur1"], r["peak1"] = pytm.get_traced_memory()
    del data
    r["cur2"], r["peak2"] = pytm.get_traced_memory()
    pytm.reset_peak()
    r["cur3"], r["peak3"] = pytm.get_traced_memory()
    r["memory"] = pytm.get_tracemalloc_memory()
    # start() while tracing changes nothing (like tracemalloc).
    pytm.start(7, sample_interval=4096)
    r["limit_again"] = pytm.get_traceback_limit()
    r["interval_again"] = pytm.get_sample_interval()
    more = [bytes(1000) for _ in range(100)]
    pytm.clear_traces()
    r["after_clear"] = pytm.get_traced_memory()
    r["traces_after_clear"] = len(pytm._recorder.take_snapshot_data())
    pytm.stop()
    r["after_stop"] = [pytm.is_tracing(), pytm.arena_path(),
                       pytm.get_traced_memory()]
    pytm.start()
    r["default_interval"] = [pytm.get_sample_interval(),
                             pytm.DEFAULT_SAMPLE_INTERVAL]
    pytm.stop()
    print(json.dumps(r))
    """
    r = run_py(code).json()
    assert r["before"] == [False, None, [0, 0]]
    assert r["tracing"] is True
    assert r["limit"] == 5 and r["interval"] == 1
    assert r["cur1"] >= 2000 * 1033
    assert r["peak1"] >= r["cur1"]
    assert r["cur2"] < r["cur1"] - 2000 * 1000
    assert r["peak2"] >= r["cur1"]
    assert r["peak3"] < r["peak2"] and r["peak3"] >= r["cur3"]
    assert r["memory"] > 0
    assert r["limit_again"] == 5 and r["interval_again"] == 1
    assert r["after_clear"][0] < 10_000
    assert r["traces_after_clear"] < 50
    assert r["after_stop"] == [False, None, [0, 0]]
    assert r["default_interval"][0] == r["default_interval"][1]
    # 16 KiB: chosen by measurement (recorder/core/policy.h, docs/sampling.md)
    assert r["default_interval"][0] == 16 << 10


def test_stop_clears_traces(run_py):
    """GIVEN traces recorded in a first session
    WHEN stopping and starting again
    THEN the new session starts empty (stop clears like tracemalloc)."""
    code = """
    import json, pytm
    pytm.start(sample_interval=1)
    keep = [bytes(5000) for _ in range(1000)]
    first = pytm.get_traced_memory()[0]
    pytm.stop()
    pytm.start(sample_interval=1)
    second = pytm.get_traced_memory()[0]
    n = len(pytm._recorder.take_snapshot_data())
    pytm.stop()
    print(json.dumps([first, second, n]))
    """
    first, second, n = run_py(code).json()
    assert first > 5_000_000
    assert second < 10_000 and n < 50


RESTORE = """
import json, sys, tracemalloc, pytm
order = sys.argv[1]
def measure():
    snap_before = tracemalloc.get_traced_memory()[0]
    data = [bytes(3000) for _ in range(1000)]
    after = tracemalloc.get_traced_memory()[0]
    stats = [s for s in tracemalloc.take_snapshot().statistics("lineno")
             if s.traceback[0].lineno == 6]
    return after - snap_before, stats[0].size if stats else 0
if order == "pytm_first":
    pytm.start(sample_interval=1); pytm.stop()
    pytm.start(); pytm.stop()
    tracemalloc.start()
    res = measure()
    tracemalloc.stop()
elif order == "nested":
    tracemalloc.start()
    pytm.start(sample_interval=1)
    junk = [bytes(3000) for _ in range(10)]
    pytm.stop()
    res = measure()
    tracemalloc.stop()
else:
    tracemalloc.start()
    res = measure()
    tracemalloc.stop()
print(json.dumps(res))
"""


@pytest.mark.parametrize("order", ["pytm_first", "nested"])
def test_allocators_restored(run_py, order):
    """GIVEN pytm started and stopped before tracemalloc, or inside a
    running tracemalloc session
    WHEN tracemalloc then measures a known workload
    THEN it measures exactly what it measures without pytm ever running
    (our hooks are gone and its own are chained back exactly)."""
    ref = run_py(RESTORE, "alone").json()
    got = run_py(RESTORE, order).json()
    assert ref[1] >= 1000 * 3033
    assert got[1] == ref[1]
    assert abs(got[0] - ref[0]) <= 1024


FORK = """
import json, os, sys, pytm
keep = sys.argv[1] == "keep"
pytm.start(2, sample_interval=1, keep=keep)
path = pytm.arena_path()
st = os.stat(path)
parent_arena = (st.st_dev, st.st_ino)
def fds_to(file_id):
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            s = os.stat("/proc/self/fd/" + fd)
        except OSError:
            continue
        n += (s.st_dev, s.st_ino) == file_id
    return n
parent_fds = fds_to(parent_arena)
before = pytm.get_traced_memory()[0]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    c0 = pytm.get_traced_memory()[0]
    junk = [bytes(1000) for _ in range(10000)]
    c1 = pytm.get_traced_memory()[0]
    tb = pytm.get_object_traceback_index(junk[5])
    msg = json.dumps({"tracing": pytm.is_tracing(), "path": pytm.arena_path(),
                      "pid": os.getpid(), "c0": c0, "c1": c1,
                      "tb": tb is not None,
                      "limit": pytm.get_traceback_limit(),
                      "parent_arena_fds": fds_to(parent_arena)})
    os.write(w, msg.encode())
    os._exit(0)   # no exit handlers, like multiprocessing workers
os.close(w)
child = json.loads(os.read(r, 4000).decode())
_, status = os.waitpid(pid, 0)
after = pytm.get_traced_memory()[0]
exists = os.path.exists(path)
data = [bytes(1000) for _ in range(1000)]
grown = pytm.get_traced_memory()[0] - after
pytm.stop()
print(json.dumps({"child": child, "status": status, "exists": exists,
                  "before": before, "after": after, "grown": grown,
                  "parent_path": path, "parent_fds": parent_fds}))
"""


def test_fork_child_traces_into_private_arena(run_py):
    """GIVEN a traced process (keep=False)
    WHEN it forks and the child allocates, then leaves with os._exit
    THEN the child keeps tracing (like tracemalloc) into its own unnamed
    arena (arena_path() None, nothing left in /dev/shm), the parent's
    arena and counters never see the child's allocations, the child holds
    no fd to the parent's arena (the parent keeps one for its backing
    steps), and the parent keeps tracing."""
    r = run_py(FORK, "nokeep").json()
    c = r["child"]
    assert c["tracing"] is True and c["path"] is None
    assert c["limit"] == 2 and c["tb"] is True
    assert r["parent_fds"] == 1
    assert c["parent_arena_fds"] == 0
    assert c["c1"] - c["c0"] >= 10000 * 1033
    assert not os.path.exists("/dev/shm/pytm-%d" % c["pid"])
    assert r["status"] == 0
    assert r["exists"] is True
    assert r["after"] - r["before"] < 1_000_000
    assert r["grown"] >= 1000 * 1033


def test_fork_child_with_keep_has_named_arena(run_py):
    """GIVEN a traced process started with keep=True
    WHEN it forks
    THEN the child's new arena is /dev/shm/pytm-<child pid> and stays
    (kept, like the parent's)."""
    r = run_py(FORK, "keep").json()
    c = r["child"]
    try:
        assert c["tracing"] is True
        assert c["path"] == "/dev/shm/pytm-%d" % c["pid"]
        assert os.path.exists(c["path"])
        assert c["path"] != r["parent_path"]
    finally:
        for p in (c.get("path"), r["parent_path"]):
            if p and os.path.exists(p):
                os.unlink(p)
