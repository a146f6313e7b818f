"""Snapshot, take_snapshot and the trace sequence, over the C SnapData.

``Snapshot`` has the stdlib ``tracemalloc.Snapshot`` API (constructor
from raw traces, ``traces``, ``traceback_limit``, ``statistics``,
``compare_to``, ``filter_traces``, ``dump``, ``load``) plus conversions
to and from the stdlib class. Every loop over traces runs in C
(recorder/snapdata*.c): statistics and compare_to build one Statistic per
group, and ``Snapshot.traces`` is a lazy sequence that makes a Trace
object only for the index asked for.

Dumps use the ``.pytm`` format (docs/dump-format.md), never pickle.
A stdlib pickle is read only explicitly:
``Snapshot.from_tracemalloc(tracemalloc.Snapshot.load(path))``.
"""

from __future__ import annotations

import os
import sys

# json, sysconfig and importlib.util are imported where they are used:
# `import pytm` should cost the traced program as little memory as
# possible (bench Figure 2 measures peak RSS).
from collections.abc import Iterable, Sequence
from typing import Any, Iterator, Optional

from . import _recorder, _snapdata
from ._filters import BaseFilter, compile_filters
from ._format import Statistic, StatisticDiff, Trace, Traceback
from ._threads import ThreadStatistic, thread_statistics

__all__ = ["Snapshot", "take_snapshot", "get_object_traceback", "DumpError",
           "ThreadStatistic"]

SnapData = _snapdata.SnapData
DumpError = _snapdata.DumpError

_KEY_TYPES = ("traceback", "filename", "lineno")
_NOT_TRACING = ("the tracemalloc module must be tracing memory "
                "allocations to take a snapshot")


class _Traces(Sequence):
    """Read-only sequence of Trace objects, built on demand from C."""

    __slots__ = ("_data", "_raw", "_sampled")

    def __init__(self, data: SnapData) -> None:
        self._data = data
        self._raw: Optional[list] = None
        self._sampled = data.sample_interval != 1

    def _make(self, i: int) -> Trace:
        data = self._data
        if self._sampled:
            return Trace(data.trace(i), data.weights(i))
        return Trace(data.trace(i))

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self._make(i)
                         for i in range(*index.indices(len(self._data))))
        return self._make(index)

    def __iter__(self) -> Iterator[Trace]:
        for i in range(len(self._data)):
            yield self._make(i)

    def __contains__(self, trace: object) -> bool:
        return trace._trace in self._traces  # type: ignore[attr-defined]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Traces):
            return NotImplemented
        return self._data.equals(other._data)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<Traces len=%s>" % len(self)

    def __reduce__(self):
        return (_Traces, (self._data,))

    @property
    def _traces(self) -> list:
        """The raw trace tuples (tracemalloc's format), built once."""
        if self._raw is None:
            self._raw = self._data.raw_traces()
        return self._raw


def _stdlib_tracemalloc():
    """The stdlib tracemalloc module, even when pytm was installed as
    sys.modules['tracemalloc'] (as the CPython suite runner does)."""
    mod = sys.modules.get("tracemalloc")
    if mod is None:
        import tracemalloc as mod  # noqa: F811 (the real one)
    if getattr(mod, "__name__", None) == "tracemalloc" \
            and hasattr(mod, "_get_traces"):
        return mod
    cached = globals().get("_STDLIB")
    if cached is None:
        import importlib.util
        import sysconfig
        path = os.path.join(sysconfig.get_paths()["stdlib"], "tracemalloc.py")
        spec = importlib.util.spec_from_file_location("tracemalloc", path)
        cached = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cached)
        globals()["_STDLIB"] = cached
    return cached


def _check_key_type(key_type: Any, cumulative: Any) -> None:
    if key_type not in _KEY_TYPES:
        raise ValueError("unknown key_type: %r" % (key_type,))
    if cumulative and key_type not in ("lineno", "filename"):
        raise ValueError("cumulative mode cannot by used "
                         "with key type %r" % key_type)


