"""pytest plugin: memory limits per test, measured by pytm.

Enable with ``pytest --pytm`` (the plugin is registered through the
``pytest11`` entry point; ``-p pytm.pytest_plugin`` loads it explicitly).
Tracing is sampled by default (``--pytm-interval``, the recorder's 16 KiB
default): sizes are unbiased estimates, good to about sqrt(I/S) for S
bytes. ``--pytm-exact`` traces every allocation, as tracemalloc does.

Markers (in the manner of pytest-memray; inert without ``--pytm``):

``@pytest.mark.limit_memory("24 MB")``
    fails the test when the memory it held at its peak, above what was
    held when it started, exceeds the limit;
``@pytest.mark.limit_leaks("1 MB")``
    fails the test when the memory still held after it returned (after a
    garbage collection), above what was held when it started, exceeds the
    limit.

A failure names the limit, the measured size and the top lines that
allocated it. Sizes: an int (bytes) or a string ``"N UNIT"`` with B, KB,
MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).

After the run, ``--pytm`` lists the tests with the highest peaks
(``--pytm-top N``, default 5; 0 turns it off).
"""

from __future__ import annotations

import gc
import os
import re
from typing import List, Optional, Tuple

import pytest

_UNITS = {"b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3,
          "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*$")
_TOP_LINES = 5


