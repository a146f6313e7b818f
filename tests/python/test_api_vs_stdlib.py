"""pytm.exact against the stdlib tracemalloc on one deterministic workload.

Each tracer runs the same workload module in its own fresh interpreter;
the child prints, as JSON, the str/repr/size/count of every statistic
that the snapshot API produces for the workload's own file (statistics
by filename/lineno/traceback, cumulative, compare_to, and filter_traces
with each filter kind). Exact mode must give the very same rows, in the
same order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

# Only bytes/bytearray objects (no free lists, so the stdlib's re-tagging
# of reused objects cannot differ from pytm), kept alive in slots of a
# list made before tracing starts. Line numbers are what the test checks.
WORKLOAD = textwrap.dedent('''\
    KEEP = [None] * 4096
    POS = [0]


    def keep(obj):
        KEEP[POS[0]] = obj
        POS[0] += 1


    def small(n):
        for i in range(n):
            keep(b"s" * (10 + i % 7))


    def medium(n):
        for i in range(n):
            keep(bytearray(300 + i))


    def big(n):
        for _ in range(n):
            keep(bytes(70000))


    def nested(n):
        small(n)
        medium(n // 2)


    def phase1():
        small(100)
        medium(40)
        nested(30)


    def phase2():
        for i in range(0, 40, 2):
            KEEP[i] = None
        big(3)
        nested(20)
''')

DRIVER = textwrap.dedent('''\
    import json, sys
    tracer, wl_dir = sys.argv[1], sys.argv[2]
    sys.path.insert(0, wl_dir)
    if tracer == "stdlib":
        import tracemalloc as tm
    else:
        import pytm.exact as tm
    import apiwl

    tm.start(4)
    apiwl.phase1()
    old = tm.take_snapshot()
    apiwl.phase2()
    new = tm.take_snapshot()
    tm.stop()

    wl = apiwl.__file__
    only = [tm.Filter(True, wl)]
    o = old.filter_traces(only)
    n = new.filter_traces(only)

    def rows(stats):
        return [[str(s), repr(s), s.size, s.count] for s in stats]

    def diff_rows(stats):
        return [[str(s), repr(s), s.size, s.size_diff, s.count, s.count_diff]
                for s in stats]

    out = {"n_traces": len(n.traces)}
    for key in ("filename", "lineno", "traceback"):
        out["stat_" + key] = rows(n.statistics(key))
        out["cmp_" + key] = diff_rows(n.compare_to(o, key))
    for key in ("filename", "lineno"):
        out["cum_" + key] = rows(n.statistics(key, cumulative=True))
        out["cmpcum_" + key] = diff_rows(n.compare_to(o, key, cumulative=True))

    small_line = 12  # b"s" * ... in small()
    filters = {
        "lineno_incl": [tm.Filter(True, wl, lineno=small_line)],
        "lineno_excl": [tm.Filter(False, wl, lineno=small_line)],
        "all_frames_incl": [tm.Filter(True, wl, lineno=26, all_frames=True)],
        "all_frames_excl": [tm.Filter(False, wl, lineno=26, all_frames=True)],
        "pattern": [tm.Filter(True, "*apiw?.py")],
        "pattern_excl": [tm.Filter(False, "*apiw?.py")],
        "domain_incl": [tm.DomainFilter(True, 0)],
        "domain_excl": [tm.DomainFilter(False, 0)],
        "filter_domain_incl": [tm.Filter(True, wl, domain=0)],
        "filter_domain_excl": [tm.Filter(False, wl, lineno=small_line,
                                         domain=1)],
        "mixed": [tm.Filter(True, wl, lineno=small_line),
                  tm.Filter(True, wl, lineno=17),
                  tm.Filter(False, "*", lineno=17, all_frames=True)],
        "empty": [],
    }
    for name, flt in filters.items():
        f = n.filter_traces(flt)
        out["filter_" + name] = rows(f.statistics("lineno"))
        out["filter_tb_" + name] = rows(f.statistics("traceback"))
    print(json.dumps(out))
''')


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    wl_dir = tmp_path_factory.mktemp("apiwl")
    (wl_dir / "apiwl.py").write_text(WORKLOAD)
    driver = wl_dir / "driver.py"
    driver.write_text(DRIVER)
    env = dict(os.environ)
    env.pop("PYTHONTRACEMALLOC", None)
    out = {}
    for tracer in ("stdlib", "pytm"):
        proc = subprocess.run([sys.executable, str(driver), tracer,
                               str(wl_dir)], capture_output=True, text=True,
                              timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        out[tracer] = json.loads(proc.stdout.splitlines()[-1])
    return out


KEYS = (["stat_" + k for k in ("filename", "lineno", "traceback")]
        + ["cmp_" + k for k in ("filename", "lineno", "traceback")]
        + ["cum_filename", "cum_lineno", "cmpcum_filename", "cmpcum_lineno"])
FILTERS = ("lineno_incl", "lineno_excl", "all_frames_incl", "all_frames_excl",
           "pattern", "pattern_excl", "domain_incl", "domain_excl",
           "filter_domain_incl", "filter_domain_excl", "mixed", "empty")


def test_workload_is_traced_by_both(results):
    """GIVEN the workload run under each tracer
    WHEN the snapshots are filtered to the workload's file
    THEN both hold the same, non-trivial number of traces."""
    assert results["stdlib"]["n_traces"] > 200
    assert results["pytm"]["n_traces"] == results["stdlib"]["n_traces"]


@pytest.mark.parametrize("key", KEYS)
def test_statistics_and_compare_match_stdlib(results, key):
    """GIVEN the same workload traced by the stdlib and by pytm.exact
    WHEN statistics()/compare_to() group it by filename, lineno or
    traceback (cumulative or not)
    THEN every row (str, repr, size, count, diffs) and the row order are
    the stdlib's."""
    std, ours = results["stdlib"][key], results["pytm"][key]
    assert std, "the stdlib produced no rows: the workload is wrong"
    assert ours == std


@pytest.mark.parametrize("name", FILTERS)
def test_filter_traces_matches_stdlib(results, name):
    """GIVEN the same snapshot under both tracers
    WHEN filter_traces() applies Filter (lineno, all_frames, pattern,
    domain, inclusive/exclusive) or DomainFilter rules
    THEN the kept traces give the stdlib's statistics exactly."""
    for prefix in ("filter_", "filter_tb_"):
        key = prefix + name
        assert results["pytm"][key] == results["stdlib"][key], key


def test_filters_are_not_trivial(results):
    """GIVEN the filter cases above
    WHEN run under the stdlib
    THEN they keep different, partly empty subsets (so the comparison can
    fail)."""
    std = results["stdlib"]
    assert std["filter_domain_excl"] == []
    assert std["filter_lineno_incl"] and std["filter_lineno_excl"]
    assert std["filter_lineno_incl"] != std["filter_lineno_excl"]
    assert std["filter_all_frames_incl"] != std["filter_all_frames_excl"]
    assert std["filter_empty"] == std["stat_lineno"]
