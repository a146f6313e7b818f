"""Tracing control: the tracemalloc-compatible start/stop/counters API.

Thin wrappers over the C extension ``pytm._recorder``; argument checking
matches the stdlib ``tracemalloc`` (same exception types and messages),
plus pytm's own options (``sample_interval``, ``keep``, ``arena_size``).

Process lifecycle:

* at interpreter exit, an ``atexit`` hook ends the session (the arena is
  unlinked, or kept and marked EXITED with ``keep=True``); a C-level
  ``Py_AtExit`` handler covers interpreters that skip atexit hooks;
* after ``fork()``, tracing is off in the child: the C atfork handler
  restores the allocators before any Python code runs in the child, and
  the ``os.register_at_fork`` hook below frees the private tables. The
  child never writes into (nor unlinks) the parent's arena.
"""

from __future__ import annotations

import atexit
import operator
import os
import threading

from . import _recorder

__all__ = [
    "DEFAULT_SAMPLE_INTERVAL",
    "start",
    "stop",
    "is_tracing",
    "get_traced_memory",
    "reset_peak",
    "clear_traces",
    "get_traceback_limit",
    "get_tracemalloc_memory",
    "get_sample_interval",
    "arena_path",
    "get_object_traceback_index",
]

#: Mean sampling interval in bytes used when ``start()`` is not given one.
DEFAULT_SAMPLE_INTERVAL: int = _recorder.DEFAULT_SAMPLE_INTERVAL

_MAX_NFRAME = _recorder.MAX_NFRAME
_INT_MAX = 2**31 - 1  # nframe is a C int in the stdlib
_atexit_registered = False


def _check_int(value, name: str) -> int:
    # operator.index: the stdlib's TypeError and message for non-ints
    # ("'float' object cannot be interpreted as an integer").
    return operator.index(value)


def start(nframe: int = 1, *, sample_interval: int | None = None,
          keep: bool = False, arena_size: int | None = None,
          _tree: tuple | None = None) -> None:
    """Start tracing Python memory allocations.

    ``nframe``: frames stored per traceback, 1..65535 (like tracemalloc).
    ``sample_interval``: mean bytes between samples (Poisson by bytes,
    unbiased weights); 1 traces every allocation exactly like the stdlib
    tracemalloc. ``None`` means ``DEFAULT_SAMPLE_INTERVAL``.
    ``keep``: leave the shared-memory arena (in ``$PYTM_SHM_DIR``, default
    /dev/shm) after stop()/exit.
    ``arena_size``: arena size in bytes (``None``: the default).
    ``_tree`` (private, for pytm run and its children, see _tree.py):
    ``(root_pid, root_ticks, parent_pid)``, root_pid 0 for the root.

    Environment: ``PYTM_SAMPLE_INTERVAL`` (used when ``sample_interval``
    is None), ``PYTM_SEED`` (an integer: deterministic sampler seeds, for
    reproducible runs), ``PYTM_SHM_DIR`` (directory of the arena).

    When already tracing, does nothing (the running session keeps its
    settings), like ``tracemalloc.start()``.
    """
    global _atexit_registered
    # Same checks and messages as the stdlib (Modules/_tracemalloc.c).
    nframe = _check_int(nframe, "nframe")
    if not -_INT_MAX - 1 <= nframe <= _INT_MAX:
        # the stdlib converts to a C int first
        raise OverflowError("Python int too large to convert to C int")
    if nframe < 1 or nframe > _MAX_NFRAME:
        raise ValueError("the number of frames must be in range [1; %d]"
                         % _MAX_NFRAME)
    kwargs = {"keep": bool(keep)}
    if sample_interval is None and os.environ.get("PYTM_SAMPLE_INTERVAL"):
        # `import pytm as tracemalloc` in exact mode: PYTM_SAMPLE_INTERVAL=1
        try:
            sample_interval = int(os.environ["PYTM_SAMPLE_INTERVAL"])
        except ValueError:
            raise ValueError("PYTM_SAMPLE_INTERVAL must be an integer >= 1, "
                             "got %r" % os.environ["PYTM_SAMPLE_INTERVAL"]
                             ) from None
    if sample_interval is not None:
        sample_interval = _check_int(sample_interval, "sample_interval")
        if sample_interval < 1:
            raise ValueError("sample_interval must be >= 1, got %d"
                             % sample_interval)
        kwargs["sample_interval"] = sample_interval
    if arena_size is not None:
        arena_size = _check_int(arena_size, "arena_size")
        kwargs["arena_size"] = arena_size
    seed = os.environ.get("PYTM_SEED")
    if seed:
        try:
            kwargs["seed"] = int(seed, 0)
        except ValueError:
            raise ValueError("PYTM_SEED must be an integer, got %r"
                             % seed) from None
    if _tree is not None:
        kwargs["tree"] = True
        kwargs["tree_root"], kwargs["tree_root_ticks"], \
            kwargs["parent_pid"] = _tree
    # Registered before the hooks are installed, so that the atexit
    # entry's allocation is never traced (the stdlib shows none).
    if not _atexit_registered:
        atexit.register(_recorder._atexit)
        _atexit_registered = True
    names = [(t.ident, t.native_id, t.name) for t in threading.enumerate()
             if t.ident is not None and t.native_id is not None]
    _wrap_thread_start()  # before the hooks: the class dict may grow
    _recorder.start(nframe, **kwargs)
    _name_threads(names)


