"""Environment and start() details: PYTM_SHM_DIR (arena directory),
PYTM_SEED (reproducible sampling), no trace of pytm's own start(), and
huge nframe values."""

import json
import os

SHM_CODE = """
import json, os, pytm
pytm.start(1, sample_interval=1)
p = pytm.arena_path()
alive = os.path.exists(p)
held = [bytearray(1000) for _ in range(100)]
pytm.stop()
print(json.dumps([p, os.getpid(), alive, os.path.exists(p)]))
"""


def test_arena_in_pytm_shm_dir(run_py, tmp_path):
    """GIVEN PYTM_SHM_DIR set to a private directory
    WHEN tracing starts and stops
    THEN the arena is <dir>/pytm-<pid> while tracing (not in /dev/shm)
    and is removed from that directory at stop()."""
    path, pid, alive, after = run_py(
        SHM_CODE, env={"PYTM_SHM_DIR": str(tmp_path)}).json()
    assert path == os.path.join(str(tmp_path), "pytm-%d" % pid)
    assert alive is True
    assert after is False
    assert os.listdir(tmp_path) == []


def test_arena_kept_in_pytm_shm_dir_readable(run_py, tmp_path,
                                             arena_dump_tool):
    """GIVEN PYTM_SHM_DIR and keep=True
    WHEN the traced process exits
    THEN its arena stays in that directory and reads as exited."""
    import subprocess
    r = run_py("""
    import pytm
    pytm.start(1, sample_interval=1, keep=True)
    held = [bytearray(1000) for _ in range(100)]
    print(pytm.arena_path())
    """, env={"PYTM_SHM_DIR": str(tmp_path)})
    path = r.stdout.strip()
    assert os.path.dirname(path) == str(tmp_path)
    out = subprocess.run([arena_dump_tool, path], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["liveness"] == "exited"


def test_empty_pytm_shm_dir_means_dev_shm(run_py):
    """GIVEN PYTM_SHM_DIR set but empty WHEN tracing THEN /dev/shm."""
    path, pid, alive, after = run_py(SHM_CODE,
                                     env={"PYTM_SHM_DIR": ""}).json()
    assert path == "/dev/shm/pytm-%d" % pid
    assert alive is True and after is False


def test_missing_pytm_shm_dir_fails_start_cleanly(run_py, tmp_path):
    """GIVEN PYTM_SHM_DIR naming a directory that does not exist
    WHEN start() THEN it raises and nothing is tracing."""
    r = run_py("""
    import json, pytm
    try:
        pytm.start()
        err = None
    except Exception as e:
        err = type(e).__name__
    print(json.dumps([err, pytm.is_tracing()]))
    """, env={"PYTM_SHM_DIR": str(tmp_path / "nope")})
    err, tracing = r.json()
    assert err is not None
    assert tracing is False


SEED_CODE = """
import json, threading, pytm
pytm.start(1, sample_interval=4096)
def work(n):
    return [bytearray(i % 3000 + 1) for i in range(n)]  # WORK
WORK_LINE = work.__code__.co_firstlineno + 1
keep = work(20000)
# Threads one after the other, so their ordinals are deterministic. Each
# stays alive, parked on an event, until after the snapshot: a thread
# that exits tears its state down after join() has returned, and what it
# allocates then races with the next thread's start.
done, parked = threading.Event(), []
def worker(finished):
    keep.extend(work(3000))
    finished.set()
    done.wait()
for k in range(3):
    finished = threading.Event()
    t = threading.Thread(target=worker, args=(finished,))
    t.start()
    finished.wait()
    parked.append(t)
snap = pytm.take_snapshot()
done.set()
for t in parked:
    t.join()
# Only the workload's blocks: a thread's own state may be freed by the
# exiting thread after join() returns, so whether such a sampled block
# is still alive at the snapshot is a race.
print(json.dumps(sorted([t.size for t in snap.traces
                         if t.traceback[0].lineno == WORK_LINE])))
"""


def test_pytm_seed_makes_sampling_reproducible(run_py):
    """GIVEN the same PYTM_SEED in two runs of the same program (four
    threads, run one after the other)
    WHEN comparing what was sampled
    THEN both runs recorded the same traces with the same weights; a
    different seed records different ones."""
    env = {"PYTHONHASHSEED": "0"}
    a = run_py(SEED_CODE, env=dict(env, PYTM_SEED="12345")).json()
    b = run_py(SEED_CODE, env=dict(env, PYTM_SEED="12345")).json()
    c = run_py(SEED_CODE, env=dict(env, PYTM_SEED="54321")).json()
    assert len(a) > 1000
    assert a == b
    assert a != c


def test_pytm_seed_must_be_an_integer(run_py):
    """GIVEN PYTM_SEED=abc WHEN start() THEN ValueError, not tracing."""
    r = run_py("""
    import json, pytm
    try:
        pytm.start()
        err = None
    except ValueError as e:
        err = str(e)
    print(json.dumps([err, pytm.is_tracing()]))
    """, env={"PYTM_SEED": "abc"})
    err, tracing = r.json()
    assert err is not None and "PYTM_SEED" in err
    assert tracing is False


def test_no_trace_of_pytm_own_files_after_start(run_py):
    """GIVEN exact tracing just started (every allocation recorded)
    WHEN a snapshot is taken right away
    THEN no trace is attributed to a file of the pytm package (the
    stdlib tracemalloc shows none of its own either): start() allocates
    nothing after the hooks are installed."""
    r = run_py("""
    import json, os, pytm
    pytm.start(10, sample_interval=1)
    snap = pytm.take_snapshot()
    pkg = os.path.dirname(os.path.abspath(pytm.__file__)) + os.sep
    own = [str(t.traceback) for t in snap.traces
           if any(os.path.abspath(f.filename).startswith(pkg)
                  for f in t.traceback)]
    print(json.dumps(own))
    """)
    assert r.json() == []


def test_huge_nframe_overflow_error(run_py):
    """GIVEN nframe beyond a C int, either sign WHEN start() THEN
    OverflowError (as the stdlib); just inside a C int: ValueError."""
    r = run_py("""
    import json, pytm
    out = []
    for n in (2**70, 2**31, -2**31 - 1, 2**31 - 1, -2**31):
        try:
            pytm.start(n)
            out.append(None)
        except Exception as e:
            out.append(type(e).__name__)
    print(json.dumps([out, pytm.is_tracing()]))
    """)
    out, tracing = r.json()
    assert out == ["OverflowError"] * 3 + ["ValueError"] * 2
    assert tracing is False
