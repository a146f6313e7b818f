"""Process trees under ``python -m pytm run`` (issue 12): a real
multiprocessing.Pool(3) with the fork, spawn and forkserver start
methods and a bare os.fork child are followed into named arenas that
record parent and root; pytmtop --children finds every worker and its
total is the sum of the processes'; the root removes the tree's arenas
at exit unless --keep; --no-follow traces the root only; hostile copies
of a child arena are rejected without disturbing the view.

The workloads hold their memory until the test creates a "go" file, so
the test inspects a tree whose processes are all alive. Arena headers
are read here with struct at the offsets of include/pytm/arena_layout.h
(an independent check of the layout)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import _build_dir, _child_env

# include/pytm/arena_layout.h
OFF_FLAGS, OFF_PID, OFF_TICKS = 20, 32, 48
OFF_ROOT, OFF_PARENT, OFF_ROOT_TICKS = 672, 680, 688
OFF_CURRENT = 1088
FLAG_TREE = 0x4

POOL = r'''
import multiprocessing as mp, os, sys, time
from pathlib import Path
sync = Path(sys.argv[2])
def work(mib):
    global held
    held = bytearray(mib << 20)          # stays alive until the go file
    (sync / ("ready-%d" % os.getpid())).write_text(str(mib))
    while not (sync / "go").exists():
        time.sleep(0.02)
    return os.getpid()
if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    with ctx.Pool(3) as pool:
        pids = pool.map(work, [3, 5, 7], chunksize=1)
    print(sorted(set(pids)))
'''

FORK = r'''
import os, sys, time
from pathlib import Path
sync = Path(sys.argv[1])
pid = os.fork()
if pid == 0:
    held = bytearray(6 << 20)
    (sync / ("ready-%d" % os.getpid())).write_text("6")
    while not (sync / "go").exists():
        time.sleep(0.02)
    os._exit(0)                          # no exit handler runs
(sync / "root").write_text(str(os.getpid()))
os.waitpid(pid, 0)
'''


def header(path: Path) -> dict:
    b = path.read_bytes()[:4096]
    return {
        "flags": struct.unpack_from("<I", b, OFF_FLAGS)[0],
        "pid": struct.unpack_from("<q", b, OFF_PID)[0],
        "ticks": struct.unpack_from("<Q", b, OFF_TICKS)[0],
        "root": struct.unpack_from("<q", b, OFF_ROOT)[0],
        "parent": struct.unpack_from("<q", b, OFF_PARENT)[0],
        "root_ticks": struct.unpack_from("<Q", b, OFF_ROOT_TICKS)[0],
        "current": struct.unpack_from("<q", b, OFF_CURRENT)[0],
    }


def arenas(shm: Path) -> dict:
    return {h["pid"]: h for h in (header(p) for p in shm.iterdir()
                                  if p.name.startswith("pytm-"))}


def pytmtop() -> Path:
    bd = _build_dir()
    tool = bd / "pytmtop" if bd else None
    if tool is None or not tool.exists():
        pytest.skip("pytmtop not built (set PYTM_BUILD_DIR)")
    return tool


class Tree:
    """A `python -m pytm run` process whose workload waits for `go`."""

    def __init__(self, tmp: Path, code: str, args, opts=()):
        self.shm = tmp / "shm"
        self.sync = tmp / "sync"
        self.shm.mkdir()
        self.sync.mkdir()
        script = tmp / "work.py"
        script.write_text(code)
        self.env = _child_env({"PYTM_SHM_DIR": str(self.shm)})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pytm", "run", *opts, str(script),
             *args, str(self.sync)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=self.env)

    def wait_ready(self, n: int, timeout: float = 60) -> list:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ready = [int(p.name[6:]) for p in self.sync.glob("ready-*")]
            if len(ready) == n:
                time.sleep(0.3)  # the last flush of the holders
                return sorted(ready)
            assert self.proc.poll() is None, self.proc.communicate()
            time.sleep(0.05)
        raise AssertionError("workers not ready: %s" % os.listdir(self.sync))

    def finish(self) -> tuple:
        (self.sync / "go").write_text("")
        out, err = self.proc.communicate(timeout=120)
        assert self.proc.returncode == 0, err
        return out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            (self.sync / "go").write_text("")
            self.proc.kill()
            self.proc.communicate()


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pool_workers_followed(tmp_path, method):
    tool = pytmtop()
    t = Tree(tmp_path, POOL, [method])
    try:
        workers = t.wait_ready(3)
        found = arenas(t.shm)
        root = t.proc.pid
        assert root in found
        r = found[root]
        assert r["flags"] & FLAG_TREE
        assert (r["root"], r["parent"]) == (root, 0)
        for w in workers:  # every worker has a named arena of the tree
            h = found[w]
            assert h["flags"] & FLAG_TREE, (method, h)
            assert h["root"] == root and h["root_ticks"] == r["ticks"]
            assert h["parent"] in found or h["parent"] == root
            assert h["current"] > 2 << 20, h  # holds its 3/5/7 MiB
        view = subprocess.run(
            [str(tool), "-p", str(root), "--children", "--once", "--json",
             "--limit", "5"], capture_output=True, text=True, env=t.env,
            timeout=60)
        assert view.returncode == 0, view.stderr
        d = json.loads(view.stdout)
        procs = {p["pid"]: p for p in d["processes"]}
        assert set(workers) <= set(procs)
        assert set(procs) == set(found)  # resource tracker, forkserver too
        assert d["traced_current"] == sum(p["traced_current"]
                                          for p in procs.values())
        assert d["traced_peak"] == sum(p["traced_peak"]
                                       for p in procs.values())
        # the worker's line (bytearray) is one row summed over workers
        top = d["rows"][0]
        assert top["filename"].endswith("work.py")
        assert top["size"] >= 12 << 20
        out, _ = t.finish()
        assert json.loads(out.strip()) == workers
    finally:
        t.kill()
    assert list(t.shm.iterdir()) == []  # the root removed its tree


def test_os_fork_child_followed_and_cleaned(tmp_path):
    t = Tree(tmp_path, FORK, [])
    try:
        (child,) = t.wait_ready(1)
        found = arenas(t.shm)
        root = t.proc.pid
        assert set(found) == {root, child}
        h = found[child]
        assert (h["root"], h["parent"]) == (root, root)
        assert h["current"] > 5 << 20
        t.finish()
    finally:
        t.kill()
    assert list(t.shm.iterdir()) == []  # child ended with os._exit


def test_keep_leaves_the_tree(tmp_path):
    t = Tree(tmp_path, FORK, [], opts=["--keep"])
    try:
        (child,) = t.wait_ready(1)
        t.finish()
    finally:
        t.kill()
    assert set(arenas(t.shm)) == {t.proc.pid, child}


def test_no_follow_traces_the_root_only(tmp_path):
    t = Tree(tmp_path, POOL, ["spawn"], opts=["--no-follow"])
    try:
        t.wait_ready(3)
        found = arenas(t.shm)
        assert set(found) == {t.proc.pid}
        assert not found[t.proc.pid]["flags"] & FLAG_TREE
        t.finish()
    finally:
        t.kill()


def test_subprocess_of_sys_executable_followed(tmp_path):
    code = r'''
import subprocess, sys
subprocess.run([sys.executable, "-c", """
import os, sys, time
from pathlib import Path
sync = Path(sys.argv[1])
held = bytearray(4 << 20)
(sync / ("ready-%d" % os.getpid())).write_text("4")
while not (sync / "go").exists():
    time.sleep(0.02)
