"""The tracemalloc value objects of pytm against the stdlib's: Frame,
Traceback, Trace, Statistic, StatisticDiff (repr, str, equality, hash,
ordering), Snapshot built from raw traces, and the API's errors.

Built from raw traces, so no tracing is needed: the stdlib's classes are
pure Python and can be compared in-process.
"""

from __future__ import annotations

import tracemalloc as std

import pytest

import pytm
import pytm.exact

RAW = [
    (0, 10, (("a.py", 2), ("b.py", 4)), 3),
    (0, 10, (("a.py", 2), ("b.py", 4)), 3),
    (1, 2, (("a.py", 5), ("b.py", 4)), 3),
    (2, 66, (("b.py", 1),), 1),
    (3, 7, (("<unknown>", 0),), 1),
    (0, 5000, (("c.py", 578), ("a.py", 2)), None),
]
RAW2 = [
    (0, 10, (("a.py", 2), ("b.py", 4)), 3),
    (2, 5000, (("a.py", 5), ("b.py", 4)), 3),
    (4, 400, (("c.py", 578),), 1),
]


def both(raw, limit=2):
    return std.Snapshot(raw, limit), pytm.Snapshot(raw, limit)


def texts(items):
    return [(str(x), repr(x)) for x in items]


@pytest.mark.parametrize("key", ["filename", "lineno", "traceback"])
def test_statistics_rows_and_formats_match(key):
    """GIVEN a snapshot built from the same raw traces by each module
    WHEN statistics(key) runs
    THEN the rows, their order, str() and repr() are identical."""
    s, p = both(RAW)
    assert texts(p.statistics(key)) == texts(s.statistics(key))
    assert len(p.statistics(key)) >= 3


@pytest.mark.parametrize("key", ["filename", "lineno"])
def test_cumulative_and_compare_match(key):
    """GIVEN two raw snapshots
    WHEN statistics(cumulative=True) and compare_to (plain, cumulative)
    run on each module's snapshot
    THEN the results print the same and compare equal field by field."""
    s1, p1 = both(RAW)
    s2, p2 = both(RAW2)
    assert texts(p1.statistics(key, True)) == texts(s1.statistics(key, True))
    for cum in (False, True):
        ours = p2.compare_to(p1, key, cum)
        theirs = s2.compare_to(s1, key, cum)
        assert texts(ours) == texts(theirs)
        assert [(d.size, d.size_diff, d.count, d.count_diff) for d in ours] \
            == [(d.size, d.size_diff, d.count, d.count_diff) for d in theirs]


def test_compare_to_traceback_matches():
    """GIVEN two raw snapshots WHEN compare_to(.., 'traceback') THEN the
    stdlib's rows."""
    s1, p1 = both(RAW)
    s2, p2 = both(RAW2)
    assert texts(p2.compare_to(p1, "traceback")) == \
        texts(s2.compare_to(s1, "traceback"))


def test_traces_sequence_matches():
    """GIVEN snapshots from the same raw traces
    WHEN traces are indexed, sliced, iterated and compared
    THEN each Trace prints like the stdlib's and total_nframe (None
    included) survives."""
    s, p = both(RAW)
    assert len(p.traces) == len(s.traces) == len(RAW)
    assert texts(p.traces) == texts(s.traces)
    assert texts(p.traces[1:4]) == texts(s.traces[1:4])
    assert p.traces[-1].traceback.total_nframe is None
    assert p.traces[0].traceback.total_nframe == 3
    assert p.traces[0] == p.traces[1] and hash(p.traces[0]) == hash(
        p.traces[1])
    assert p.traces[0] != p.traces[2]
    assert repr(p.traces) == repr(s.traces)
    assert p.traces == pytm.Snapshot(RAW, 2).traces
    assert p.traces != pytm.Snapshot(RAW2, 2).traces


