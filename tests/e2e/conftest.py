"""Fixtures for the tmux-driven end-to-end tests of pytmtop.

CTest sets PYTMTOP (the binary) and PYTHONPATH (build/python, holding the
pytm package with its extension). Each test gets a real traced Python
process (``python -m pytm run``) running TARGET below, and a detached tmux
session of a fixed size in which pytmtop runs.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

PYTMTOP = os.environ.get("PYTMTOP", "")

# Allocates at known lines (found by their marker comments), writes the
# ready file, then allocates more each time the signal file appears.
TARGET = '''\
import os, sys, time
keep = []
def first():
    keep.append(bytearray(400_000))  # LINE_FIRST
def second():
    keep.append(bytearray(150_000))  # LINE_SECOND
for _ in range(8):
    first()
for _ in range(4):
    second()
ready, sig = sys.argv[1], sys.argv[2]
open(ready, "w").close()
deadline = time.time() + 300
while time.time() < deadline:
    if os.path.exists(sig):
        for _ in range(10):
            keep.append(bytes(1_000_000))  # LINE_MORE
        os.unlink(sig)
        open(ready + ".more", "w").close()
    time.sleep(0.02)
'''


def target_line(marker):
    for i, text in enumerate(TARGET.splitlines(), 1):
        if marker in text:
            return i
    raise KeyError(marker)


def _require_tools():
    if not PYTMTOP or not os.access(PYTMTOP, os.X_OK):
        pytest.skip("PYTMTOP is not set to the pytmtop binary (run through ctest)")
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    probe = subprocess.run([sys.executable, "-c", "import pytm._recorder"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("pytm._recorder is not importable (PYTHONPATH=%s)"
                    % os.environ.get("PYTHONPATH", ""))


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() > end:
            return v
        time.sleep(step)


class Target:
    """A traced Python process running TARGET."""

    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.script = tmp_path / "target.py"
        self.script.write_text(TARGET)
        self.ready = tmp_path / "ready"
        self.sig = tmp_path / "sig"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pytm", "run", "--interval", "1",
             "--nframe", "4", str(self.script), str(self.ready),
             str(self.sig)],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        if not wait_for(lambda: self.ready.exists() or
                        self.proc.poll() is not None, 30):
            self.stop()
            pytest.fail("traced target did not start")
        if self.proc.poll() is not None:
            pytest.fail("traced target failed: %s"
                        % self.proc.stderr.read().decode())

    def allocate_more(self):
        more = self.dir / "ready.more"
        self.sig.touch()
        assert wait_for(more.exists, 10), "target did not allocate more"
        more.unlink()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Tmux:
    """pytmtop in a detached tmux session of a fixed size."""

    def __init__(self, cmd, width=160, height=50, cwd=None, env=None):
        self.name = "pytmtop-e2e-%s" % uuid.uuid4().hex[:8]
        self.tmux = ["tmux", "-L", self.name]
        # the marker line shows how pytmtop exited
        shell = "%s; echo PYTMTOP-EXIT=$?; sleep 60" % cmd
        full_env = dict(os.environ, **(env or {}))
        full_env["TERM"] = "xterm-256color"
        # a private server (-L): it inherits our environment (PYTHONPATH)
        # instead of that of a tmux server the user may have running
        subprocess.run(self.tmux + ["new-session", "-d", "-s", self.name,
                        "-x", str(width), "-y", str(height), shell],
                       cwd=cwd, env=full_env, check=True)

    def capture(self):
        r = subprocess.run(self.tmux + ["capture-pane", "-p", "-t", self.name],
                           capture_output=True, text=True)
        return r.stdout

    def send(self, *keys):
        for k in keys:
            subprocess.run(self.tmux + ["send-keys", "-t", self.name, k],
                           check=True)
            time.sleep(0.15)

    def wait_text(self, text, timeout=10.0):
        return wait_for(lambda: text in self.capture(), timeout)

    def alternate_on(self):
        r = subprocess.run(self.tmux + ["display", "-p", "-t", self.name,
                            "#{alternate_on}"], capture_output=True, text=True)
        return r.stdout.strip() == "1"

    def kill(self):
        subprocess.run(self.tmux + ["kill-server"],
                       capture_output=True)


@pytest.fixture
def tools():
    _require_tools()


@pytest.fixture
def target(tools, tmp_path):
    t = Target(tmp_path)
    yield t
    t.stop()


@pytest.fixture
def tmux_factory():
    sessions = []

    def make(cmd, **kw):
        s = Tmux(cmd, **kw)
        sessions.append(s)
        return s
    yield make
    for s in sessions:
        s.kill()


def run_pytmtop(*args, cwd=None):
    return subprocess.run([PYTMTOP, *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60)


def once_json(*args):
    r = run_pytmtop(*args, "--once", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)
