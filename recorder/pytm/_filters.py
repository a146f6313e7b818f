"""Trace filters: BaseFilter, Filter, DomainFilter, and their compilation
for the C snapshot.

The classes behave like the stdlib ``tracemalloc`` ones (same
attributes, same ``_match*`` methods and the same rules: inclusive
filters are OR-ed, exclusive filters are AND-ed, a trace is kept when it
passes both). ``Snapshot.filter_traces`` does not call ``_match`` per
trace: ``compile_filters`` evaluates each Filter's file name pattern
once per distinct file name of the snapshot and hands the C layer a
match table, which then decides per distinct traceback and applies the
domain per trace. Filters of other classes (a user subclass of
BaseFilter with its own ``_match``) make compile_filters return None and
the snapshot falls back to calling ``_match`` on each trace.
"""

from __future__ import annotations

import fnmatch
import os.path
from typing import Iterable, Optional

__all__ = ["BaseFilter", "Filter", "DomainFilter"]

# Marker for the C layer: the traceback has no Python frame, which the
# API shows as ("<unknown>", 0).
UNKNOWN_FILENAME = "<unknown>"

# Kinds of compiled filters understood by SnapData.filter (snapdata.c).
_KIND_FILTER = 0
_KIND_DOMAIN = 1


def _normalize_filename(filename: str) -> str:
    filename = os.path.normcase(filename)
    if filename.endswith(".pyc"):
        filename = filename[:-1]
    return filename


class BaseFilter:
    """Base class of trace filters. ``inclusive`` says whether a trace
    matching the filter is kept (True) or dropped (False)."""

    def __init__(self, inclusive: bool) -> None:
        self.inclusive = inclusive

    def _match(self, trace: tuple) -> bool:
        raise NotImplementedError


class Filter(BaseFilter):
    """Filter on the file name (an fnmatch pattern), optionally the line
    number and the domain of traces.

    With ``all_frames`` every frame of the traceback is tested, otherwise
    only the most recent one. ``lineno=None`` matches any line.
    ``domain=None`` matches any domain."""

    def __init__(self, inclusive: bool, filename_pattern: str,
                 lineno: Optional[int] = None, all_frames: bool = False,
                 domain: Optional[int] = None) -> None:
        super().__init__(inclusive)
        self.inclusive = inclusive
        self._filename_pattern = _normalize_filename(filename_pattern)
        self.lineno = lineno
        self.all_frames = all_frames
        self.domain = domain

    @property
    def filename_pattern(self) -> str:
        return self._filename_pattern

    def _match_filename(self, filename: str) -> bool:
        return fnmatch.fnmatch(_normalize_filename(filename),
                               self._filename_pattern)

    def _match_frame_impl(self, filename: str, lineno: int) -> bool:
        if not self._match_filename(filename):
            return False
        return self.lineno is None or lineno == self.lineno

    def _match_frame(self, filename: str, lineno: int) -> bool:
        return self._match_frame_impl(filename, lineno) ^ (not self.inclusive)

    def _match_traceback(self, traceback: tuple) -> bool:
        # traceback: raw frames, most recent first
        if self.all_frames:
            hit = any(self._match_frame_impl(filename, lineno)
                      for filename, lineno in traceback)
            return hit if self.inclusive else not hit
        filename, lineno = traceback[0]
        return self._match_frame(filename, lineno)

    def _match(self, trace: tuple) -> bool:
        domain = trace[0]
        res = self._match_traceback(trace[2])
        if self.domain is None:
            return res
        if self.inclusive:
            return res and domain == self.domain
        return res or domain != self.domain


class DomainFilter(BaseFilter):
    """Filter on the address space (domain) of traces."""

    def __init__(self, inclusive: bool, domain: int) -> None:
        super().__init__(inclusive)
        self._domain = domain

    @property
    def domain(self) -> int:
        return self._domain

    def _match(self, trace: tuple) -> bool:
        return (trace[0] == self._domain) ^ (not self.inclusive)


# Methods whose overriding in a subclass changes what a filter matches:
# such a filter cannot be compiled and is called per trace instead.
_FILTER_METHODS = ("_match", "_match_traceback", "_match_frame",
                   "_match_frame_impl", "_match_filename")


def _compilable(f: BaseFilter) -> bool:
    if isinstance(f, Filter):
        base = Filter
    elif isinstance(f, DomainFilter):
        base = DomainFilter
    else:
        return False
    cls = type(f)
    return all(getattr(cls, name, None) is getattr(base, name, None)
               for name in _FILTER_METHODS)


def _as_u32(value) -> Optional[int]:
    """The uint32 that compares equal to value (as ``==`` would decide
    for a recorded lineno or domain), or None when no uint32 does."""
    try:
        as_int = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if as_int != value or not 0 <= as_int <= 0xFFFFFFFF:
        return None
    return as_int


def compile_filters(filters: Iterable[BaseFilter],
                    filenames: list[str]) -> Optional[list[tuple]]:
    """Compiles filters for SnapData.filter, or returns None when one of
    them must be evaluated per trace in Python.

    ``filenames`` is the snapshot's string table; the match table of a
    Filter has one byte per string plus a last byte for "<unknown>".

    Each compiled entry is
      (_KIND_FILTER, inclusive, table: bytes, lineno, any_lineno,
       all_frames, domain, any_domain, never_domain)
      (_KIND_DOMAIN, inclusive, domain, never_domain)
    where lineno/domain are uint32, any_* say "None: match any" and
    never_domain says the filter's domain is a value no trace can have.
    """
    compiled = []
    for f in filters:
        if not _compilable(f):
            return None
        inclusive = bool(f.inclusive)
        if isinstance(f, DomainFilter):
            dom = _as_u32(f.domain)
            compiled.append((_KIND_DOMAIN, inclusive, dom or 0, dom is None))
            continue
        table = bytearray(len(filenames) + 1)
        for i, name in enumerate(filenames):
            table[i] = f._match_filename(name)
        table[-1] = f._match_filename(UNKNOWN_FILENAME)
        any_lineno = f.lineno is None
        lineno = _as_u32(f.lineno)
        if not any_lineno and lineno is None:
            # a line number no frame has: the pattern can never match
            table = bytearray(len(table))
        any_domain = f.domain is None
        dom = _as_u32(f.domain)
        compiled.append((_KIND_FILTER, inclusive, bytes(table), lineno or 0,
                         any_lineno, bool(f.all_frames), dom or 0, any_domain,
                         not any_domain and dom is None))
    return compiled
