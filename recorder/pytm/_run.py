"""``python -m pytm run``: run a script or module under pytm.

    python -m pytm run [--interval BYTES] [--nframe N] [--keep]
                       [--arena-size BYTES] [--no-follow]
                       script.py [args...]
    python -m pytm run [options] -m module [args...]
    python -m pytm attach PID [--interval BYTES] [--nframe N]  (attach.py)
    python -m pytm detach PID

Tracing starts before the target's first line; the target runs as
``__main__`` with ``sys.argv`` set as ``python script.py args`` would set
it (runpy.run_path / runpy.run_module). The arena path and the
``pytmtop -p PID`` hint are printed to stderr. The exit status is the
target's (SystemExit is honoured; an uncaught exception prints its
traceback and exits 1, like the interpreter). Usage errors and a missing
script exit 2 with a message.

Children are followed unless ``--no-follow``: fork children and spawned
Python children (multiprocessing spawn/forkserver, subprocess of
sys.executable) trace into their own named arenas that record their
parent and this process as the tree's root; ``pytmtop -p PID
--children`` shows the tree. At exit the children's arenas are removed
unless ``--keep`` (see _tree.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import runpy
import sys
import traceback
from typing import List, Optional

from . import _tracing, _tree


def _positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError("not an integer: %r" % text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1: %r" % text)
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pytm",
        description="pytm: sampling memory profiler (tracemalloc superset)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    run = sub.add_parser(
        "run", help="run a script or module with tracing on",
        usage="python -m pytm run [options] (script.py | -m module) "
              "[args...]")
    run.add_argument("--interval", type=_positive_int, default=None,
                     metavar="BYTES",
                     help="mean sampling interval in bytes (1: exact; "
                          "default %d)" % _tracing.DEFAULT_SAMPLE_INTERVAL)
    run.add_argument("--nframe", type=_positive_int, default=1,
                     metavar="N", help="frames per traceback (default 1)")
    run.add_argument("--keep", action="store_true",
                     help="keep the arena (in $PYTM_SHM_DIR, default /dev/shm) "
                          "after exit")
    run.add_argument("--no-follow", dest="follow", action="store_false",
                     help="trace this process only (default: also fork "
                          "and spawned Python children, see pytmtop "
                          "--children)")
    run.add_argument("--arena-size", type=_positive_int, default=None,
                     metavar="BYTES", help="arena size in bytes")
    run.add_argument("-m", dest="module", default=None, metavar="MODULE",
                     help="run a library module as a script")
    run.add_argument("target", nargs=argparse.REMAINDER,
                     help="script path and its arguments")
    sub.add_parser("attach", help="start tracing in a running process: "
                   "attach PID [--interval BYTES] [--nframe N] [--timeout S]")
    sub.add_parser("detach", help="stop tracing in a process: detach PID")
    sub.add_parser("export", help="convert a .pytm dump or a live arena: "
                   "export (DUMP | --pid PID) -o OUT "
                   "[--format pprof|collapsed|html] [--title T]")
    return p


def _split_argv(argv: List[str]) -> tuple:
    """Splits off everything after the target (script or -m MODULE) so
    that the target's own options never reach our parser."""
    value_opts = {"--interval", "--nframe", "--arena-size"}
    i = 1 if argv and argv[0] == "run" else 0
    while i < len(argv):
        a = argv[i]
        if a == "-m":
            return argv[:i + 2], argv[i + 2:]
        if a == "--":
            return argv[:i], argv[i + 1:]
        if a in value_opts:
            i += 2
            continue
        if a.startswith("-"):
            i += 1
            continue
        return argv[:i + 1], argv[i + 1:]
    return argv, []


def main(argv: Optional[List[str]] = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] in ("attach", "detach"):
        from . import attach  # python -m pytm attach|detach PID (attach.py)
        return attach.main(list(argv))
    if argv and argv[0] == "export":
        from . import export  # python -m pytm export DUMP -o OUT
        return export.main(list(argv[1:]))
    ours, rest = _split_argv(list(argv))
    parser = _parser()
    args = parser.parse_args(ours)  # exits 2 on usage errors
    if args.module is None and not args.target:
        parser.error("run: a script path or -m MODULE is required")
    if args.module is not None and args.target:
        rest = args.target + rest
    elif args.module is None:
        rest = args.target[1:] + rest

    if args.module is None:
        script = args.target[0]
        if not os.path.exists(script):
            print("python -m pytm run: can't open file %r: "
                  "No such file or directory" % script, file=sys.stderr)
            return 2
        sys.argv = [script] + rest
        # Like `python script.py`: the script's directory comes first.
        sys.path[0] = os.path.dirname(os.path.abspath(script))
    else:
        sys.argv = [args.module] + rest  # runpy replaces argv[0]
        sys.path[0] = os.getcwd()
        try:
            found = importlib.util.find_spec(args.module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            print("python -m pytm run: No module named %r" % args.module,
                  file=sys.stderr)
            return 2

    try:
        _tracing.start(args.nframe, sample_interval=args.interval,
                       keep=args.keep, arena_size=args.arena_size,
                       _tree=(0, 0, 0) if args.follow else None)
    except (ValueError, OSError, RuntimeError, MemoryError) as exc:
        print("python -m pytm run: cannot start tracing: %s" % exc,
              file=sys.stderr)
        return 2
    if args.follow:
        _tree.export_env(args.nframe, _tracing.get_sample_interval(),
                         args.arena_size, args.keep)
        _tree.clean_at_exit(args.keep)
    print("pytm: tracing pid %d into %s (sample interval %d bytes); "
          "view it with: pytmtop -p %d"
          % (os.getpid(), _tracing.arena_path(),
             _tracing.get_sample_interval(), os.getpid()),
          file=sys.stderr, flush=True)

    try:
        if args.module is None:
            runpy.run_path(script, run_name="__main__")
        else:
            runpy.run_module(args.module, run_name="__main__",
                             alter_sys=True)
    except SystemExit as exc:
        return _exit_code(exc)
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
