"""Faults and hostile schedules (issue 6): kill -9, stale arenas, fork,
multiprocessing, thread churn, a full arena, concurrent start/stop,
signals. Every traced program runs in its own subprocess; arenas are
read from outside exactly as pytmtop reads them (pytm_arena_dump, the
shm reader) and, for fields the tool does not print, straight from the
header (include/pytm/arena_layout.h offsets, native endian).
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Optional

import pytest

import pytm

# include/pytm/arena_layout.h (static_asserts there pin these offsets)
OFF_STATE = 1024
OFF_COUNTERS = 1088          # traced_current, traced_peak, n_allocs, ...
OFF_PUBLISHED = 1216
OFF_THREADS_HWM = OFF_PUBLISHED + 40
OFF_INTERVAL_NOW = OFF_COUNTERS + 80
OFF_THREADS = 80             # threads section: offset, capacity


def header_fields(path: str) -> dict:
    with open(path, "rb") as f:
        h = f.read(4096)
    cur, peak, n_allocs, n_samples, n_frees, n_dropped = struct.unpack_from(
        "=qqQQQQ", h, OFF_COUNTERS)
    return {
        "state": struct.unpack_from("=I", h, OFF_STATE)[0],
        "traced_current": cur, "traced_peak": peak, "n_dropped": n_dropped,
        "threads_hwm": struct.unpack_from("=Q", h, OFF_THREADS_HWM)[0],
        "threads_capacity": struct.unpack_from("=QQ", h, OFF_THREADS)[1],
        "interval_now": struct.unpack_from("=Q", h, OFF_INTERVAL_NOW)[0],
    }


def child_env(extra: Optional[dict] = None) -> dict:
    env = dict(os.environ)
    pp = [str(Path(pytm.__file__).resolve().parent.parent)]
    if env.get("PYTHONPATH"):
        pp += [os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep)
               if p]
    env["PYTHONPATH"] = os.pathsep.join(pp)
    env.pop("PYTHONTRACEMALLOC", None)
    env.pop("PYTHONMALLOC", None)
    env.pop("PYTM_SAMPLE_INTERVAL", None)
    env.pop("PYTM_SHM_DIR", None)
    env.pop("PYTM_SEED", None)
    if extra:
        env.update(extra)
    return env


def spawn(code: str, *args: str,
          env: Optional[dict] = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code),
                             *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=child_env(env))


def wait_line(proc: subprocess.Popen, timeout: float = 60) -> str:
    """First stdout line of proc (the child prints its arena path)."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        proc.kill()
        raise AssertionError("child printed nothing; stderr:\n"
                             + proc.stderr.read())
    line = proc.stdout.readline().strip()
    assert line, "child exited early:\n" + proc.stderr.read()
    return line


def close_and_wait(proc: subprocess.Popen, timeout: float = 60) -> None:
    """Closes a child's stdin (its cue to exit) and reaps it, killing it
    after timeout seconds."""
    try:
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def settled(read, agrees, timeout: float = 10.0):
    """Calls read() until agrees(reading) or timeout seconds pass; the
    last reading. For a check on a process that has just gone quiet,
    whose last free may still be half applied (test_load.py)."""
    deadline = time.monotonic() + timeout
    while True:
        r = read()
        if agrees(r) or time.monotonic() >= deadline:
            return r
        time.sleep(0.05)


def arena_dump(tool: str, target: str) -> dict:
    argv = [tool, "-p", target] if target.isdigit() else [tool, target]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def pytmtop_path() -> Optional[str]:
    env = os.environ.get("PYTMTOP")
    if env and os.path.exists(env):
        return env
    bd = os.environ.get("PYTM_BUILD_DIR") or str(
        Path(pytm.__file__).resolve().parent.parent.parent)
    p = Path(bd) / "pytmtop"
    return str(p) if p.exists() else None


def consistent(d: dict, exact: bool) -> None:
    """Internal consistency of one reading (the reader validated it)."""
    assert d["traced_current"] >= 0
    assert d["traced_peak"] >= d["traced_current"]
    assert d["n_frees"] <= d["n_samples"]
    if exact:
        assert d["sum_tb_size"] == d["traced_current"], d


