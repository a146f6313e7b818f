"""pytm: a sampling Python memory profiler, drop-in superset of tracemalloc.

``import pytm`` offers the ``tracemalloc`` API (start, stop, take_snapshot,
Snapshot, Filter, ...) backed by PEP 445 allocator hooks that sample
allocations (``sample_interval`` bytes on average) or, with
``sample_interval=1``, trace every allocation exactly like tracemalloc.
While tracing, the live state is published in a shared-memory arena
(``arena_path()``) that ``pytmtop -p PID`` displays from another process.

Layout: ``_tracing`` (start/stop/counters), ``_snapshot`` (Snapshot,
take_snapshot, dump/load), ``_filters`` (Filter, DomainFilter),
``_format`` (Frame, Traceback, Trace, Statistic, StatisticDiff).

Only ``_tracing`` is imported with the package: a process that only
traces (start/stop, pytmtop attached) never pays for the snapshot side's
code objects (about 100 KiB of peak RSS, issue 13). The names of the
other three modules resolve on first use through the module
``__getattr__`` (PEP 562); ``from pytm import *`` and ``dir(pytm)`` still
list and load every name.
"""

__version__ = "0.1.0"  # keep in step with pyproject.toml and CMakeLists.txt

from . import _recorder  # noqa: F401  (the C extension)
from ._tracing import *  # noqa: F401,F403
from ._tracing import __all__ as _tracing_all

# name -> submodule that defines it, loaded on first access. Keep in step
# with each module's __all__ (tests/python/test_import_cost.py checks).
_F, _L, _S = __name__ + "._format", __name__ + "._filters", __name__ + "._snapshot"
_LAZY = {
    "Frame": _F, "Traceback": _F, "Trace": _F, "Statistic": _F,
    "StatisticDiff": _F,
    "BaseFilter": _L, "Filter": _L, "DomainFilter": _L,
    "Snapshot": _S, "take_snapshot": _S, "get_object_traceback": _S,
    "DumpError": _S, "ThreadStatistic": _S,
}

__all__ = list(_tracing_all) + list(_LAZY)


def __getattr__(name: str):
    sub = _LAZY.get(name)
    if sub is None:
        raise AttributeError("module %r has no attribute %r"
                             % (__name__, name))
    # Untraced, like tracemalloc's own module: the first take_snapshot()
    # may run while tracing, and the snapshot must not show this import.
    # Stored in globals() so that later look-ups skip this function.
    return _recorder._import_untraced(sub, name, globals())


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
