"""python -m pytm attach / detach into plain CPython processes that never
imported pytm (docs/attach.md).

Every target runs without pytm on its PYTHONPATH: whatever pytm it ends
up tracing with came from the attaching command's own directory. GIVEN a
target, WHEN attaching or detaching, THEN the rows, the refusals and the
target's own output and exit status are as documented.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import _build_dir

# Allocates in a loop from the main thread and NTHREADS threads until the
# stop file appears; prints two lines of its own. The main loop counts its
# rounds into the beat file, so that finish() can see the target is still
# running (not hung, not left stopped) before asking it to stop.
TARGET = '''\
import os, sys, threading, time
keep = []
def grow():
    keep.append(bytearray(40_000))  # LINE_GROW
    if len(keep) > 300:
        del keep[:150]
stop, nthreads = sys.argv[1], int(sys.argv[2])
beat = stop + ".beat"
def worker():
    while not os.path.exists(stop):
        grow()
        time.sleep(0.003)
threads = [threading.Thread(target=worker) for _ in range(nthreads)]
for t in threads:
    t.start()
print("started", flush=True)
n = 0
while not os.path.exists(stop):
    grow()
    n += 1
    with open(beat + ".tmp", "w") as f:
        f.write(str(n))
    os.replace(beat + ".tmp", beat)
    time.sleep(0.01)
for t in threads:
    t.join()
print("done", n > 0, flush=True)
'''
LINE_GROW = next(i for i, l in enumerate(TARGET.splitlines(), 1) if "LINE_GROW" in l)
PY311 = sys.executable
PYENV = "/root/.pyenv/versions"


def _plain_env():
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONTRACEMALLOC", "PYTHONMALLOC"):
        env.pop(k, None)
    return env


def _cmd_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.abspath(str(_pytm_parent()))
    return env


def _pytm_parent() -> Path:
    import pytm
    return Path(pytm.__file__).resolve().parent.parent


class Target:
    def __init__(self, tmp_path: Path, nthreads=0, python=PY311, prefix=()):
        self.dir = tmp_path
        self.script = tmp_path / "target.py"
        self.script.write_text(TARGET)
        self.stopfile = tmp_path / "stop"
        self.proc = subprocess.Popen(
            [*prefix, python, str(self.script), str(self.stopfile), str(nthreads)],
            cwd=tmp_path, env=_plain_env(), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        assert self.proc.stdout.readline() == "started\n"

    def beats(self):
        try:
            return int(Path(str(self.stopfile) + ".beat").read_text())
        except (OSError, ValueError):
            return 0

    def finish(self):
        """Waits for the target's main loop to make progress from here,
        then stops it; returns (exit status, stdout rest, stderr)."""
        start, deadline = self.beats(), time.monotonic() + 30
        while self.beats() <= start and self.proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"target {self.pid} made no progress in 30 s")
            time.sleep(0.01)
        self.stopfile.touch()
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def target(tmp_path):
    t = Target(tmp_path)
    yield t
    t.kill()


def pytm_cmd(*args, timeout=60, python=PY311, env=None):
    return subprocess.run([python, "-m", "pytm", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          env=env or _cmd_env())


def pytmtop():
    bd = _build_dir()
    exe = bd / "pytmtop" if bd else None
    if exe is None or not exe.exists():
        pytest.skip("pytmtop is not built (PYTM_BUILD_DIR)")
    return str(exe)


def once_json(pid):
    r = subprocess.run([pytmtop(), "-p", str(pid), "--once", "--json",
                        "--group", "lineno"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def arena(pid):
    return Path(os.environ.get("PYTM_SHM_DIR") or "/dev/shm") / ("pytm-%d" % pid)


def refused(r, *words):
    """Exit status 1 and one line on stderr holding every word."""
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def grow_rows(pid, script):
    rows = once_json(pid)["rows"]
    return [row for row in rows
            if row["filename"] == str(script) and row["lineno"] == LINE_GROW]


def test_attach_rows_detach_target_goes_on(target):
    # GIVEN a plain python3 allocating in a loop, never importing pytm
    assert not arena(target.pid).exists()
    # WHEN attaching
    r = pytm_cmd("attach", target.pid, "--nframe", "3")
    assert r.returncode == 0, r.stderr
    assert "tracing PID %d" % target.pid in r.stdout
    assert arena(target.pid).exists()
    # THEN pytmtop shows rows at the script's own line
    deadline = time.time() + 20
    while not grow_rows(target.pid, target.script) and time.time() < deadline:
        time.sleep(0.1)
    rows = grow_rows(target.pid, target.script)
    assert rows and rows[0]["size"] > 0, once_json(target.pid)["rows"][:5]
    # WHEN detaching THEN the arena goes and the target goes on, exit 0,
    # its own output intact and nothing of ours on its stderr
    r = pytm_cmd("detach", target.pid)
    assert r.returncode == 0, r.stderr
    assert "no longer traced" in r.stdout
    assert not arena(target.pid).exists()
    time.sleep(0.2)
    assert target.proc.poll() is None
    rc, out, err = target.finish()
    assert (rc, out, err) == (0, "done True\n", "")


def test_attach_json_reports_the_pause(target):
    r = pytm_cmd("attach", target.pid, "--interval", "1", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["ok"] and res["interval"] == 1 and res["pid"] == target.pid
    # the pytm in the target is the command's own
    assert Path(res["pytm"]).resolve().parent.parent == _pytm_parent()
    assert 0 < res["held_ns"] < 1e9
    assert pytm_cmd("detach", target.pid).returncode == 0
    assert target.finish()[0] == 0


def test_attach_detach_20_times(target):
    for i in range(20):
        r = pytm_cmd("attach", target.pid, "--json")
        assert r.returncode == 0, (i, r.stderr)
        assert arena(target.pid).exists()
        r = pytm_cmd("detach", target.pid, "--json")
        assert r.returncode == 0, (i, r.stderr)
        assert not arena(target.pid).exists()
    assert target.proc.poll() is None
    assert target.finish() == (0, "done True\n", "")


def test_attach_while_4_threads_allocate(tmp_path):
    t = Target(tmp_path, nthreads=4)
    try:
        r = pytm_cmd("attach", t.pid)
        assert r.returncode == 0, r.stderr
        deadline = time.time() + 20
        while time.time() < deadline:
            rows = grow_rows(t.pid, t.script)
            if rows and rows[0]["count"] >= 5:
                break
            time.sleep(0.1)
        assert rows and rows[0]["count"] >= 5
        assert pytm_cmd("detach", t.pid).returncode == 0
        assert t.finish() == (0, "done True\n", "")
    finally:
        t.kill()


# --- refusals: one line, exit 1, the target untouched ------------------

def test_refuse_no_such_pid():
    refused(pytm_cmd("attach", 0x3FFFFFFF), "no such process")
    refused(pytm_cmd("detach", 0x3FFFFFFF), "no such process")


def test_refuse_already_traced_and_detach_untraced(target):
    refused(pytm_cmd("detach", target.pid), "not traced by pytm")
    assert pytm_cmd("attach", target.pid).returncode == 0
    refused(pytm_cmd("attach", target.pid), "already traced", "pytmtop -p")
    assert pytm_cmd("detach", target.pid).returncode == 0
    assert target.finish() == (0, "done True\n", "")


def test_refuse_another_users_process(tmp_path):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to start a process as nobody")
    p = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534",
                          "--clear-groups", "sleep", "60"])
    try:
        time.sleep(0.2)
        line = refused(pytm_cmd("attach", p.pid), "another user", "nobody")
        assert "uid 65534" in line
    finally:
        p.kill()
        p.wait()


def test_refuse_yama(target, tmp_path):
    f = tmp_path / "ptrace_scope"
    f.write_text("3\n")
    env = dict(_cmd_env(), PYTM_YAMA_PTRACE_SCOPE=str(f))
    refused(pytm_cmd("attach", target.pid, env=env),
            "kernel.yama.ptrace_scope = 3")
    from pytm.attach import yama_refusal
    assert yama_refusal("0", False, 1) is None
    assert yama_refusal("1", True, 1) is None
    assert "ptrace_scope = 1" in yama_refusal("1", False, 1)
    assert "CAP_SYS_PTRACE" in yama_refusal("2", False, 1)
    assert "ptrace_scope = 3" in yama_refusal("3", True, 1)
    assert target.finish() == (0, "done True\n", "")


def test_refuse_not_cpython():
    p = subprocess.Popen(["sleep", "60"])
    try:
        time.sleep(0.1)
        refused(pytm_cmd("attach", p.pid), "not a CPython process",
                "Py_AddPendingCall")
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


def test_refuse_python_310(tmp_path):
    py = PYENV + "/3.10.13/bin/python3"
    if not os.path.exists(py):
        pytest.skip("no CPython 3.10 at " + py)
    t = Target(tmp_path, python=py)
    try:
        refused(pytm_cmd("attach", t.pid), "older than 3.11", "3.11, 3.12 and 3.13")
        assert t.finish() == (0, "done True\n", "")
    finally:
        t.kill()


def test_refuse_version_this_pytm_is_not_built_for(tmp_path):
    for v in ("3.12.1", "3.13.0"):
        py = "%s/%s/bin/python3" % (PYENV, v)
        tag = "cpython-%s%s" % tuple(v.split(".")[:2])
        if not os.path.exists(py):
            continue
        if glob.glob(str(_pytm_parent() / "pytm" / ("_recorder.%s-*.so" % tag))):
            continue  # built for it: test_attach_other_versions covers it
        d = tmp_path / v
        d.mkdir()
        t = Target(d, python=py)
        try:
            refused(pytm_cmd("attach", t.pid), "runs CPython " + v, "built for")
            assert t.finish() == (0, "done True\n", "")
        finally:
            t.kill()


def test_refuse_stopped(target):
    os.kill(target.pid, signal.SIGSTOP)
    try:
        time.sleep(0.1)
        refused(pytm_cmd("attach", target.pid), "is stopped")
    finally:
        os.kill(target.pid, signal.SIGCONT)
    assert target.finish() == (0, "done True\n", "")


def test_refuse_other_mount_namespace(tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("unshare -m is not permitted here")
    t = Target(tmp_path, prefix=("unshare", "-m"))
    try:
        refused(pytm_cmd("attach", t.pid), "another mount namespace", "container")
        assert t.finish() == (0, "done True\n", "")
    finally:
        t.kill()


def test_timeout_cancels_and_target_is_untouched(tmp_path):
    # GIVEN a main thread in a 3 s sleep WHEN attach --timeout 0.5 THEN a
    # refusal, and when the sleep ends the late bootstrap does nothing
    script = tmp_path / "sleeper.py"
    script.write_text("import time\nprint('a', flush=True)\ntime.sleep(3)\n"
                      "x = [bytearray(1000) for _ in range(100)]\n"
                      "time.sleep(0.5)\nprint('b')\n")
    p = subprocess.Popen([PY311, str(script)], env=_plain_env(), text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout.readline() == "a\n"
        refused(pytm_cmd("attach", p.pid, "--timeout", "0.5"),
                "ran no Python code", "cancelled")
        seen = False
        while p.poll() is None:
            seen |= arena(p.pid).exists()
            time.sleep(0.05)
        out, err = p.communicate()
        assert (p.returncode, out, err, seen) == (0, "b\n", "", False)
    finally:
        if p.poll() is None:
            p.kill()


def test_bad_arguments_exit_2(target):
    r = pytm_cmd("attach", target.pid, "--nframe", "0")
    assert r.returncode == 2
    r = pytm_cmd("attach", "notapid")
    assert r.returncode == 2


# --- other interpreters ------------------------------------------------

def test_probe_static_debian_python(tmp_path):
    """Debian's /usr/bin/python3.11 has libpython linked in: the symbols
    come from the executable itself."""
    py = "/usr/bin/python3.11"
    if not os.path.exists(py):
        pytest.skip("no " + py)
    from pytm import _attach
    t = Target(tmp_path, python=py)
    try:
        info = _attach.probe(t.pid)
        assert info["version_hex"] >> 16 == 0x030B
        assert info["lib"] in (py, os.path.realpath(py)) or "libpython3.11" in info["lib"]
    finally:
        t.kill()


@pytest.mark.parametrize("version", ["3.11.7", "3.12.1", "3.13.0"])
def test_injection_mechanism_each_version(tmp_path, version):
    """The ptrace injection itself, without pytm: the bootstrap writes a
    file. This runs on every interpreter present, whether or not pytm is
    built for it."""
    py = "%s/%s/bin/python3" % (PYENV, version)
    if not os.path.exists(py):
        pytest.skip("no CPython %s at %s" % (version, py))
    from pytm import _attach
    t = Target(tmp_path, python=py, nthreads=2)
    try:
        info = _attach.probe(t.pid)
        assert "%d.%d.%d" % (info["version_hex"] >> 24, info["version_hex"] >> 16 & 255,
                             info["version_hex"] >> 8 & 255) == version
        out = tmp_path / "out"
        code = ("__import__('builtins').exec(%r, {})"
                % ("import os, sys\nopen(%r, 'w').write(sys.version.split()[0])\n"
                   "os.replace(%r, %r)" % (str(out) + ".tmp", str(out) + ".tmp", str(out))))
        for _ in range(3):
            r = _attach.inject(t.pid, info["add_pending_call"], info["run_simple_string"],
                               info["syscall_insn"], code.encode(), 2000)
            assert r["ret"] == 0
            deadline = time.time() + 10
            while not out.exists() and time.time() < deadline:
                time.sleep(0.01)
            assert out.read_text() == version
            out.unlink()
        assert t.finish() == (0, "done True\n", "")
    finally:
        t.kill()


@pytest.mark.parametrize("version", ["3.12.1", "3.13.0"])
def test_attach_other_versions(tmp_path, version):
    major_minor = "".join(version.split(".")[:2])
    if not glob.glob(str(_pytm_parent() / "pytm" / ("_recorder.cpython-%s-*.so" % major_minor))):
        pytest.skip("this build tree has no pytm for CPython %s (the extension is "
                    "built for the interpreter CMake found); the injection is "
                    "tested by test_injection_mechanism_each_version" % version)
    py = "%s/%s/bin/python3" % (PYENV, version)
    t = Target(tmp_path, python=py)
    try:
        r = pytm_cmd("attach", t.pid, python=py)
        assert r.returncode == 0, r.stderr
        assert pytm_cmd("detach", t.pid, python=py).returncode == 0
        assert t.finish() == (0, "done True\n", "")
    finally:
        t.kill()