LOOP_FOREVER = """
import sys, pytm
pytm.start(5, sample_interval=1, keep=%s)
print(pytm.arena_path(), flush=True)
keep = []
i = 0
while True:
    keep.append(bytearray(100 + i %% 1000))
    if len(keep) > 5000:
        del keep[:2500]
    i += 1
"""


def test_sigkill_with_keep_leaves_readable_exited_arena(arena_dump_tool):
    """GIVEN a process tracing exactly with keep=True, allocating hard
    WHEN it is killed with SIGKILL mid-run
    THEN its arena is still there, passes the reader's validation, reads
    consistently and is reported as exited (tool and pytmtop --list)."""
    proc = spawn(LOOP_FOREVER % "True")
    path = wait_line(proc)
    try:
        time.sleep(0.5)
        live = arena_dump(arena_dump_tool, path)
        assert live["liveness"] == "running"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert os.path.exists(path)
        dead = arena_dump(arena_dump_tool, path)
        assert dead["liveness"] == "exited"
        assert dead["pid"] == proc.pid
        assert dead["n_samples"] >= live["n_samples"] > 0
        consistent(dead, exact=False)  # killed mid-update: no equality
        top = pytmtop_path()
        if top:
            r = subprocess.run([top, "--list"], capture_output=True,
                               text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            mine = [l for l in r.stdout.splitlines()
                    if l.split() and l.split()[0] == str(proc.pid)]
            assert len(mine) == 1, r.stdout
            assert "exited" in mine[0].lower()
    finally:
        proc.kill()
        proc.wait()
        if os.path.exists(path):
            os.unlink(path)


def test_clean_removes_dead_never_live(arena_dump_tool, tmp_path):
    """GIVEN one traced process killed with SIGKILL (no keep: its arena
    is left behind, stale) and one still running, both with their arenas
    in a private PYTM_SHM_DIR (so the test never touches /dev/shm)
    WHEN `pytmtop --clean` runs with the same PYTM_SHM_DIR
    THEN the dead process's arena is removed and the live one is kept
    and still readable."""
    top = pytmtop_path()
    if not top:
        pytest.skip("pytmtop not built")
    shm = {"PYTM_SHM_DIR": str(tmp_path)}
    dead = spawn(LOOP_FOREVER % "False", env=shm)
    live = spawn(LOOP_FOREVER % "False", env=shm)
    dead_path = wait_line(dead)
    live_path = wait_line(live)
    try:
        assert os.path.dirname(dead_path) == str(tmp_path)
        assert os.path.dirname(live_path) == str(tmp_path)
        dead.send_signal(signal.SIGKILL)
        dead.wait(30)
        assert os.path.exists(dead_path)  # nobody could unlink it
        r = subprocess.run([top, "--clean"], capture_output=True, text=True,
                           timeout=60, env=child_env(shm))
        assert r.returncode == 0, r.stderr
        assert not os.path.exists(dead_path)
        assert os.path.exists(live_path)
        assert arena_dump(arena_dump_tool, live_path)["liveness"] == "running"
    finally:
        for p in (dead, live):
            p.kill()
            p.wait()
        for path in (dead_path, live_path):
            if os.path.exists(path):
                os.unlink(path)


FORK = """
import os, sys, json, pytm
pytm.start(5, sample_interval=1)
held = [bytearray(1000) for _ in range(100)]
before = pytm.get_traced_memory()[0]
kids = []
for k in range(4):
    pid = os.fork()
    if pid == 0:
        # child: tracing is off or in its own arena, never the parent's
        ok = (not pytm.is_tracing()) or pytm.arena_path() != %r
        junk = [bytearray(5000) for _ in range(2000)]
        del junk[::2]
        os._exit(0 if ok else 3)
    kids.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in kids]
after = pytm.get_traced_memory()[0]
print(json.dumps({"path": pytm.arena_path(), "codes": codes,
                  "before": before, "after": after}), flush=True)
sys.stdin.readline()   # stay alive and quiet while the test reads
"""


def test_fork_children_never_touch_parent_arena(arena_dump_tool):
    """GIVEN a parent tracing exactly
    WHEN it forks four children that allocate and free a lot
    THEN each child is not tracing into the parent's arena, and the
    parent's arena validates with tb aggregates == traced_current and
    no growth from the children's 10 MB."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(FORK % "")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=child_env())
    try:
        out = json.loads(wait_line(proc))
        assert out["codes"] == [0, 0, 0, 0]
        d = arena_dump(arena_dump_tool, out["path"])
        assert d["liveness"] == "running"
        consistent(d, exact=True)
        # the children's 2000 x 5000 B never reached the parent's arena
        assert d["traced_current"] < out["before"] + 1_000_000
        assert abs(out["after"] - out["before"]) < 1_000_000
    finally:
        proc.stdin.close()
        proc.wait(60)


MP = """
import json, multiprocessing as mp, sys, pytm

def work(n):
    import pytm
    data = [bytearray(1000) for _ in range(n)]
    return (len(data), pytm.is_tracing())

if __name__ == "__main__":
    pytm.start(3, sample_interval=1)
    held = [bytearray(777) for _ in range(300)]
    res = {}
    for method in ("fork", "spawn"):
        with mp.get_context(method).Pool(2) as pool:
            res[method] = pool.map(work, [2000] * 4)
    print(json.dumps({"path": pytm.arena_path(), "res": res,
                      "tracing": pytm.is_tracing()}), flush=True)
    sys.stdin.readline()
"""


def test_multiprocessing_fork_and_spawn(tmp_path, arena_dump_tool):
    """GIVEN a traced parent
    WHEN it runs multiprocessing pools with the fork and the spawn start
    methods
    THEN the workers run to completion, the parent is still tracing and
    its arena is consistent."""
    script = tmp_path / "mp_main.py"
    script.write_text(textwrap.dedent(MP))
    proc = subprocess.Popen([sys.executable, str(script)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=child_env())
    try:
        out = json.loads(wait_line(proc, timeout=120))
        assert out["tracing"] is True
        for method in ("fork", "spawn"):
            assert [n for n, _ in out["res"][method]] == [2000] * 4, method
        d = arena_dump(arena_dump_tool, out["path"])
        consistent(d, exact=True)
    finally:
        proc.stdin.close()
        proc.wait(120)


THREADS = """
import json, sys, threading, pytm
pytm.start(1, sample_interval=1)
def work():
    x = [bytearray(64) for _ in range(4)]
for batch in range(100):
    ts = [threading.Thread(target=work) for _ in range(100)]
    for t in ts: t.start()
    for t in ts: t.join()
# Wait without allocating: readline() allocates ~8.5 KiB (its read chunk)
# after the line is printed, and a reader between its tb and counter
# reads would see the two disagree. The bound method and the buffer are
# made before the line.
wait, buf = sys.stdin.buffer.raw.readinto, bytearray(1)
print(json.dumps({"path": pytm.arena_path()}), flush=True)
wait(buf)
"""


def test_ten_thousand_threads_reclaim_slots(arena_dump_tool):
    """GIVEN tracing on
    WHEN 10,000 threads are started and finished (100 at a time)
    THEN thread slots are reclaimed: the high-water mark of claimed slots
    stays near the concurrency (<= 200), far below 10,000 and below the
    slot capacity, and the arena stays consistent."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(THREADS)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=child_env())
    try:
        path = json.loads(wait_line(proc, timeout=240))["path"]
        h = header_fields(path)
        assert 1 <= h["threads_hwm"] <= 200, h
        assert h["threads_hwm"] < h["threads_capacity"]
        consistent(arena_dump(arena_dump_tool, path), exact=True)
    finally:
        proc.stdin.close()
        proc.wait(60)


THREADS_SMALL = THREADS.replace("sample_interval=1)",
                                "sample_interval=1, arena_size=1 << 20)")


def test_ten_thousand_threads_in_a_small_arena_drop_nothing(
        arena_dump_tool):
    """GIVEN exact tracing in a 1 MiB arena (the minimum)
    WHEN 10,000 threads run the same few stacks (100 at a time)
    THEN nothing is dropped, as without per-thread figures: the identity
    table (at most 1/64 of the arena, here 512 threads) fills and later
    threads count as threads_unknown, and the per-thread copies of a
    stack stop at their budget (1/16 of the tb section), the rest folded
    into "unknown" (stacks_folded) instead of taking the room of new
    stacks; the figures still add up."""
    proc = subprocess.Popen([sys.executable, "-c",
                             textwrap.dedent(THREADS_SMALL)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=child_env())
    try:
        path = json.loads(wait_line(proc, timeout=240))["path"]
        d = arena_dump(arena_dump_tool, path)
        assert d["n_dropped"] == 0, d
        assert d["n_threads"] == 512, d
        assert d["n_threads"] + d["threads_unknown"] == 10001, d
        assert d["stacks_folded"] >= 1, d
        consistent(d, exact=True)
    finally:
        proc.stdin.close()
        proc.wait(60)


FULL = """
import json, sys, pytm
pytm.start(1, sample_interval=int(sys.argv[1]), arena_size=1 << 20)
keep = []
# every compiled function gets its own long filename: new strings,
# frames and tracebacks until the 1 MiB arena's sections are full
for i in range(4000):
    name = "/generated/%06d/" % i + "x" * 200 + ".py"
    ns = {}
    exec(compile("def f():\\n    return bytearray(100)\\n", name, "exec"), ns)
    keep.append(ns["f"]())
total = sum(len(b) for b in keep)
cur, peak = pytm.get_traced_memory()
print(json.dumps({"path": pytm.arena_path(), "n": len(keep),
                  "total": total, "cur": cur, "peak": peak,
                  "interval": pytm.get_sample_interval()}), flush=True)
sys.stdin.readline()
"""


@pytest.mark.parametrize("interval", [1, 64])
def test_arena_exhaustion_counts_drops_and_runs_on(arena_dump_tool,
                                                   interval):
    """GIVEN a 1 MiB arena (the minimum), exact or sampled at 64 bytes
    WHEN the program creates far more distinct tracebacks than it holds
    THEN the program runs to completion, the lost records are counted in
    n_dropped, and what the arena holds stays consistent (current <=
    peak, tb aggregates readable); the sampled session doubled its
    interval (counters.sample_interval_now: 64 * 2**k, k >= 1) while
    get_sample_interval() still reports the configured one; the exact
    session never adapts (exactness is its contract)."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(FULL),
                             str(interval)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=child_env())
    try:
        out = json.loads(wait_line(proc, timeout=240))
        assert out["n"] == 4000
        d = arena_dump(arena_dump_tool, out["path"])
        h = header_fields(out["path"])
        assert d["n_dropped"] > 0, d
        assert h["n_dropped"] == d["n_dropped"]
        assert 0 <= d["traced_current"] <= d["traced_peak"]
        assert out["interval"] == interval
        if interval == 1:
            assert h["interval_now"] == 1
        else:
            k = h["interval_now"] // interval
            assert h["interval_now"] == k * interval, h
            assert k >= 2 and k & (k - 1) == 0, h  # doubled, k times
            assert h["interval_now"] <= 1 << 40
        top = pytmtop_path()
        if top:  # the viewer shows both figures the user needs
            j = json.loads(subprocess.run(
                [top, "-p", str(proc.pid), "--once", "--json"],
                capture_output=True, text=True, check=True).stdout)
            assert j["n_dropped"] > 0
            assert j["sample_interval"] == interval
            assert j["sample_interval_now"] == h["interval_now"]
    finally:
        proc.stdin.close()
        proc.wait(60)


CHURN = """
import json, random, sys, threading, time, pytm
stop_at = time.monotonic() + 3.0
errors = []
def allocator():
    held = []
    while time.monotonic() < stop_at:
        held.append(bytearray(random.randrange(1, 3000)))
        if len(held) > 500:
            del held[:250]
def controller(k):
    rnd = random.Random(k)
    while time.monotonic() < stop_at:
        try:
            op = rnd.randrange(5)
            if op == 0:
                pytm.start(rnd.randrange(1, 10),
                           sample_interval=rnd.choice([1, 512, 4096]))
            elif op == 1:
                pytm.stop()
            elif op == 2:
                pytm.clear_traces()
            elif op == 3:
                pytm.get_traced_memory(); pytm.reset_peak()
            else:
                if pytm.is_tracing():
                    try:
                        pytm.take_snapshot()
                    except RuntimeError:
                        pass  # stopped by another thread meanwhile
        except Exception as e:
            errors.append(repr(e))
ts = [threading.Thread(target=allocator) for _ in range(3)]
ts += [threading.Thread(target=controller, args=(k,)) for k in range(3)]
for t in ts: t.start()
for t in ts: t.join()
pytm.start(1, sample_interval=1)
a = bytearray(123456)
cur, peak = pytm.get_traced_memory()
pytm.stop()
print(json.dumps({"errors": errors, "cur": cur, "peak": peak,
                  "tracing": pytm.is_tracing()}))
"""


def test_start_stop_clear_from_threads_while_allocating(run_py):
    """GIVEN three threads allocating and freeing
    WHEN three other threads call start/stop/clear_traces/reset_peak/
    take_snapshot at random for 3 s
    THEN no crash, no unexpected exception, and a final exact session
    still measures a new 123456-byte block."""
    out = run_py(CHURN, timeout=240).json()
    assert out["errors"] == []
    assert out["cur"] >= 123456
    assert out["peak"] >= out["cur"]
    assert out["tracing"] is False


CROSS = """
import json, threading, pytm
started = threading.Event()
def starter():
    pytm.start(2, sample_interval=1)
    started.set()
t = threading.Thread(target=starter); t.start(); started.wait(); t.join()
tracing_main = pytm.is_tracing()
data = [bytearray(1000) for _ in range(100)]
cur = pytm.get_traced_memory()[0]
res = {}
def stopper():
    pytm.stop()
    res["tracing_after"] = pytm.is_tracing()
t = threading.Thread(target=stopper); t.start(); t.join()
more = [bytearray(1000) for _ in range(100)]   # hooks must be gone
print(json.dumps({"tracing_main": tracing_main, "cur": cur,
                  "after": res["tracing_after"],
                  "mem_after": pytm.get_traced_memory()}))
"""


def test_start_in_one_thread_stop_in_another(run_py):
    """GIVEN tracing started in a worker thread
    WHEN the main thread allocates and another thread stops tracing
    THEN the main thread's allocations were traced, and after stop the
    process runs on untraced."""
    out = run_py(CROSS).json()
    assert out["tracing_main"] is True
    assert out["cur"] >= 100 * 1000
    assert out["after"] is False
    assert out["mem_after"] == [0, 0]


SIGNALS = """
import json, signal, pytm
pytm.start(4, sample_interval=1)
hits = []
def handler(signum, frame):
    hits.append(bytearray(256))      # allocates inside the handler
    if len(hits) > 200:
        del hits[:100]
signal.signal(signal.SIGALRM, handler)
signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
held = []
for i in range(300000):
    held.append(bytes(i % 200))
    if len(held) > 1000:
        del held[:500]
signal.setitimer(signal.ITIMER_REAL, 0, 0)
n = len(hits)
del held, hits
cur, peak = pytm.get_traced_memory()
snap = pytm.take_snapshot()
pytm.stop()
print(json.dumps({"cur": cur, "peak": peak, "ok": True,
                  "stats": len(snap.statistics("lineno"))}))
"""


def test_signal_handler_allocating_while_hooks_run(run_py):
    """GIVEN exact tracing and a 0.5 ms interval timer whose Python
    handler allocates
    WHEN the main loop allocates as fast as it can (the signal usually
    arrives inside an allocator hook; CPython runs the handler at the
    next bytecode boundary, i.e. right after the hook returns)
    THEN nothing deadlocks or crashes and the figures stay sane."""
    out = run_py(SIGNALS, timeout=240).json()
    assert out["ok"] is True
    assert 0 <= out["cur"] <= out["peak"]
    assert out["stats"] > 0
