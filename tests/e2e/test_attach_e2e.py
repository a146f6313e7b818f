"""End-to-end: pytmtop on a plain python3 that never imported pytm, traced
by `python -m pytm attach` or by `pytmtop -p PID --attach` (tmux-driven;
GIVEN an untraced target, WHEN attaching and pressing keys, THEN the
screen shows the script's lines, and after detaching the target goes on
and exits 0 with its own output)."""
import os
import shlex
import subprocess
import sys
import time

import pytest

from conftest import PYTMTOP, once_json, run_pytmtop, wait_for

PLAIN = '''\
import os, sys, time
keep = []
def grow():
    keep.append(bytearray(40_000))  # LINE_GROW
    if len(keep) > 300:
        del keep[:150]
print("started", flush=True)
while not os.path.exists(sys.argv[1]):
    grow()
    time.sleep(0.01)
print("done", flush=True)
'''
LINE = next(i for i, l in enumerate(PLAIN.splitlines(), 1) if "LINE_GROW" in l)


class Plain:
    def __init__(self, tmp_path):
        self.script = tmp_path / "plain.py"
        self.script.write_text(PLAIN)
        self.stop = tmp_path / "stop"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.proc = subprocess.Popen([sys.executable, str(self.script), str(self.stop)],
                                     env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        self.pid = self.proc.pid
        assert self.proc.stdout.readline() == "started\n"

    def finish(self):
        self.stop.touch()
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, out, err


@pytest.fixture
def plain(tools, tmp_path):
    t = Plain(tmp_path)
    yield t
    if t.proc.poll() is None:
        t.proc.kill()
        t.proc.communicate()


def pytm(*args):
    return subprocess.run([sys.executable, "-m", "pytm", *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def arena(pid):
    return os.path.join(os.environ.get("PYTM_SHM_DIR") or "/dev/shm", "pytm-%d" % pid)


def test_untraced_pid_hint(plain):
    r = run_pytmtop("-p", str(plain.pid), "--once")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1
    assert "not traced by pytm" in r.stderr and "--attach" in r.stderr
    assert plain.finish() == (0, "done\n", "")


def test_attach_rows_keys_detach(plain, tmux_factory):
    r = pytm("attach", plain.pid, "--nframe", "4")
    assert r.returncode == 0, r.stderr
    want = "%s:%d" % (plain.script.name, LINE)

    def rows():
        d = once_json("-p", str(plain.pid))
        return [x for x in d["rows"]
                if x["filename"] == str(plain.script) and x["lineno"] == LINE]
    assert wait_for(rows, 20), once_json("-p", str(plain.pid))

    s = tmux_factory("%s -p %d -d 0.2" % (shlex.quote(PYTMTOP), plain.pid))
    assert s.wait_text(want), s.capture()
    s.send("t")
    assert s.wait_text("| traceback"), s.capture()
    s.send("Enter")
    assert s.wait_text("keep.append(bytearray(40_000))"), s.capture()
    s.send("Escape")
    assert s.wait_text("?Help")
    s.send("q")
    assert s.wait_text("PYTMTOP-EXIT=0")

    r = pytm("detach", plain.pid)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(arena(plain.pid))
    time.sleep(0.2)
    assert plain.proc.poll() is None
    assert plain.finish() == (0, "done\n", "")


def test_pytmtop_attach_flag(plain, tmux_factory):
    s = tmux_factory("%s -p %d -d 0.2 --attach" % (shlex.quote(PYTMTOP), plain.pid),
                     env={"PYTM_PYTHON": sys.executable})
    assert s.wait_text("%s:%d" % (plain.script.name, LINE), 20), s.capture()
    s.send("q")
    assert s.wait_text("PYTMTOP-EXIT=0"), s.capture()
    # it attached, so it detached when it quit
    assert wait_for(lambda: not os.path.exists(arena(plain.pid)), 10)
    assert plain.finish() == (0, "done\n", "")
