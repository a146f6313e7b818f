"""Value objects of the tracemalloc API: Frame, Traceback, Trace,
Statistic, StatisticDiff.

They behave like the classes of the stdlib ``tracemalloc`` module of
CPython 3.11 (same constructors, equality, hashing, ordering, ``repr``
and ``str``), so code written for ``tracemalloc`` works unchanged. The
additions are sampled-mode figures: ``Statistic.samples``,
``StatisticDiff.samples``/``samples_diff`` and ``Trace.count``,
``Trace.samples``, ``Trace.block_size``. None of them takes part in
equality, hashing or formatting.

Raw tuples: a frame is ``(filename, lineno)``; a traceback's frames come
most recent first (as the C layer produces them) and are stored oldest
first; a trace is ``(domain, size, frames, total_nframe)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import total_ordering
from typing import Any, Iterable, Optional

__all__ = ["Frame", "Traceback", "Trace", "Statistic", "StatisticDiff"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def _format_size(size: float, sign: bool) -> str:
    """Human size: 3 significant digits with one decimal below 100 of a
    unit above bytes, otherwise up to 5 digits, switching unit at 10 KiB
    multiples. ``sign`` adds an explicit + for diffs."""
    prefix = "%+" if sign else "%"
    for unit in _UNITS:
        if unit != "B" and abs(size) < 100:
            return (prefix + ".1f %s") % (size, unit)
        if abs(size) < 10 * 1024 or unit == _UNITS[-1]:
            return (prefix + ".0f %s") % (size, unit)
        size /= 1024
    raise AssertionError("unreachable")


@total_ordering
class Frame:
    """One frame of a traceback: a file name and a line number."""

    __slots__ = ("_frame",)

    def __init__(self, frame: tuple[str, int]) -> None:
        # frame: (filename, lineno)
        self._frame = frame

    @property
    def filename(self) -> str:
        return self._frame[0]

    @property
    def lineno(self) -> int:
        return self._frame[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return self._frame == other._frame

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return self._frame < other._frame

    def __hash__(self) -> int:
        return hash(self._frame)

    def __str__(self) -> str:
        return "%s:%s" % (self.filename, self.lineno)

    def __repr__(self) -> str:
        return "<Frame filename=%r lineno=%r>" % (self.filename, self.lineno)


@total_ordering
class Traceback(Sequence):
    """Sequence of Frame objects, from the oldest frame to the most recent.

    ``frames`` is given most recent first (the order the recorder
    captures them). ``total_nframe`` is the depth of the stack before it
    was cut to the traceback limit, or None when unknown.
    """

    __slots__ = ("_frames", "_total_nframe")

    def __init__(self, frames: Iterable[tuple[str, int]],
                 total_nframe: Optional[int] = None) -> None:
        Sequence.__init__(self)
        self._frames = tuple(reversed(tuple(frames)))
        self._total_nframe = total_nframe

    @property
    def total_nframe(self) -> Optional[int]:
        return self._total_nframe

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(Frame(f) for f in self._frames[index])
        return Frame(self._frames[index])

    def __contains__(self, frame: object) -> bool:
        return frame._frame in self._frames  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._frames)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Traceback):
            return NotImplemented
        return self._frames == other._frames

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Traceback):
            return NotImplemented
        return self._frames < other._frames

    def __str__(self) -> str:
        return str(self[0])

    def __repr__(self) -> str:
        text = "<Traceback %s" % (tuple(self),)
        if self._total_nframe is not None:
            text += " total_nframe=%s" % (self._total_nframe,)
        return text + ">"

    def format(self, limit: Optional[int] = None,
               most_recent_first: bool = False) -> list[str]:
        """Lines like the ``traceback`` module's: a ``File "...", line N``
        line per frame, followed by the source line when it is found.

        A positive ``limit`` keeps the ``limit`` most recent frames, a
        negative one the ``-limit`` oldest. Oldest first unless
        ``most_recent_first``."""
        frames: Any = self
        if limit is not None:
            frames = self[-limit:] if limit > 0 else self[:limit]
        if most_recent_first:
            frames = reversed(frames)
        lines = []
        for frame in frames:
            lines.append('  File "%s", line %s' % (frame.filename, frame.lineno))
            import linecache  # lazily: it imports tokenize
            source = linecache.getline(frame.filename, frame.lineno).strip()
            if source:
                lines.append("    %s" % source)
        return lines


class Trace:
    """One traced memory block: its domain, size and traceback.

    In sampled mode a trace is one recorded sample: ``size`` is the bytes
    it stands for (an estimate), ``count`` the blocks it stands for and
    ``block_size`` the true size of the sampled block. In exact mode
    ``count`` is 1 and ``block_size == size``.
    """

    __slots__ = ("_trace", "_weights")

    def __init__(self, trace: tuple, weights: Optional[tuple[int, int]] = None
                 ) -> None:
        # trace: (domain, size, frames most recent first[, total_nframe])
        self._trace = trace
        # weights: (est_count, block_size) of a sample, None when exact
        self._weights = weights

    @property
    def domain(self) -> int:
        return self._trace[0]

    @property
    def size(self) -> int:
        return self._trace[1]

    @property
    def traceback(self) -> Traceback:
        return Traceback(*self._trace[2:])

    @property
    def count(self) -> int:
        """Blocks this trace stands for (1 in exact mode)."""
        return 1 if self._weights is None else self._weights[0]

    @property
    def samples(self) -> int:
        """Recorded samples behind this trace: always 1."""
        return 1

    @property
    def block_size(self) -> int:
        """True size of the recorded block."""
        return self._trace[1] if self._weights is None else self._weights[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trace):
            return NotImplemented
        return self._trace == other._trace

    def __hash__(self) -> int:
        return hash(self._trace)

    def __str__(self) -> str:
        return "%s: %s" % (self.traceback, _format_size(self.size, False))

    def __repr__(self) -> str:
        return "<Trace domain=%s size=%s, traceback=%r>" % (
            self.domain, _format_size(self.size, False), self.traceback)


class Statistic:
    """Memory allocated by one group of traces (a file, a line or a
    traceback): total ``size`` in bytes and ``count`` of blocks.

    ``samples`` is how many recorded samples stand behind the figures;
    it equals ``count`` in exact mode. In sampled mode ``size`` and
    ``count`` are estimates whose relative error shrinks like
    1/sqrt(samples) (see docs/sampling.md).
    """

    __slots__ = ("traceback", "size", "count", "samples")

    def __init__(self, traceback: Traceback, size: int, count: int,
                 samples: Optional[int] = None) -> None:
        self.traceback = traceback
        self.size = size
        self.count = count
        self.samples = count if samples is None else samples

    def __hash__(self) -> int:
        return hash((self.traceback, self.size, self.count))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Statistic):
            return NotImplemented
        return (self.traceback == other.traceback
                and self.size == other.size
                and self.count == other.count)

    def __str__(self) -> str:
        text = "%s: size=%s, count=%i" % (
            self.traceback, _format_size(self.size, False), self.count)
        if self.count:
            text += ", average=%s" % _format_size(self.size / self.count, False)
        return text

    def __repr__(self) -> str:
        return "<Statistic traceback=%r size=%i count=%i>" % (
            self.traceback, self.size, self.count)

    def _sort_key(self) -> tuple:
        return (self.size, self.count, self.traceback)


class StatisticDiff:
    """Difference of one group between an old and a new snapshot: the
    new ``size``/``count`` and their change since the old snapshot.

    ``samples`` is the number of samples behind the new figures and
    ``samples_diff`` its change (equal to count and count_diff in exact
    mode)."""

    __slots__ = ("traceback", "size", "size_diff", "count", "count_diff",
                 "samples", "samples_diff")

    def __init__(self, traceback: Traceback, size: int, size_diff: int,
                 count: int, count_diff: int, samples: Optional[int] = None,
                 samples_diff: Optional[int] = None) -> None:
        self.traceback = traceback
        self.size = size
        self.size_diff = size_diff
        self.count = count
        self.count_diff = count_diff
        self.samples = count if samples is None else samples
        self.samples_diff = count_diff if samples_diff is None else samples_diff

    def __hash__(self) -> int:
        return hash((self.traceback, self.size, self.size_diff,
                     self.count, self.count_diff))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatisticDiff):
            return NotImplemented
        return (self.traceback == other.traceback
                and self.size == other.size
                and self.size_diff == other.size_diff
                and self.count == other.count
                and self.count_diff == other.count_diff)

    def __str__(self) -> str:
        text = "%s: size=%s (%s), count=%i (%+i)" % (
            self.traceback, _format_size(self.size, False),
            _format_size(self.size_diff, True), self.count, self.count_diff)
        if self.count:
            text += ", average=%s" % _format_size(self.size / self.count, False)
        return text

    def __repr__(self) -> str:
        return "<StatisticDiff traceback=%r size=%i (%+i) count=%i (%+i)>" % (
            self.traceback, self.size, self.size_diff, self.count,
            self.count_diff)

    def _sort_key(self) -> tuple:
        return (abs(self.size_diff), self.size, abs(self.count_diff),
                self.count, self.traceback)