def parse_size(value) -> int:
    """Bytes for an int or a "N UNIT" string; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("not a size: %r" % (value,))
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative: %r" % (value,))
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            unit = (m.group(2) or "b").lower()
            if unit in _UNITS:
                return int(float(m.group(1)) * _UNITS[unit])
    raise ValueError("not a size: %r (use bytes, or e.g. '24 MB', "
                     "'1.5 MiB'; units B KB MB GB KiB MiB GiB)" % (value,))


def _fmt(n: float) -> str:
    for unit, div in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if abs(n) >= div:
            return "%.1f %s" % (n / div, unit)
    return "%d B" % n


def pytest_addoption(parser):
    group = parser.getgroup("pytm", "memory limits measured by pytm")
    group.addoption("--pytm", action="store_true", default=False,
                    help="trace memory per test with pytm (sampled); "
                         "enables the limit_memory / limit_leaks markers")
    group.addoption("--pytm-exact", action="store_true", default=False,
                    help="with --pytm: trace every allocation exactly")
    group.addoption("--pytm-interval", type=int, default=None, metavar="BYTES",
                    help="with --pytm: mean sampling interval in bytes")
    group.addoption("--pytm-nframe", type=int, default=10, metavar="N",
                    help="with --pytm: frames per traceback (default 10)")
    group.addoption("--pytm-top", type=int, default=5, metavar="N",
                    help="with --pytm: list the N tests with the highest "
                         "peaks at the end (0: none)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "limit_memory(size): fail when the test's peak memory "
                   "exceeds size (pytest --pytm)")
    config.addinivalue_line(
        "markers", "limit_leaks(size): fail when memory the test leaves "
                   "allocated exceeds size (pytest --pytm)")
    if config.getoption("pytm"):
        config.pluginmanager.register(_Tracker(config), "pytm-tracker")


class _Tracker:
    """Holds the tracing session and each test's figures."""

    def __init__(self, config) -> None:
        self.config = config
        self.exact = config.getoption("pytm_exact")
        interval = config.getoption("pytm_interval")
        if self.exact:
            interval = 1
        if interval is not None and interval < 1:
            raise pytest.UsageError("--pytm-interval must be >= 1")
        self.interval = interval
        self.nframe = config.getoption("pytm_nframe")
        self.peaks: List[Tuple[int, str]] = []
        self.started = False

    # -- session ---------------------------------------------------------

    def pytest_sessionstart(self, session):
        import pytm
        if pytm.is_tracing():
            return  # someone traces already: use their session
        kw = {}
        if self.interval is not None:
            kw["sample_interval"] = self.interval
        pytm.start(self.nframe, **kw)
        self.started = True

    def pytest_sessionfinish(self, session):
        import pytm
        if self.started and pytm.is_tracing():
            pytm.stop()

    # -- one test ----------------------------------------------------------

    def pytest_collection_modifyitems(self, session, config, items):
        # A bad marker stops the run before any test, as a usage error.
        for item in items:
            self._limits(item)

    @staticmethod
    def _limits(item) -> List[Tuple[str, int]]:
        limits = []
        for name in ("limit_memory", "limit_leaks"):
            mark = item.get_closest_marker(name)
            if mark is None:
                continue
            if len(mark.args) != 1 or mark.kwargs:
                raise pytest.UsageError(
                    "%s: @pytest.mark.%s takes one size, e.g. %s('24 MB')"
                    % (item.nodeid, name, name))
            try:
                limits.append((name, parse_size(mark.args[0])))
            except ValueError as e:
                raise pytest.UsageError("%s: %s: %s" % (item.nodeid, name, e))
        return limits

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        import pytm
        limits = self._limits(item)
        gc.collect()
        before = pytm.take_snapshot() if limits else None
        base, _ = pytm.get_traced_memory()
        pytm.reset_peak()
        try:
            result = yield
        finally:
            _, peak = pytm.get_traced_memory()
            self.peaks.append((peak - base, item.nodeid))
        if not limits:
            return result
        held = peak - base
        gc.collect()
        now, _ = pytm.get_traced_memory()
        leaked = now - base
        for name, limit in limits:
            measured = held if name == "limit_memory" else leaked
            if measured > limit:
                after = pytm.take_snapshot()
                pytest.fail(self._message(item, name, limit, measured,
                                          before, after), pytrace=False)
        return result

    def _message(self, item, name, limit, measured, before, after) -> str:
        what = ("allocated at its peak" if name == "limit_memory"
                else "leaked")
        kind = ("exact" if self.exact else
                "sampled estimate, interval %s" % _fmt(
                    __import__("pytm").get_sample_interval()))
        lines = ["Test %s was limited to %s but %s %s (%s)."
                 % (item.nodeid, _fmt(limit), what, _fmt(measured), kind)]
        top = self._top_lines(before, after, name)
        if top:
            lines.append("Top lines (%s):" % (
                "memory held at the end of the test" if name == "limit_leaks"
                else "memory allocated during the test and still held"))
            lines.extend(top)
        elif name == "limit_memory":
            lines.append("The test freed that memory before it returned, so "
                         "no line still holds it; watch the test live with "
                         "pytmtop -p %d, grouped by line." % os.getpid())
        return "\n".join(lines)

    @staticmethod
    def _top_lines(before, after, name) -> List[str]:
        import pytm
        here = os.path.dirname(os.path.abspath(__file__))
        # pytm's own files and pytest's machinery are not the test's.
        flt = [pytm.Filter(False, os.path.join(here, "*")),
               pytm.Filter(False, "*/_pytest/*"),
               pytm.Filter(False, "*/pluggy/*")]
        diff = after.filter_traces(flt).compare_to(
            before.filter_traces(flt), "lineno")
        out = []
        for st in diff:
            if st.size_diff <= 0 or len(out) >= _TOP_LINES:
                continue
            fr = st.traceback[0]
            out.append("  %s:%d: %s (%+d blocks)"
                       % (fr.filename, fr.lineno, _fmt(st.size_diff),
                          st.count_diff))
        return out

    # -- report ------------------------------------------------------------

    def pytest_terminal_summary(self, terminalreporter):
        top = self.config.getoption("pytm_top")
        if top <= 0 or not self.peaks:
            return
        tr = terminalreporter
        tr.write_sep("=", "pytm: highest peaks (%s)" % (
            "exact" if self.exact else "sampled"))
        for held, nodeid in sorted(self.peaks, reverse=True)[:top]:
            tr.write_line("%10s  %s" % (_fmt(held), nodeid))
