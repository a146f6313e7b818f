"""One child process: start, wait with wait4() for its rusage, read its
JSON result. Whole-process wall time is measured here, from just before
fork/exec to the reaped exit."""

import ctypes
import json
import os
import shutil
import subprocess
import tempfile
import time


class ChildFailed(RuntimeError):
    pass


# personality(2): ADDR_NO_RANDOMIZE (linux/personality.h) turns address
# space layout randomisation off for the programs this process execs next.
ADDR_NO_RANDOMIZE = 0x0040000
_QUERY = 0xFFFFFFFF


def no_aslr_fn():
    """A preexec_fn (resolved here, in the parent) that sets
    ADDR_NO_RANDOMIZE before exec, or None without libc's personality().
    Where the kernel refuses it (a seccomp profile may) ASLR stays on;
    the child reports what it got (child.py, `layout_fixed`)."""
    try:
        personality = ctypes.CDLL(None).personality
    except (OSError, AttributeError):
        return None
    personality.argtypes = [ctypes.c_ulong]
    personality.restype = ctypes.c_int

    def preexec():
        cur = personality(_QUERY)
        if cur != -1:
            personality(cur | ADDR_NO_RANDOMIZE)
    return preexec


def layout_fixed():
    """True when this process runs with ASLR off (read by child.py)."""
    try:
        with open("/proc/self/personality") as f:
            return bool(int(f.read(), 16) & ADDR_NO_RANDOMIZE)
    except (OSError, ValueError):
        return False


def wait_rusage(proc, timeout):
    """Reaps `proc` (a Popen) with wait4; returns (status, rusage).
    Kills it (by its own pid) if it outlives `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, ru
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, ru = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            raise ChildFailed("timed out after %.0f s" % timeout)
        time.sleep(0.002)


def peak_rss_kib(res, ru):
    """The child's own peak RSS: the VmHWM it wrote into its result (key
    `hwm_kib`); wait4's ru_maxrss only when it could not read it."""
    hwm = res.get("hwm_kib")
    return hwm if hwm else ru.ru_maxrss


def run_child(tracer, python, child_argv, env, timeout=600, stdin=None,
              on_ready=None, fixed_layout=False):
    """Runs one measurement. Returns the child's JSON dict plus `wall`
    (whole-process seconds), `maxrss_kib` (the child's own peak RSS: the
    VmHWM it reported at the end of run(); harness/rss.py), `ru_maxrss_kib`
    (wait4's figure, which counts the parent's RSS at fork) and
    `utime`/`stime`. With on_ready, the child is started with --handshake:
    on_ready(pid) runs once it has started its tracer and the child
    proceeds when on_ready returns. With fixed_layout, the child runs with
    ASLR off so that a seeded sampled run can be repeated exactly
    (docs/benchmarks.md, "Repeatable sampled runs")."""
    tmpdir = tempfile.mkdtemp(prefix="pytm-bench-")
    try:
        out_path = os.path.join(tmpdir, "result.json")
        argv = list(child_argv) + ["--out", out_path]
        if on_ready is not None:
            argv.append("--handshake")
        cmd = tracer.command(python, argv, tmpdir)
        err_path = os.path.join(tmpdir, "stderr.txt")
        with open(err_path, "w") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                cmd, env=env, stderr=err,
                stdout=subprocess.PIPE if on_ready else subprocess.DEVNULL,
                stdin=subprocess.PIPE if on_ready else subprocess.DEVNULL,
                preexec_fn=no_aslr_fn() if fixed_layout else None)
            if on_ready is not None:
                line = proc.stdout.readline().decode()
                if not line.startswith("READY"):
                    proc.kill()
                    wait_rusage(proc, 10)
                    raise ChildFailed("no READY line: %r" % line)
                on_ready(proc.pid)
                proc.stdin.write(b"GO\n")
                proc.stdin.close()
            rc, ru = wait_rusage(proc, timeout)
            wall = time.perf_counter() - t0
            if on_ready is not None:
                proc.stdout.close()
        if rc != 0 or not os.path.exists(out_path):
            with open(err_path) as f:
                tail = f.read()[-2000:]
            raise ChildFailed("%s exited %s: %s" % (" ".join(cmd), rc, tail))
        with open(out_path) as f:
            res = json.load(f)
        res["wall"] = wall
        res["ru_maxrss_kib"] = ru.ru_maxrss
        res["maxrss_kib"] = peak_rss_kib(res, ru)
        res["utime"] = ru.ru_utime
        res["stime"] = ru.ru_stime
        return res
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
