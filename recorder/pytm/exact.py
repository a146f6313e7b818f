"""The tracemalloc API with exact tracing as the default.

``import pytm.exact as tracemalloc`` behaves like the stdlib module:
``start()`` traces every allocation (``sample_interval=1``) unless a
``sample_interval`` is passed, so statistics, snapshots and
``get_traced_memory()`` are exact, not estimates. Everything else is
``pytm``'s (same objects, same recorder: ``pytm.exact.start()`` and
``pytm.start()`` control one and the same session).

``import pytm`` instead defaults to sampling (``DEFAULT_SAMPLE_INTERVAL``
bytes), unless the environment sets ``PYTM_SAMPLE_INTERVAL``.
"""

from __future__ import annotations

import linecache  # noqa: F401  (tracemalloc.linecache, patched by tests)
from typing import Optional

from . import _tracing
from ._filters import BaseFilter, DomainFilter, Filter
from ._format import Frame, Statistic, StatisticDiff, Trace, Traceback
from ._snapshot import (DumpError, Snapshot, _get_traces,  # noqa: F401
                        get_object_traceback, take_snapshot)
from ._tracing import (DEFAULT_SAMPLE_INTERVAL, arena_path,  # noqa: F401
                       clear_traces, get_sample_interval,
                       get_traceback_limit, get_traced_memory,
                       get_tracemalloc_memory, is_tracing, reset_peak, stop)

__all__ = [
    # the stdlib tracemalloc names
    "BaseFilter", "DomainFilter", "Filter", "Frame", "Snapshot",
    "Statistic", "StatisticDiff", "Trace", "Traceback", "clear_traces",
    "get_object_traceback", "get_traceback_limit", "get_traced_memory",
    "get_tracemalloc_memory", "is_tracing", "reset_peak", "start", "stop",
    "take_snapshot",
    # pytm additions
    "DumpError", "get_sample_interval", "arena_path",
]


def start(nframe: int = 1, *, sample_interval: Optional[int] = 1,
          **options) -> None:
    """Start tracing every Python memory allocation (exact mode), storing
    at most ``nframe`` frames per traceback. Does nothing when already
    tracing. ``sample_interval`` and the other keywords are pytm.start's."""
    _tracing.start(nframe, sample_interval=sample_interval, **options)