""", sys.argv[1]], check=True)
'''
    t = Tree(tmp_path, code, [])
    try:
        (child,) = t.wait_ready(1)
        h = arenas(t.shm)[child]
        assert (h["root"], h["parent"]) == (t.proc.pid, t.proc.pid)
        assert h["current"] > 3 << 20
        t.finish()
    finally:
        t.kill()
    assert list(t.shm.iterdir()) == []


def test_user_sitecustomize_still_runs(tmp_path):
    """The bootstrap must not shadow the user's own sitecustomize."""
    user = tmp_path / "user"
    user.mkdir()
    (user / "sitecustomize.py").write_text(
        "import os\nos.environ['USER_SITECUSTOMIZE'] = 'ran'\n")
    code = r'''
import subprocess, sys
out = subprocess.run([sys.executable, "-c",
    "import os, sys, pytm; print(os.environ.get('USER_SITECUSTOMIZE'), "
    "pytm.is_tracing(), any(p.endswith('_boot') for p in sys.path))"],
    capture_output=True, text=True, check=True).stdout
print(out.strip())
'''
    script = tmp_path / "w.py"
    script.write_text(code)
    env = _child_env({"PYTM_SHM_DIR": str(tmp_path)})
    env["PYTHONPATH"] = env["PYTHONPATH"] + os.pathsep + str(user)
    res = subprocess.run([sys.executable, "-m", "pytm", "run", str(script)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ran True False"


def test_hostile_child_arenas_skipped(tmp_path):
    tool = pytmtop()
    t = Tree(tmp_path, FORK, [])
    try:
        (child,) = t.wait_ready(1)
        src = (t.shm / ("pytm-%d" % child)).read_bytes()
        bad = bytearray(src)
        struct.pack_into("<q", bad, OFF_PARENT, 0)  # a child claiming rootness
        (t.shm / "pytm-999999991").write_bytes(bytes(bad))
        bad = bytearray(src)
        struct.pack_into("<I", bad, OFF_FLAGS,
                         struct.unpack_from("<I", src, OFF_FLAGS)[0]
                         & ~FLAG_TREE)  # tree fields without the flag
        (t.shm / "pytm-999999992").write_bytes(bytes(bad))
        for p in t.shm.glob("pytm-99999999*"):
            p.chmod(0o600)
        view = subprocess.run(
            [str(tool), "-p", str(t.proc.pid), "--children", "--once",
             "--json"], capture_output=True, text=True, env=t.env, timeout=60)
        assert view.returncode == 0, view.stderr
        d = json.loads(view.stdout)
        assert sorted(p["pid"] for p in d["processes"]) == sorted(
            [t.proc.pid, child])
        listed = subprocess.run([str(tool), "--list"], capture_output=True,
                                text=True, env=t.env, timeout=60)
        # the copies carry the child's pid: only the real one is listed
        pids = [l.split()[0] for l in listed.stdout.splitlines()[1:]]
        assert sorted(pids) == sorted([str(t.proc.pid), str(child)]), \
            listed.stdout
        t.finish()
    finally:
        t.kill()


def test_child_behind_a_shell_belongs_to_the_tree(tmp_path):
    """A spawned child's parent is getppid(), here an untraced shell;
    from the root, pytmtop --children still counts it."""
    tool = pytmtop()
    code = r'''
import shlex, subprocess, sys
child = """
import os, sys, time
from pathlib import Path
sync = Path(sys.argv[1])
held = bytearray(4 << 20)
(sync / ("ready-%d" % os.getpid())).write_text("4")
while not (sync / "go").exists():
    time.sleep(0.02)
"""
subprocess.run("%s -c %s %s" % (shlex.quote(sys.executable),
               shlex.quote(child), shlex.quote(sys.argv[1])), shell=True,
               check=True)
'''
    t = Tree(tmp_path, code, [])
    try:
        (child,) = t.wait_ready(1)
        h = arenas(t.shm)[child]
        assert h["root"] == t.proc.pid and h["parent"] != t.proc.pid
        view = subprocess.run(
            [str(tool), "-p", str(t.proc.pid), "--children", "--once",
             "--json"], capture_output=True, text=True, env=t.env, timeout=60)
        assert view.returncode == 0, view.stderr
        procs = {p["pid"]: p for p in json.loads(view.stdout)["processes"]}
        assert set(procs) == {t.proc.pid, child}
        assert procs[child]["traced_current"] > 3 << 20
        t.finish()
    finally:
        t.kill()


CHURN = r'''
import os, sys, time
from pathlib import Path
sync = Path(sys.argv[1])
for _ in range(20):                      # recycled workers
    pid = os.fork()
    if pid == 0:
        held = bytearray(1 << 16)
        os._exit(0)
    os.waitpid(pid, 0)
(sync / ("ready-%d" % os.getpid())).write_text("")
while not (sync / "go").exists():
    time.sleep(0.02)
'''


@pytest.mark.parametrize("keep", [False, True])
def test_dead_members_arenas_are_bounded(tmp_path, keep):
    """While the root runs, new members remove dead members' arenas
    beyond _tree.KEEP_DEAD (all of them younger than the grace time
    here); --keep keeps every one."""
    from pytm import _tree
    t = Tree(tmp_path, CHURN, [], opts=["--keep"] if keep else [])
    try:
        t.wait_ready(1)
        children = set(arenas(t.shm)) - {t.proc.pid}
        if keep:
            assert len(children) == 20
        else:
            # the last child reaped before it died: KEEP_DEAD + itself
            assert len(children) == _tree.KEEP_DEAD + 1, children
        t.finish()
    finally:
        t.kill()
    assert len(list(t.shm.iterdir())) == (21 if keep else 0)