# ---- thread names (the per-thread figures, model/snap_threads.h) ------
#
# The arena stores each recording thread's OS identity (tid, ident,
# pthread name) when it first records; its Python name comes from here,
# keyed by (ident, native_id), which the recorder matches against the
# identity table or keeps pending until the thread claims its identity:
#  - the threads alive at start(): threading.enumerate();
#  - threads started later: threading.Thread.start is wrapped (from
#    start(), before the hooks are installed, so the class dict change
#    is not traced; undone at stop()). The wrapper runs in the starting
#    thread, after the original start() has waited for the new thread's
#    ident and native_id, and passes one (ident, native_id, name) tuple,
#    freed at once: nothing is left traced, no frame is added to the new
#    thread's stacks (unlike wrapping run or _bootstrap_inner), and
#    nothing runs per allocation or per event.
# Rejected: a one-shot threading.setprofile hook (on 3.12 it left 136 B
# more in the snapshot than get_traced_memory() reported in
# test_versions.py::test_subinterpreters_allocating_do_not_break_totals,
# a profile hook being per-interpreter state), and refreshing names only
# in take_snapshot() (a live pytmtop reads the arena without any
# snapshot being taken). Threads not started through threading.Thread
# (C threads, _thread.start_new_thread) keep their pthread name. The
# first name given for a thread stays (a later rename is not seen).

_thread_start = threading.Thread.start  # the original, restored by stop()


def _start_named(self, *args, **kwargs):
    _thread_start(self, *args, **kwargs)
    if _recorder.is_tracing() and self.native_id is not None:
        _recorder._set_thread_names([(self.ident, self.native_id,
                                      self.name)])


_start_named.__doc__ = _thread_start.__doc__
_start_named.__wrapped__ = _thread_start


def _wrap_thread_start() -> None:
    if threading.Thread.start is _thread_start:
        threading.Thread.start = _start_named


def _unwrap_thread_start() -> None:
    # a wrapper someone installed over ours stays
    if threading.Thread.start is _start_named:
        threading.Thread.start = _thread_start


def _name_threads(names) -> None:
    if _recorder.is_tracing():
        _recorder._set_thread_names(names)


def stop() -> None:
    """Stop tracing: restore the previous allocators, clear the traces and
    close the arena (removed unless started with ``keep=True``)."""
    _recorder.stop()
    _unwrap_thread_start()  # after the hooks are gone: not traced


def is_tracing() -> bool:
    """True if pytm is tracing memory allocations."""
    return _recorder.is_tracing()


def get_traced_memory() -> tuple[int, int]:
    """(current, peak) size in bytes of the traced memory blocks.

    Exact in exact mode (``sample_interval=1``); unbiased estimates when
    sampling. (0, 0) when not tracing."""
    return _recorder.get_traced_memory()


def reset_peak() -> None:
    """Set the peak size of traced memory blocks to the current size."""
    _recorder.reset_peak()


def clear_traces() -> None:
    """Forget every trace of memory blocks allocated so far."""
    _recorder.clear_traces()


def get_traceback_limit() -> int:
    """Maximum number of frames stored in a traceback."""
    return _recorder.get_traceback_limit()


def get_tracemalloc_memory() -> int:
    """Bytes used by pytm itself: private tables plus arena bytes in use."""
    return _recorder.get_tracemalloc_memory()


def get_sample_interval() -> int:
    """Mean sampling interval (bytes) of the last ``start()``; 1 = exact."""
    return _recorder.get_sample_interval()


def arena_path() -> str | None:
    """Path of the live shared-memory arena (read by ``pytmtop -p PID``),
    or None when not tracing."""
    return _recorder.arena_path()


def get_object_traceback_index(obj) -> int | None:
    """Arena traceback index of the block holding ``obj``, or None when
    that block was not recorded (not tracing, allocated before start(),
    or not sampled)."""
    return _recorder.get_object_traceback_index(obj)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_recorder._after_fork_child)
