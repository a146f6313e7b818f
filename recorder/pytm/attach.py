"""``python -m pytm attach PID`` / ``python -m pytm detach PID``.

Starts (or stops) tracing inside a running CPython 3.11-3.13 process
that never imported pytm. The checks below refuse, with one line and
exit status 1, every case where attaching cannot work or would be
unsafe; then ``pytm._attach`` borrows the target's main thread with
ptrace for one call of ``Py_AddPendingCall(PyRun_SimpleString, boot)``
(attach/inject.h), and the interpreter runs ``boot`` at its next check
of the eval loop, in the main thread with the GIL: it imports
``pytm._attach_boot`` from this very pytm's directory and starts or
stops tracing, then writes a status file that we wait for. How it works
and what can go wrong: docs/attach.md.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import tempfile
import time
from typing import List, Optional

from . import _attach
from ._run import _positive_int  # the same argument rules as `pytm run`

SUPPORTED = ((3, 11), (3, 12), (3, 13))
YAMA_PATH = "/proc/sys/kernel/yama/ptrace_scope"
CAP_SYS_PTRACE = 19

# The bootstrap PyRun_SimpleString runs in the target's __main__: one
# expression, so that it binds no name there; exec'd with fresh globals.
# It must never raise (a failing pending call raises SystemError in the
# target), so every exception becomes a status file.
_BOOT = '''\
try:
    import sys
    _d = %(dir)r
    sys.path.insert(0, _d)
    try:
        import pytm._attach_boot as _b
    finally:
        if _d in sys.path:
            sys.path.remove(_d)
    _b.run(%(req)r)
except BaseException as _e:
    try:
        import os
        with open(%(status)r + ".tmp", "w") as _f:
            _f.write("%%s: %%s" %% (type(_e).__name__, _e))
        os.replace(%(status)r + ".tmp", %(status)r)
    except BaseException:
        pass
    if isinstance(_e, KeyboardInterrupt):
        import _thread
        _thread.interrupt_main()
'''


class Refusal(Exception):
    """One line saying why we will not (or could not) attach."""


def pytm_dir() -> str:
    """The directory holding the pytm package this command runs from."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _status_field(pid: int, name: str) -> Optional[str]:
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(name + ":"):
                    return line.split(":", 1)[1].strip()
    except FileNotFoundError:
        raise Refusal("no such process: PID %d" % pid) from None
    except PermissionError:
        raise Refusal("cannot read /proc/%d/status: permission denied" % pid) from None
    return None


def _user(uid: int) -> str:
    try:
        import pwd
        return "%s (uid %d)" % (pwd.getpwuid(uid).pw_name, uid)
    except (KeyError, ImportError):
        return "uid %d" % uid


def yama_refusal(value: str, has_cap: bool, pid: int) -> Optional[str]:
    """Why kernel.yama.ptrace_scope = value forbids us to ptrace pid, or
    None when it allows it (we are never the target's parent)."""
    if value == "0":
        return None
    if value in ("1", "2") and has_cap:
        return None
    why = {"1": "restricted: only a process's ancestors may ptrace it",
           "2": "admin-only: ptrace needs CAP_SYS_PTRACE",
           "3": "no attach: ptrace attach is disabled until reboot"}.get(
               value, "unknown value")
    fix = ("" if value == "3" else
           "; run as root (or with CAP_SYS_PTRACE), or "
           "`sysctl kernel.yama.ptrace_scope=0`")
    return ("kernel.yama.ptrace_scope = %s (%s) forbids attaching to PID %d%s"
            % (value, why, pid, fix))


def _has_cap_sys_ptrace() -> bool:
    caps = _status_field(os.getpid(), "CapEff") or "0"
    return bool(int(caps, 16) >> CAP_SYS_PTRACE & 1)