class Snapshot:
    """Snapshot of the traces of memory blocks allocated by Python.

    ``Snapshot(traces, traceback_limit)`` builds one from raw traces in
    tracemalloc's format: ``(domain, size, frames, total_nframe)`` with
    frames ``(filename, lineno)`` most recent first.

    In sampled mode every figure is an estimate; ``sample_interval``
    says which mode the snapshot was taken in (1 = exact).
    """

    def __init__(self, traces: Iterable, traceback_limit: int) -> None:
        if not isinstance(traces, Sequence):
            traces = list(traces)
        self.traces = _Traces(SnapData.from_traces(traces, traceback_limit))
        self.traceback_limit = traceback_limit

    @classmethod
    def _from_data(cls, data: SnapData,
                   traceback_limit: Optional[int] = None) -> "Snapshot":
        self = cls.__new__(cls)
        self.traces = _Traces(data)
        self.traceback_limit = (data.traceback_limit
                                if traceback_limit is None else traceback_limit)
        return self

    @property
    def _data(self) -> SnapData:
        return self.traces._data

    @property
    def sample_interval(self) -> int:
        """Mean sampling interval in bytes; 1 means exact (tracemalloc)."""
        return self._data.sample_interval

    def info(self) -> dict:
        """Metadata: pid, cmdline, times (ns), sample_interval and the
        process totals recorded with the snapshot."""
        return self._data.info()

    # -- files ------------------------------------------------------------

    def _extra_attrs(self) -> Optional[str]:
        extra = {k: v for k, v in vars(self).items()
                 if k not in ("traces", "traceback_limit")}
        if self.traceback_limit != self._data.traceback_limit:
            extra["traceback_limit"] = self.traceback_limit
        if not extra:
            return None
        import json
        for name, value in extra.items():
            try:
                json.dumps(value)
            except (TypeError, ValueError) as exc:
                raise TypeError("cannot save attribute %r of the snapshot in "
                                "a .pytm dump: %s" % (name, exc)) from None
        return json.dumps(extra)

    def _apply_attrs(self, text: Optional[str], filename: Any) -> None:
        if text is None:
            return
        import json
        try:
            extra = json.loads(text)
        except ValueError:
            extra = None
        if not isinstance(extra, dict):
            raise DumpError("%s: the attributes block is not a JSON object"
                            % (os.fsdecode(filename),))
        for name, value in extra.items():
            # never shadow a method or the trace sequence from a file
            if name == "traceback_limit" or (
                    name.isidentifier() and not name.startswith("_")
                    and name != "traces" and not hasattr(type(self), name)):
                setattr(self, name, value)

    def dump(self, filename) -> None:
        """Write the snapshot to a file in the .pytm format (atomically:
        a temporary file renamed over ``filename``). Extra attributes set
        on the snapshot are saved too when they are JSON values."""
        self._data.dump(filename, self._extra_attrs())

    def export(self, path, format: Optional[str] = None, **options) -> str:
        """Write the snapshot for other tools: format 'pprof' (gzip
        profile.proto), 'collapsed' (flamegraph.pl / speedscope) or
        'html' (a self-contained flame graph; option title=), guessed
        from path's extension when None. Returns the format used. See
        pytm.export.write for the errors."""
        from . import export
        return export.write(self, path, format, **options)

    @staticmethod
    def load(filename) -> "Snapshot":
        """Load a snapshot written by dump() (or by pytmtop). Raises
        OSError when the file cannot be read and pytm.DumpError (a
        ValueError) naming the file when it is not a valid .pytm dump."""
        data = SnapData.load(filename)
        snapshot = Snapshot._from_data(data)
        snapshot._apply_attrs(data.attrs, filename)
        return snapshot

    # -- conversions --------------------------------------------------------

    def to_tracemalloc(self):
        """The same snapshot as a stdlib ``tracemalloc.Snapshot`` (raw
        tuples; sizes are estimates in sampled mode)."""
        std = _stdlib_tracemalloc()
        snapshot = std.Snapshot(self._data.raw_traces(), self.traceback_limit)
        for name, value in vars(self).items():
            if name not in ("traces", "traceback_limit"):
                setattr(snapshot, name, value)
        return snapshot

    @classmethod
    def from_tracemalloc(cls, snapshot) -> "Snapshot":
        """Convert a stdlib ``tracemalloc.Snapshot`` (for instance one
        loaded from a stdlib pickle) into a pytm Snapshot."""
        if isinstance(snapshot, Snapshot):
            return snapshot
        traces = snapshot.traces._traces
        new = cls(traces, snapshot.traceback_limit)
        for name, value in vars(snapshot).items():
            if name not in ("traces", "traceback_limit"):
                setattr(new, name, value)
        return new

    # -- queries ------------------------------------------------------------

    def filter_traces(self, filters: Iterable[BaseFilter]) -> "Snapshot":
        """New Snapshot with the traces that pass ``filters`` (Filter and
        DomainFilter objects): a trace is kept when it matches at least
        one inclusive filter (if there is any) and no exclusive filter
        rejects it. An empty list gives a new Snapshot with the same
        traces."""
        if not isinstance(filters, Iterable):
            raise TypeError("filters must be a list of filters, not %s"
                            % type(filters).__name__)
        filters = list(filters)
        data = self._data
        if filters:
            compiled = compile_filters(filters, data.strings())
            if compiled is not None:
                data = data.filter(compiled)
            else:
                data = data.select(self._match_each(filters))
        return Snapshot._from_data(data, self.traceback_limit)

    def _match_each(self, filters: list) -> bytes:
        """Per-trace verdicts for filters that only Python can evaluate
        (tracemalloc's rules, calling each filter's _match)."""
        include = [f for f in filters if f.inclusive]
        exclude = [f for f in filters if not f.inclusive]
        keep = bytearray(len(self._data))
        for i, trace in enumerate(self.traces._traces):
            if include and not any(f._match(trace) for f in include):
                continue
            if any(not f._match(trace) for f in exclude):
                continue
            keep[i] = 1
        return bytes(keep)

    def statistics(self, key_type: str, cumulative: bool = False
                   ) -> list[Statistic]:
        """Statistics grouped by ``key_type`` ('filename', 'lineno' or
        'traceback'), biggest first. With ``cumulative``, every frame of
        a traceback counts, not only the most recent one."""
        _check_key_type(key_type, cumulative)
        rows = self._data.statistics(key_type, bool(cumulative))
        return [Statistic(Traceback(frames), size, count, samples)
                for frames, size, count, samples in rows]

    def thread_statistics(self) -> list[ThreadStatistic]:
        """Live memory per recording thread, biggest first: one
        ThreadStatistic (name, ident, native_id, size, count) per thread
        with blocks left, "<unknown>" for what no single thread can be
        given (see ThreadStatistic). The sizes add up to the snapshot's
        total (the sum of ``statistics('filename')``). Not in the stdlib
        API."""
        return thread_statistics(self._data)

    def compare_to(self, old_snapshot: "Snapshot", key_type: str,
                   cumulative: bool = False) -> list[StatisticDiff]:
        """Differences against ``old_snapshot``, grouped by ``key_type``,
        sorted by the absolute size change first."""
        _check_key_type(key_type, cumulative)
        if not isinstance(old_snapshot, Snapshot):
            old_snapshot = Snapshot.from_tracemalloc(old_snapshot)
        rows = self._data.compare_to(old_snapshot._data, key_type,
                                     bool(cumulative))
        return [StatisticDiff(Traceback(frames), size, size_diff, count,
                              count_diff, samples)
                for frames, size, size_diff, count, count_diff, samples
                in rows]


