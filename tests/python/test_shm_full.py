"""A full tmpfs: the arena's directory runs out of space.

The arena is allocated on demand (shm/arena_backing.h): the header and
the thread slots at create, the growable sections in 64 KiB steps
before anything is written there. So a traced program on a small or
shared tmpfs (Docker's /dev/shm is 64 MiB) must never die of SIGBUS:
a step that cannot be allocated drops the sample and counts it, and an
arena that cannot be created at all is a clear OSError with its errno.

Each test mounts a 2 MiB tmpfs of its own (root only; skipped, with the
reason, where mount is refused) and fills it to leave a chosen amount
free.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from test_faults import (arena_dump, child_env, close_and_wait, pytmtop_path,
                         settled)

# 3000 generated functions, one allocation line each, 3 blocks kept alive
# per line: many strings, frames and tracebacks, so every growable
# section of the arena needs steps.
CHILD = """
import json, sys, pytm
pytm.start(25, sample_interval=1)
src = "\\n".join("def f%d(n):\\n    return [bytearray(%d) for _ in range(n)]"
                % (i, 16 + i % 50) for i in range(3000))
ns = {}
exec(compile(src, "gen_full.py", "exec"), ns)
keep = [ns["f%d" % i](3) for i in range(3000)]
total = sum(len(b) for r in keep for b in r)
snap = pytm.take_snapshot()
stats = snap.statistics("lineno")
print(json.dumps({"total": total, "info": snap.info(),
                  "nstats": len(stats),
                  "stat_sum": sum(s.size for s in stats),
                  "path": pytm.arena_path()}), flush=True)
sys.stdin.readline()           # stay alive while the test reads
"""
EXPECTED_TOTAL = sum(3 * (16 + i % 50) for i in range(3000))


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "shm"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs",
                        str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): "
                    + (r.stderr.strip() or "mount failed"))
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def leave_free(mnt: Path, kib: int) -> None:
    """Fills mnt with one file so that about kib KiB stay free."""
    st = os.statvfs(mnt)
    size = st.f_bavail * st.f_frsize - kib * 1024
    assert size > 0
    with open(mnt / "filler", "wb") as f:
        os.posix_fallocate(f.fileno(), 0, size)


def test_steps_that_find_no_space_drop_samples_and_never_fault(
        small_tmpfs, arena_dump_tool):
    # Room for the header and thread slots (about 330 KiB) and a few
    # steps, not for all 3000 lines' strings, frames and tracebacks.
    leave_free(small_tmpfs, 548)
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env=child_env({"PYTM_SHM_DIR": str(small_tmpfs)}))
    try:
        line = proc.stdout.readline()
        assert line, "child died (status %s, %s): %s" % (
            proc.poll(), signal.Signals(-proc.returncode).name
            if proc.returncode and proc.returncode < 0 else "-",
            proc.stderr.read())
        res = json.loads(line)
        # The program's own work is untouched.
        assert res["total"] == EXPECTED_TOTAL
        info = res["info"]
        # The loss is counted, and only part of the run was lost.
        assert info["n_dropped"] > 0, info
        assert info["n_dropped"] < info["n_allocs"], info
        # What was recorded is there: the snapshot groups it, and the
        # arena's per-traceback sums equal its traced memory (below).
        assert res["nstats"] > 0 and res["stat_sum"] > 0
        assert res["path"].startswith(str(small_tmpfs))
        d = settled(lambda: arena_dump(arena_dump_tool, res["path"]),
                    lambda r: r["sum_tb_size"] == r["traced_current"])
        assert d["sum_tb_size"] == d["traced_current"], d
        top = pytmtop_path()
        if top:
            r = subprocess.run([top, "--once", "--json", "--limit", "5",
                                "-p", str(proc.pid)], capture_output=True,
                               text=True, timeout=60,
                               env=dict(os.environ,
                                        PYTM_SHM_DIR=str(small_tmpfs)))
            assert r.returncode == 0, r.stderr
            t = json.loads(r.stdout)
            assert t["rows"], t
            assert t["total_size"] == t["traced_current"], t
    finally:
        close_and_wait(proc)
    assert proc.returncode == 0, proc.stderr.read()


def test_no_room_for_the_arena_is_an_oserror_with_enospc(small_tmpfs,
                                                         run_py):
    leave_free(small_tmpfs, 56)
    before = sorted(os.listdir(small_tmpfs))
    res = run_py("""
        import errno, json, pytm
        try:
            pytm.start()
        except OSError as e:
            print(json.dumps({"errno": e.errno, "msg": str(e),
                              "tracing": pytm.is_tracing()}))
        else:
            print(json.dumps({"errno": None}))
        """, env={"PYTM_SHM_DIR": str(small_tmpfs)})
    out = res.json()
    assert out["errno"] == errno.ENOSPC, out
    assert "arena" in out["msg"] and str(small_tmpfs) in out["msg"], out
    assert out["tracing"] is False
    # Nothing is left behind.
    assert sorted(os.listdir(small_tmpfs)) == before
