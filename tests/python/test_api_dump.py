"""Snapshot.dump/load (.pytm format), corrupt files, and the conversions
to and from the stdlib tracemalloc.Snapshot."""

from __future__ import annotations

import os
import pickle
import tracemalloc as std

import pytest

import pytm

RAW = [
    (0, 10, (("a.py", 2), ("b.py", 4)), 3),
    (1, 2, (("a.py", 5), ("b.py", 4)), 3),
    (2, 66, (("b.py", 1),), 1),
    (3, 7, (("<unknown>", 0),), 1),
    (0, 5000, (("c\u00e9.py", 578), ("a.py", 2)), None),
]


def texts(items):
    return [(str(x), repr(x)) for x in items]


def test_dump_load_round_trip_is_equal(tmp_path):
    """GIVEN a snapshot with a custom attribute
    WHEN it is dumped to a .pytm file and loaded back
    THEN traces, traceback_limit, statistics and the attribute are equal,
    and the file is not a pickle."""
    snap = pytm.Snapshot(RAW, 7)
    snap.note = {"run": 3}
    path = tmp_path / "s.pytm"
    snap.dump(path)
    with open(path, "rb") as fp:
        head = fp.read(2)
    assert head[:1] != b"\x80"  # pickle protocol marker
    back = pytm.Snapshot.load(path)
    assert back.traces == snap.traces
    assert back.traceback_limit == 7
    assert back.note == {"run": 3}
    for key in ("filename", "lineno", "traceback"):
        assert texts(back.statistics(key)) == texts(snap.statistics(key))
    assert back.traces[-1].traceback.total_nframe is None


def test_live_snapshot_round_trip(tmp_path, run_py):
    """GIVEN a live exact-mode snapshot in a child process
    WHEN dumped and loaded
    THEN the loaded traces equal the original ones."""
    res = run_py("""
        import json, sys, pytm.exact as tm
        tm.start(3)
        data = [bytes(100 + i) for i in range(500)]
        s = tm.take_snapshot()
        tm.stop()
        s.dump(sys.argv[1])
        b = tm.Snapshot.load(sys.argv[1])
        print(json.dumps([b.traces == s.traces, len(s.traces),
                          str(b.statistics("lineno")[0]) ==
                          str(s.statistics("lineno")[0])]))
    """, str(tmp_path / "live.pytm"))
    equal, n, first = res.json()
    assert equal and first and n >= 500


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_corrupt_file_raises_dump_error_naming_file(tmp_path, damage):
    """GIVEN a damaged .pytm file (truncated, a flipped byte, foreign
    bytes, empty)
    WHEN Snapshot.load reads it
    THEN pytm.DumpError (a ValueError) is raised and names the file."""
    path = tmp_path / ("bad-%s.pytm" % damage)
    pytm.Snapshot(RAW * 50, 3).dump(path)
    data = path.read_bytes()
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        mid = len(data) // 2
        data = data[:mid] + bytes([data[mid] ^ 0x55]) + data[mid + 1:]
    elif damage == "garbage":
        data = pickle.dumps(std.Snapshot(RAW, 3))
    else:
        data = b""
    path.write_bytes(data)
    with pytest.raises(pytm.DumpError) as exc:
        pytm.Snapshot.load(path)
    assert isinstance(exc.value, ValueError)
    assert str(path) in str(exc.value)


def test_missing_file_raises_oserror(tmp_path):
    """GIVEN no file WHEN loaded THEN OSError (FileNotFoundError)."""
    with pytest.raises(FileNotFoundError):
        pytm.Snapshot.load(tmp_path / "nope.pytm")


def test_to_and_from_tracemalloc_round_trip(tmp_path):
    """GIVEN a pytm snapshot
    WHEN converted to a stdlib Snapshot, pickled by the stdlib, loaded by
    the stdlib and converted back
    THEN the stdlib sees the same statistics and the round trip is equal."""
    ours = pytm.Snapshot(RAW, 4)
    theirs = ours.to_tracemalloc()
    assert type(theirs) is std.Snapshot
    assert theirs.traceback_limit == 4
    for key in ("filename", "lineno", "traceback"):
        assert texts(theirs.statistics(key)) == texts(ours.statistics(key))
    path = tmp_path / "std.pickle"
    theirs.dump(str(path))
    back = pytm.Snapshot.from_tracemalloc(std.Snapshot.load(str(path)))
    assert isinstance(back, pytm.Snapshot)
    assert back.traces == ours.traces
    assert back.traceback_limit == 4


def test_load_never_unpickles(tmp_path):
    """GIVEN a stdlib pickle dump
    WHEN pytm.Snapshot.load is asked to read it
    THEN it refuses (DumpError) instead of unpickling."""
    path = tmp_path / "std.pickle"
    std.Snapshot(RAW, 2).dump(str(path))
    with pytest.raises(pytm.DumpError):
        pytm.Snapshot.load(path)
