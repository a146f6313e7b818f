"""Per-thread figures of a snapshot: ``Snapshot.thread_statistics()``.

The arena keeps one traceback per (stack, thread); the reader merges
them back per stack for everything tracemalloc-shaped and keeps the
per-thread parts aside (model/snap_threads.h). This module turns those
parts into one ``ThreadStatistic`` per thread.
"""

from __future__ import annotations

__all__ = ["ThreadStatistic"]

UNKNOWN = "<unknown>"


class ThreadStatistic:
    """Memory a thread allocated that is still alive in a snapshot: total
    ``size`` in bytes and ``count`` of blocks (estimates in sampled
    mode, like ``Statistic``).

    ``name`` is the thread's ``threading`` name when pytm learnt it (the
    threads alive at ``start()`` and those started later through
    ``threading.Thread.start``), else its pthread name, else
    ``"<unknown>"``. ``ident`` is ``threading.get_ident()`` and
    ``native_id`` the OS thread id (``Thread.native_id``). Threads that
    exited keep their row while their blocks live.

    The row named ``"<unknown>"`` with ``ident`` and ``native_id`` 0
    holds what cannot be given to one thread: blocks recorded without
    the GIL or without a Python frame, threads past the identity table
    (``info()["threads_unknown"]``), stacks whose per-thread split
    budget ran out (``info()["stacks_folded"]``), and all of a snapshot
    that has no per-thread figures (built from raw traces, converted
    from the stdlib, or made by ``filter_traces``).
    """

    __slots__ = ("name", "ident", "native_id", "size", "count")

    def __init__(self, name: str, ident: int, native_id: int, size: int,
                 count: int) -> None:
        self.name = name
        self.ident = ident
        self.native_id = native_id
        self.size = size
        self.count = count

    def _key(self) -> tuple:
        return (self.name, self.ident, self.native_id, self.size, self.count)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ThreadStatistic):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return ("<ThreadStatistic name=%r ident=%i native_id=%i size=%i "
                "count=%i>" % self._key())


def thread_statistics(data) -> list:
    """ThreadStatistic rows of SnapData ``data``, biggest first (then by
    count, then by name), threads with no live figure left out."""
    rows = [ThreadStatistic(*r) for r in data.thread_stats()]
    rows.sort(key=lambda t: (-t.size, -t.count, t.name, t.native_id))
    return rows
