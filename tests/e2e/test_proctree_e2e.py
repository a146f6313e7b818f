"""End-to-end: pytmtop over a process tree (issue 12), through tmux.

GIVEN a multiprocessing.Pool(3) under pytmtop's spawn mode (which runs
`python -m pytm run`, following children) or an os.fork child under
`pytmtop -p ROOT --children`, WHEN the P and o keys are sent and a
worker exits, THEN the screen shows the workers' rows live split by
PID, the summed row equal to the sum of the split rows, the focus, and
the exited worker kept with its last figures and marked x."""
import re
import shlex
import subprocess
import sys

from conftest import PYTMTOP, wait_for
from test_pytmtop import table

POOL = r'''
import multiprocessing as mp, os, sys, time
from pathlib import Path
sync = Path(sys.argv[1])
def work(mib):
    global held
    held = bytearray(mib << 20)  # HELD
    (sync / ("ready-%d-%d" % (mib, os.getpid()))).write_text("")
    while not (sync / ("go-%d" % mib)).exists():
        time.sleep(0.02)
    return mib
if __name__ == "__main__":
    with mp.get_context("fork").Pool(3, maxtasksperchild=1) as pool:
        pool.map(work, [3, 5, 7], chunksize=1)
        time.sleep(120)
'''
HELD = POOL.splitlines().index("    held = bytearray(mib << 20)  # HELD") + 1

MIB = 1024 * 1024


def workers(sync):
    """{mib: pid} of the ready workers."""
    out = {}
    for p in sync.glob("ready-*"):
        _, mib, pid = p.name.split("-")
        out[int(mib)] = int(pid)
    return out


def procs_line(screen):
    return screen.splitlines()[1]


def split_rows(screen):
    """{pid: size} of the [PID] .../work.py:HELD rows."""
    out = {}
    for size, loc, _ in table(screen):
        m = re.match(r"^\[(\d+)\] .*work\.py:%d$" % HELD, loc)
        if m:
            out[int(m.group(1))] = size
    return out


def near(a, b, tol=0.2):
    return abs(a - b) <= tol * b


def workdir(tmp_path, code):
    """(script, sync dir, shm dir) under tmp_path."""
    script = tmp_path / "work.py"
    script.write_text(code)
    dirs = []
    for name in ("sync", "shm"):
        (tmp_path / name).mkdir()
        dirs.append(tmp_path / name)
    return script, dirs[0], dirs[1]


def test_pool_tree_live_split_focus_and_exit(tools, tmp_path, tmux_factory):
    script, sync, shm = workdir(tmp_path, POOL)
    cmd = "%s -d 0.2 -- %s %s %s" % (shlex.quote(PYTMTOP),
                                     shlex.quote(sys.executable),
                                     shlex.quote(str(script)),
                                     shlex.quote(str(sync)))
    s = tmux_factory(cmd, cwd=str(tmp_path), env={"PYTM_SHM_DIR": str(shm)})
    assert wait_for(lambda: len(workers(sync)) == 3, 30), s.capture()
    w = workers(sync)
    assert s.wait_text("procs 4 (0 exited)", 15), s.capture()
    line = procs_line(s.capture())
    for pid in w.values():
        assert str(pid) in line, line

    # summed: one row for the HELD line of all three workers
    def summed():
        rows = [r for r in table(s.capture())
                if r[1].endswith("work.py:%d" % HELD)]
        return rows[0][0] if len(rows) == 1 else None
    assert wait_for(lambda: summed() and near(summed(), 15 * MIB)), \
        s.capture()
    total = summed()

    # P: one row per worker, [PID] prefixed, that add up to the sum
    s.send("P")
    assert wait_for(lambda: len(split_rows(s.capture())) == 3), s.capture()
    rows = split_rows(s.capture())
    assert set(rows) == set(w.values()), (rows, w)
    for mib, pid in w.items():
        assert near(rows[pid], mib * MIB), (mib, rows)
    assert near(sum(rows.values()), total, 0.02)
    assert "split" in procs_line(s.capture())

    # o: focus the root (no HELD row), then the first worker alone
    s.send("o")
    assert s.wait_text("showing pid", 5), s.capture()
    focus = re.search(r"\[x?(\d+) ", procs_line(s.capture()))
    assert focus, procs_line(s.capture())
    order = [int(p) for p in re.findall(r"  \[?x?(\d+) ",
                                        procs_line(s.capture()))]
    s.send("o")
    second = order[1]
    assert wait_for(lambda: set(split_rows(s.capture())) == {second}), \
        s.capture()
    s.send("o", "o", "o")  # back to all
    assert wait_for(lambda: "[all]" in procs_line(s.capture())), s.capture()
    assert wait_for(lambda: len(split_rows(s.capture())) == 3), s.capture()

    # the 3 MiB worker exits (maxtasksperchild=1): its rows stay, marked x
    gone = w[3]
    (sync / "go-3").write_text("")
    assert wait_for(lambda: "x%d " % gone in procs_line(s.capture()), 15), \
        s.capture()
    assert "1 exited" in procs_line(s.capture())
    rows = split_rows(s.capture())
    assert gone in rows and near(rows[gone], 3 * MIB), rows
    # the pool replaces it: the newcomer is found by the rescan
    assert wait_for(lambda: "procs 5" in procs_line(s.capture()), 15), \
        s.capture()
    s.send("q")
    assert s.wait_text("PYTMTOP-EXIT=0")


FORK = r'''
import os, sys, time
from pathlib import Path
sync = Path(sys.argv[1])
pid = os.fork()
if pid == 0:
    held = bytearray(6 << 20)  # HELD
    (sync / "ready").write_text(str(os.getpid()))
    while not (sync / "go").exists():
        time.sleep(0.02)
    os._exit(0)
os.waitpid(pid, 0)
time.sleep(120)
'''


FORK_HELD = FORK.splitlines().index("    held = bytearray(6 << 20)  # HELD") + 1


def test_fork_child_children_flag_and_exit(tools, tmp_path, tmux_factory):
    script, sync, shm = workdir(tmp_path, FORK)
    env = dict(subprocess.os.environ, PYTM_SHM_DIR=str(shm))
    root = subprocess.Popen([sys.executable, "-m", "pytm", "run",
                             str(script), str(sync)], env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_for((sync / "ready").exists, 30)
        child = int((sync / "ready").read_text())
        cmd = "%s -d 0.2 -p %d --children" % (shlex.quote(PYTMTOP), root.pid)
        s = tmux_factory(cmd, cwd=str(tmp_path), env={"PYTM_SHM_DIR": str(shm)})
        assert s.wait_text("procs 2 (0 exited)", 15), s.capture()
        assert wait_for(lambda: any(r[1].endswith("work.py:%d" % FORK_HELD)
                                    and near(r[0], 6 * MIB)
                                    for r in table(s.capture()))), s.capture()
        (sync / "go").write_text("")
        assert wait_for(lambda: "x%d " % child in procs_line(s.capture()),
                        15), s.capture()
        assert any(r[1].endswith("work.py:%d" % FORK_HELD) and near(r[0], 6 * MIB)
                   for r in table(s.capture())), s.capture()
        s.send("q")
        assert s.wait_text("PYTMTOP-EXIT=0")
    finally:
        root.kill()
        root.wait()