def check_process(pid: int) -> None:
    """The checks that need only /proc: raises Refusal."""
    if pid <= 0:
        raise Refusal("no such process: PID %d" % pid)
    if pid == os.getpid():
        raise Refusal("PID %d is this command itself" % pid)
    tgid = _status_field(pid, "Tgid")
    if tgid is not None and int(tgid) != pid:
        raise Refusal("PID %d is a thread of process %s: attach to %s"
                      % (pid, tgid, tgid))
    state = (_status_field(pid, "State") or "?")[0]
    if state in "ZX":
        raise Refusal("no such process: PID %d has exited (zombie)" % pid)
    if state in "tT":
        raise Refusal("PID %d is stopped (SIGSTOP or a debugger): continue it "
                      "first (kill -CONT %d)" % (pid, pid))
    uids = (_status_field(pid, "Uid") or "").split()
    me = os.geteuid()
    if len(uids) >= 2 and (int(uids[0]) != me or int(uids[1]) != me):
        owner = int(uids[1]) if int(uids[1]) != me else int(uids[0])
        raise Refusal("PID %d belongs to another user, %s; you are %s: attach "
                      "only to your own processes (run the command as that user)"
                      % (pid, _user(owner), _user(me)))
    path = os.environ.get("PYTM_YAMA_PTRACE_SCOPE", YAMA_PATH)  # tests
    try:
        with open(path) as f:
            value = f.read().strip()
    except FileNotFoundError:
        value = "0"  # no Yama LSM: only the uid rule, checked above
    why = yama_refusal(value, value in ("1", "2") and _has_cap_sys_ptrace(), pid)
    if why:
        raise Refusal(why)
    try:
        theirs = os.readlink("/proc/%d/ns/mnt" % pid)
        ours = os.readlink("/proc/self/ns/mnt")
    except OSError:
        theirs = ours = ""
    if theirs != ours:
        raise Refusal("PID %d is in another mount namespace (a container?): run "
                      "python -m pytm attach inside it, with pytm installed "
                      "there (docs/attach.md)" % pid)


def _version(hexv: int) -> tuple:
    return hexv >> 24, hexv >> 16 & 0xFF, hexv >> 8 & 0xFF


def probe(pid: int) -> dict:
    """Checks the target's interpreter: raises Refusal."""
    try:
        t = _attach.probe(pid)
    except _attach.AttachError as exc:
        name, msg = exc.args
        if name == "NOTPY":
            raise Refusal("PID %d is not a CPython process (%s)" % (pid, msg)) from None
        if name == "NOPROC":
            raise Refusal("no such process: PID %d" % pid) from None
        raise Refusal("cannot inspect PID %d: %s" % (pid, msg)) from None
    major, minor, micro = _version(t["version_hex"])
    t["version"] = "%d.%d.%d" % (major, minor, micro)
    if t["version_hex"] == 0:
        raise Refusal("PID %d runs a CPython older than 3.11 (%s exports no "
                      "Py_Version); pytm supports 3.11, 3.12 and 3.13"
                      % (pid, t["lib"]))
    if (major, minor) not in SUPPORTED:
        later = (" (on 3.14, sys.remote_exec is the way; docs/attach.md)"
                 if (major, minor) >= (3, 14) else "")
        raise Refusal("PID %d runs CPython %s; pytm supports 3.11, 3.12 and "
                      "3.13%s" % (pid, t["version"], later))
    here = os.path.join(pytm_dir(), "pytm")
    tag = "%d%d" % (major, minor)
    if not glob.glob(os.path.join(here, "_recorder.cpython-%s-*.so" % tag)):
        built = sorted({os.path.basename(p).split(".")[1]
                        for p in glob.glob(os.path.join(here, "_recorder.*.so"))})
        raise Refusal("PID %d runs CPython %s, but the pytm in %s is built for %s "
                      "only: use a pytm built for %d.%d (python%d.%d -m pytm "
                      "attach %d)" % (pid, t["version"], here,
                                      ", ".join(built) or "no version",
                                      major, minor, major, minor, pid))
    return t


def _arena(pid: int):
    return _attach.arena_state(pid, os.environ.get("PYTM_SHM_DIR") or None)


