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
"""

__version__ = "0.1.0"  # keep in step with pyproject.toml and CMakeLists.txt

from . import _recorder  # noqa: F401  (the C extension)
from ._filters import *  # noqa: F401,F403
from ._filters import __all__ as _filters_all
from ._format import *  # noqa: F401,F403
from ._format import __all__ as _format_all
from ._snapshot import *  # noqa: F401,F403
from ._snapshot import __all__ as _snapshot_all
from ._tracing import *  # noqa: F401,F403
from ._tracing import __all__ as _tracing_all

__all__ = list(_tracing_all) + _format_all + _filters_all + _snapshot_all
