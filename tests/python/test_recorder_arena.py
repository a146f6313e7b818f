"""The shared-memory arena: path, mode, removal, keep, and a second
process reading it through shm's reader (tests/tools/pytm_arena_dump)."""

import json
import os
import subprocess
import sys
import textwrap

from conftest import _child_env


def test_arena_created_0600_and_removed_at_stop(run_py):
    """GIVEN tracing started
    WHEN inspecting the arena and then stopping
    THEN it is /dev/shm/pytm-<pid>, mode 0600, and gone after stop()."""
    code = """
    import json, os, stat, pytm
    pytm.start()
    p = pytm.arena_path()
    mode = stat.S_IMODE(os.stat(p).st_mode)
    pytm.stop()
    print(json.dumps([p, os.getpid(), mode, os.path.exists(p)]))
    """
    path, pid, mode, exists = run_py(code).json()
    assert path == "/dev/shm/pytm-%d" % pid
    assert mode == 0o600
    assert exists is False


def test_arena_removed_at_exit(run_py):
    """GIVEN a process that exits while tracing
    WHEN it has exited
    THEN its arena is gone."""
    r = run_py("""
    import pytm
    pytm.start()
    print(pytm.arena_path())
    """)
    path = r.stdout.strip()
    assert path.startswith("/dev/shm/pytm-")
    assert not os.path.exists(path)


def test_arena_kept_with_keep(run_py, arena_dump_tool):
    """GIVEN start(keep=True)
    WHEN the process exits while tracing
    THEN the arena stays, readable, marked exited, with the final totals."""
    r = run_py("""
    import json, pytm
    pytm.start(sample_interval=1, keep=True)
    data = [bytes(1000) for _ in range(5000)]
    cur = pytm.get_traced_memory()[0]
    print(json.dumps([pytm.arena_path(), cur]))
    """)
    path, cur = r.json()
    try:
        assert os.path.exists(path)
        out = subprocess.run([arena_dump_tool, path], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        info = json.loads(out.stdout)
        assert info["liveness"] == "exited"
        assert info["sample_interval"] == 1
        assert info["traced_peak"] >= cur >= 5000 * 1033
    finally:
        if os.path.exists(path):
            os.unlink(path)


def test_arena_kept_after_stop_with_keep(run_py):
    """GIVEN start(keep=True)
    WHEN stop() is called
    THEN the arena file remains (the caller owns it)."""
    r = run_py("""
    import json, os, pytm
    pytm.start(keep=True)
    p = pytm.arena_path()
    pytm.stop()
    print(json.dumps([p, os.path.exists(p)]))
    """)
    path, exists = r.json()
    try:
        assert exists is True
    finally:
        if os.path.exists(path):
            os.unlink(path)


LIVE = """
import json, os, sys, pytm
pytm.start(sample_interval=1)
data = [bytes(2000) for _ in range(5000)]
cur = pytm.get_traced_memory()[0]
sys.stdout.write(json.dumps({"cur": cur}) + "\\n")
sys.stdout.flush()
os.read(0, 1)   # blocks without a big read buffer (unlike readline)
cur2 = pytm.get_traced_memory()[0]
sys.stdout.write(json.dumps({"cur": cur2}) + "\\n")
sys.stdout.flush()
"""


def test_second_process_reads_live_arena(arena_dump_tool):
    """GIVEN a running traced process holding ~10 MB
    WHEN another process reads its arena with shm's reader (-p PID)
    THEN the reader sees it running with the same traced_current as the
    process's own get_traced_memory() (within the bytes the child
    allocates around the two calls)."""
    proc = subprocess.Popen([sys.executable, "-c", LIVE],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=_child_env())
    try:
        first = json.loads(proc.stdout.readline())["cur"]
        out = subprocess.run([arena_dump_tool, "-p", str(proc.pid)],
                             capture_output=True, text=True, timeout=60)
        proc.stdin.write("\n")
        proc.stdin.flush()
        second = json.loads(proc.stdout.readline())["cur"]
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["pid"] == proc.pid
    assert info["liveness"] == "running"
    assert first >= 5000 * 2033
    lo, hi = min(first, second), max(first, second)
    assert lo - 4096 <= info["traced_current"] <= hi + 4096
    assert info["sum_tb_size"] == info["traced_current"]
