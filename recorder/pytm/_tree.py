"""Following a process tree under ``python -m pytm run`` (docs/arena.md,
"Process trees").

Fork children: the recorder itself (recorder/core/session.c) restarts
tracing in the child into a named, kept arena that records the parent
and the tree's root.

Spawned Python children (multiprocessing 'spawn' and 'forkserver',
``subprocess`` of ``sys.executable``, any Python that inherits the
environment): the root exports ``PYTM_FOLLOW`` (the root's identity and
its settings) and prepends ``pytm/_boot`` to ``PYTHONPATH``. That
directory holds only ``sitecustomize.py``, which the child's ``site``
module imports at startup; it starts tracing (``start_child``), takes
itself off ``sys.path`` and then imports the user's own
``sitecustomize`` if there is one, so nothing is shadowed. Why this and
not the alternatives: multiprocessing's spawn runs ``python -c 'from
multiprocessing.spawn import spawn_main ...'`` and a plain subprocess
runs whatever it is given, so there is no argv to rewrite in general;
patching ``multiprocessing.spawn.get_command_line`` would miss
``subprocess``; a ``.pth`` file needs a writable site directory and
would act on every Python of that environment, not only this tree.
Children run with ``-S``, ``-I`` or ``-E`` skip site or PYTHONPATH and
are not traced.

Arenas of children are kept at their exit (state EXITED, so pytmtop
shows their last figures); the root removes its tree's arenas at exit
(``clean_at_exit``) unless ``--keep``. Meanwhile every new member of the
tree, as it starts, removes the arenas of dead members whose last sign
of life is older than GRACE_S, and all but the KEEP_DEAD most recent
ones (``reap``): each arena holds its tables' pages in tmpfs, and
a long-lived root with recycled workers (gunicorn max_requests, Pool
maxtasksperchild) would otherwise pile them up. A running pytmtop keeps
the figures it has read. A root killed by a signal leaves the arenas
behind: ``pytmtop --clean`` removes arenas of dead processes.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import Optional

ENV = "PYTM_FOLLOW"
GRACE_S = 10.0  # a dead member's arena stays at least this long ...
KEEP_DEAD = 8   # ... unless more than this many dead ones are younger
_reaper_installed = False
BOOT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_boot")


def _proc_start_ticks(pid: int) -> int:
    """Field 22 of /proc/PID/stat (0 when unreadable), as the arena
    header's proc_start_ticks."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
        return int(data[data.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def export_env(nframe: int, interval: int, arena_size: Optional[int],
               keep: bool) -> None:
    """Root side: makes children of this process follow (os.environ is
    inherited by fork, spawn and subprocess alike)."""
    root = os.getpid()
    os.environ[ENV] = "%d:%d:%d:%d:%d:%d" % (
        root, _proc_start_ticks(root), nframe, interval, arena_size or 0,
        1 if keep else 0)
    _install_reaper()
    path = os.environ.get("PYTHONPATH")
    parts = path.split(os.pathsep) if path else []
    if BOOT_DIR not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([BOOT_DIR] + parts)


def parse_env(value: str) -> Optional[tuple]:
    """(root, root_ticks, nframe, interval, arena_size, keep) or None
    when the variable is malformed (then the child is simply not
    traced)."""
    try:
        f = [int(x) for x in value.split(":")]
    except ValueError:
        return None
    if len(f) != 6 or f[0] <= 0 or f[0] > 0x7FFFFFFF or f[1] < 0 \
            or not 1 <= f[2] <= 65535 or f[3] < 1 or f[4] < 0 \
            or f[5] not in (0, 1):
        return None
    return tuple(f)


def start_child() -> bool:
    """Child side (called by _boot/sitecustomize.py): starts tracing as
    a member of the tree named by $PYTM_FOLLOW. Returns True when
    tracing. Never raises: a child that cannot be traced runs anyway."""
    parsed = parse_env(os.environ.get(ENV, ""))
    if parsed is None:
        return False
    root, ticks, nframe, interval, arena_size, _ = parsed
    if root == os.getpid():
        return False
    try:
        from . import _tracing
        if _tracing.is_tracing():
            return True
        _tracing.start(nframe, sample_interval=interval, keep=True,
                       arena_size=arena_size or None,
                       _tree=(root, ticks, os.getppid()))
    except Exception as exc:  # the child must run even untraced
        print("pytm: not tracing child %d: %s" % (os.getpid(), exc),
              file=sys.stderr)
        return False
    _install_reaper()
    reap()
    return True


def reap() -> int:
    """A member starting: removes dead members' old arenas (see the
    module's docstring). No-op with --keep. Returns the number removed;
    never raises."""
    parsed = parse_env(os.environ.get(ENV, ""))
    if parsed is None or parsed[5]:
        return 0
    try:
        from . import _recorder
        return _recorder._reap_tree(parsed[0], parsed[1], GRACE_S,
                                    KEEP_DEAD)
    except (OSError, ValueError):
        return 0


def _install_reaper() -> None:
    """Fork children of this process reap as they start (after pytm's
    own after-fork hook, registered at import, restarted tracing)."""
    global _reaper_installed
    if not _reaper_installed:
        os.register_at_fork(after_in_child=reap)
        _reaper_installed = True


def clean_at_exit(keep: bool) -> None:
    """Root side: registers the removal of the tree's child arenas at
    interpreter exit (after the target's own atexit handlers, e.g.
    multiprocessing's, which join or terminate the workers first: atexit
    runs last-registered first and those register while the target
    runs). No-op with keep."""
    if keep:
        return
    from . import _recorder
    ident = _recorder._tree_identity()
    if ident is None:
        return
    root, ticks, _ = ident

    def _clean() -> None:
        if os.getpid() != root:
            return  # a fork child inherited the registration
        try:
            _recorder._clean_tree(root, ticks)
        except OSError as exc:
            print("pytm: %s" % exc, file=sys.stderr)

    atexit.register(_clean)