def request(pid: int, action: str, nframe: int = 1,
            interval: Optional[int] = None, timeout: float = 10.0) -> dict:
    """Attaches ("attach") or detaches ("detach") and returns the target's
    status (a dict with "arena", ...) plus "held_ns" (how long its main
    thread was held) and "probe". Raises Refusal."""
    check_process(pid)
    state = _arena(pid)
    if action == "attach" and state and state[0] == "running":
        raise Refusal("PID %d is already traced by pytm (arena %s): view it with "
                      "pytmtop -p %d" % (pid, state[1], pid))
    if action == "detach" and not (state and state[0] == "running"):
        raise Refusal("PID %d is not traced by pytm (no live arena %s)"
                      % (pid, state[1] if state else "pytm-%d" % pid))
    t = probe(pid)
    work = tempfile.mkdtemp(prefix="pytm-attach-%d-" % pid)
    try:
        status = os.path.join(work, "status")
        req = {"action": action, "status": status,
               "cancel": os.path.join(work, "cancel"),
               "nframe": nframe, "interval": interval}
        boot = _BOOT % {"dir": pytm_dir(), "req": req, "status": status}
        code = "__import__('builtins').exec(%r, {})" % boot
        try:
            r = _attach.inject(pid, t["add_pending_call"], t["run_simple_string"],
                               t["syscall_insn"], code.encode(), 2000)
        except _attach.AttachError as exc:
            name, msg = exc.args
            if name == "PERM":
                raise Refusal("the kernel refused to let us ptrace PID %d (%s): "
                              "see kernel.yama.ptrace_scope and CAP_SYS_PTRACE"
                              % (pid, msg)) from None
            raise Refusal("could not borrow the main thread of PID %d: %s"
                          % (pid, msg)) from None
        if r["ret"] != 0:
            raise Refusal("PID %d refused the pending call (Py_AddPendingCall "
                          "returned %d: its queue is full); try again" % (pid, r["ret"]))
        result = _wait(status, timeout)
        if result is None:
            open(req["cancel"], "w").close()
            result = _wait(status, 0.05)  # it may have started just now
            if result is None:
                raise Refusal(
                    "PID %d ran no Python code in its main thread within %g s (a "
                    "long sleep or C call?); the request is cancelled "
                    "(--timeout; docs/attach.md)" % (pid, timeout))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not isinstance(result, dict):
        raise Refusal("PID %d could not load pytm from %s: %s"
                      % (pid, pytm_dir(), result))
    if not result.get("ok"):
        err = result.get("error")
        if err == "ALREADY":
            raise Refusal("PID %d is already traced by pytm (arena %s)"
                          % (pid, result.get("arena")))
        if err == "NOTTRACED":
            raise Refusal("PID %d is not traced by pytm" % pid)
        raise Refusal("PID %d could not %s: %s"
                      % (pid, "start tracing" if action == "attach"
                         else "stop tracing", result.get("message")))
    result["held_ns"] = r["held_ns"]
    result["probe"] = t
    return result


def _wait(path: str, timeout: float):
    end = time.monotonic() + timeout
    while True:
        try:
            with open(path) as f:
                text = f.read()
        except FileNotFoundError:
            text = None
        if text is not None:
            try:
                return json.loads(text)
            except ValueError:
                return text.strip()  # the bootstrap's own error line
        if time.monotonic() >= end:
            return None
        time.sleep(0.002)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0: %r" % text)
    return value


def main(argv: List[str]) -> int:
    action = argv[0]
    p = argparse.ArgumentParser(
        prog="python -m pytm " + action,
        description=("start tracing in a running CPython 3.11-3.13 process"
                     if action == "attach" else
                     "stop tracing in a process and restore its allocators"))
    p.add_argument("pid", type=int, metavar="PID")
    if action == "attach":
        p.add_argument("--interval", type=_positive_int, default=None,
                       metavar="BYTES", help="mean sampling interval in bytes "
                       "(1: exact; default: pytm's)")
        p.add_argument("--nframe", type=_positive_int, default=1, metavar="N",
                       help="frames per traceback (default 1)")
    p.add_argument("--timeout", type=_positive_float, default=10.0, metavar="SECONDS",
                   help="how long the target's main thread may take to run "
                        "Python code again (default 10)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv[1:])
    prog = "python -m pytm " + action
    try:
        res = request(args.pid, action, nframe=getattr(args, "nframe", 1),
                      interval=getattr(args, "interval", None), timeout=args.timeout)
    except Refusal as why:
        print("%s: %s" % (prog, why), file=sys.stderr)
        return 1
    if args.json:
        res.pop("probe", None)
        print(json.dumps(res))
    elif action == "attach":
        print("pytm: tracing PID %d (CPython %s) into %s, sample interval %d bytes "
              "(main thread held %.2f ms); view it with: pytmtop -p %d; stop with: "
              "python -m pytm detach %d"
              % (args.pid, res["probe"]["version"], res["arena"], res["interval"],
                 res["held_ns"] / 1e6, args.pid, args.pid))
    else:
        print("pytm: PID %d no longer traced (allocators restored, arena %s removed)"
              % (args.pid, res["arena"]))
    return 0