def take_snapshot() -> Snapshot:
    """Take a snapshot of the traces of the memory blocks allocated by
    Python (pytm's own memory is never part of it). Raises RuntimeError
    when not tracing."""
    # The C call comes first: anything evaluated before it on this line
    # (a bound method, say) would be a live block of ours in the snapshot.
    # It raises RuntimeError(_NOT_TRACING) itself when not tracing.
    data = _recorder.take_snapshot_data()
    return Snapshot._from_data(data)


def get_object_traceback(obj) -> Optional[Traceback]:
    """The Traceback where the memory block holding ``obj`` was allocated,
    or None when not tracing or when that allocation was not recorded
    (made before start(), or not sampled in sampled mode)."""
    index = _recorder.get_object_traceback_index(obj)
    if index is None:
        return None
    frames, _total_nframe = _tracebacks_holding(index).traceback(index)
    # like tracemalloc: the frames only, total_nframe unknown
    return Traceback(frames)


# (session generation, SnapData without traces) of the last lookup. The
# arena's traceback table is append-only for the life of a session
# (include/pytm/arena_layout.h: entries below a published counter never
# change), so a copy stays right for every index it holds until the next
# start(), which bumps the generation. Protected by the GIL.
_tb_cache: list = [None, None]


def _tracebacks_holding(index: int) -> SnapData:
    gen = _recorder._stats().get("gen")
    data = _tb_cache[1] if gen is not None and _tb_cache[0] == gen else None
    if data is None or index >= data.n_arena_tracebacks:
        full = _recorder.take_snapshot_data()
        # keep the tables only: a DomainFilter on a domain no trace has
        # (see _filters.compile_filters) drops every trace
        data = full.filter([(1, True, 0, True)])
        del full
        _tb_cache[:] = [gen, data]
    return data


def _get_traces() -> list:
    """Raw traces of the live session in tracemalloc's private
    ``_get_traces()`` format: a list of ``(domain, size, frames,
    total_nframe)``, equal tracebacks sharing one frames tuple; [] when
    not tracing. For tools written against that private function."""
    if not _recorder.is_tracing():
        return []
    return _recorder.take_snapshot_data().raw_traces()