def test_frame_and_traceback_behave_like_stdlib():
    """GIVEN Frame/Traceback objects of both modules
    WHEN compared, hashed, sorted, formatted
    THEN they behave the same way."""
    frames = (("b.py", 4), ("a.py", 2))
    ours = pytm.Traceback(frames, 5)
    theirs = std.Traceback(frames, 5)
    assert repr(ours) == repr(theirs)
    assert str(ours) == str(theirs)
    assert repr(pytm.Traceback(frames)) == repr(std.Traceback(frames))
    assert [repr(f) for f in ours] == [repr(f) for f in theirs]
    assert ours == pytm.Traceback(frames) and hash(ours) == hash(
        pytm.Traceback(frames))
    assert ours != pytm.Traceback(frames[:1])
    assert pytm.Frame(("a.py", 2)) < pytm.Frame(("a.py", 3)) < pytm.Frame(
        ("b.py", 1))
    tbs = [(("z.py", 1),), (("a.py", 9), ("b.py", 1)), (("a.py", 1),)]
    assert [repr(t) for t in sorted(pytm.Traceback(x) for x in tbs)] == \
        [repr(t) for t in sorted(std.Traceback(x) for x in tbs)]
    for limit in (None, 1, -1):
        for mrf in (False, True):
            assert ours.format(limit, mrf) == theirs.format(limit, mrf)


def test_statistic_objects_equality_hash_and_sort():
    """GIVEN Statistic/StatisticDiff built with the same fields
    WHEN compared, hashed and sorted like the stdlib does
    THEN results agree with the stdlib; samples is not part of equality."""
    tb = pytm.Traceback((("a.py", 1),))
    a = pytm.Statistic(tb, 100, 2)
    b = pytm.Statistic(tb, 100, 2, samples=1)
    assert a == b and hash(a) == hash(b) and a.samples == 2
    assert a != pytm.Statistic(tb, 101, 2)
    d = pytm.StatisticDiff(tb, 100, -5, 2, 1)
    assert d == pytm.StatisticDiff(tb, 100, -5, 2, 1)
    assert d != pytm.StatisticDiff(tb, 100, 5, 2, 1)
    assert str(d) == str(std.StatisticDiff(std.Traceback((("a.py", 1),)),
                                           100, -5, 2, 1))
    assert repr(d) == repr(std.StatisticDiff(std.Traceback((("a.py", 1),)),
                                             100, -5, 2, 1))
    assert str(a) == str(std.Statistic(std.Traceback((("a.py", 1),)),
                                       100, 2))
    big = pytm.Statistic(tb, 5 * 1024 ** 3, 3)
    assert str(big) == str(std.Statistic(std.Traceback((("a.py", 1),)),
                                         5 * 1024 ** 3, 3))


def test_errors_match_stdlib():
    """GIVEN bad arguments WHEN the API is called THEN the stdlib's
    exception types and messages."""
    s, p = both(RAW)
    for bad in (("foo",), ("traceback", True)):
        with pytest.raises(ValueError) as ours:
            p.statistics(*bad)
        with pytest.raises(ValueError) as theirs:
            s.statistics(*bad)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError) as ours:
        pytm.exact.start(0)
    with pytest.raises(ValueError) as theirs:
        std.start(0)
    assert str(ours.value) == str(theirs.value)
    assert not pytm.is_tracing()
    with pytest.raises(RuntimeError) as ours:
        pytm.take_snapshot()
    assert str(ours.value) == ("the tracemalloc module must be tracing "
                               "memory allocations to take a snapshot")
    assert pytm.get_object_traceback(object()) is None


def test_exact_module_has_the_stdlib_public_names():
    """GIVEN the stdlib's documented names WHEN looked up on pytm.exact
    and pytm THEN every one exists."""
    names = ["BaseFilter", "DomainFilter", "Filter", "Frame", "Snapshot",
             "Statistic", "StatisticDiff", "Trace", "Traceback",
             "clear_traces", "get_object_traceback", "get_traceback_limit",
             "get_traced_memory", "get_tracemalloc_memory", "is_tracing",
             "reset_peak", "start", "stop", "take_snapshot"]
    for mod in (pytm, pytm.exact):
        missing = [n for n in names if not hasattr(mod, n)]
        assert missing == [], mod.__name__


def test_user_filter_subclass_is_called_per_trace():
    """GIVEN a BaseFilter subclass with its own _match
    WHEN filter_traces uses it
    THEN it decides (pytm falls back to calling it), like the stdlib."""

    class Big(pytm.BaseFilter):
        def _match(self, trace):
            return trace[1] >= 66

    p = pytm.Snapshot(RAW, 2).filter_traces([Big(True)])
    assert sorted(t.size for t in p.traces) == [66, 5000]
