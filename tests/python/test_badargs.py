"""Wrong arguments and hostile files (issue 6).

Every public function that the stdlib tracemalloc also has must fail on
bad input with the same exception type as tracemalloc (or succeed where
tracemalloc succeeds): the outcome is computed for both modules and
compared, so a test fails as soon as pytm diverges. Damaged .pytm files
must raise pytm.DumpError naming the file, and ``pytmtop FILE`` must
print one clear line and exit 1 (never crash).
"""

from __future__ import annotations

import os
import struct
import subprocess
import tracemalloc as std
import zlib
from pathlib import Path

import pytest

import pytm

RAW = [
    (0, 10, (("a.py", 2), ("b.py", 4)), 3),
    (1, 2, (("a.py", 5), ("b.py", 4)), 3),
    (0, 5000, (("c.py", 578), ("a.py", 2)), None),
]


def outcome(fn, *args, **kwargs):
    """The exception type name fn raises, or None."""
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the type is what we compare
        return type(e).__name__
    return None


# ---- start() and the no-argument functions (subprocess: they trace) ----

START_CODE = r"""
import json, tracemalloc, pytm
def outcome(fn, *a, **k):
    try:
        fn(*a, **k)
    except Exception as e:
        return type(e).__name__
    return None
cases = {
    "zero": ((0,), {}), "too_big": ((2**16,), {}),
    "str": (("x",), {}), "none": ((None,), {}), "float": ((1.0,), {}),
    "two_args": ((1, 2), {}), "bad_kw": ((), {"bogus": 1}),
}
out = {}
for name, (a, k) in cases.items():
    mine = outcome(pytm.start, *a, **k); pytm.stop()
    std = outcome(tracemalloc.start, *a, **k); tracemalloc.stop()
    out[name] = [mine, std]
# pytm-only options: sample_interval, arena_size
extra = {
    "interval_zero": {"sample_interval": 0},
    "interval_neg": {"sample_interval": -1},
    "interval_str": {"sample_interval": "x"},
    "interval_float": {"sample_interval": 4096.0},
    "arena_neg": {"arena_size": -1},
    "arena_tiny": {"arena_size": 4096},
    "arena_str": {"arena_size": "big"},
}
for name, k in extra.items():
    out[name] = [outcome(pytm.start, **k), pytm.is_tracing()]
    pytm.stop()
# functions without arguments: one bogus positional argument
noarg = ["stop", "is_tracing", "get_traced_memory", "reset_peak",
         "clear_traces", "get_traceback_limit", "get_tracemalloc_memory",
         "take_snapshot"]
for name in noarg:
    out["extra_" + name] = [outcome(getattr(pytm, name), 1),
                            outcome(getattr(tracemalloc, name), 1)]
out["get_object_traceback_noarg"] = [outcome(pytm.get_object_traceback),
                                     outcome(tracemalloc.get_object_traceback)]
out["take_snapshot_not_tracing"] = [outcome(pytm.take_snapshot),
                                    outcome(tracemalloc.take_snapshot)]
out["still_tracing"] = pytm.is_tracing()
print(json.dumps(out))
"""


HUGE_CODE = r"""
import json, tracemalloc, pytm
out = []
for mod in (pytm, tracemalloc):
    try:
        mod.start(2**70)
        out.append(None)
    except Exception as e:
        out.append(type(e).__name__)
    mod.stop()
print(json.dumps(out))
"""


def test_start_huge_nframe_overflow_like_stdlib(run_py):
    """GIVEN nframe=2**70 WHEN start() THEN OverflowError, as stdlib."""
    mine, stdlib = run_py(HUGE_CODE).json()
    assert stdlib == "OverflowError"
    assert mine == stdlib


def test_start_and_noarg_functions_match_stdlib(run_py):
    """GIVEN wrong arguments to start() and to every argument-less
    function
    WHEN called on pytm and on the stdlib tracemalloc
    THEN both raise the same exception type; pytm's own options reject
    zero/negative/non-int values (ValueError/TypeError) and leave nothing
    tracing."""
    out = run_py(START_CODE).json()
    assert out.pop("still_tracing") is False
    for name in ("interval_zero", "interval_neg", "arena_neg", "arena_tiny"):
        exc, tracing = out.pop(name)
        assert exc == "ValueError", name
        assert tracing is False, name
    for name in ("interval_str", "interval_float", "arena_str"):
        exc, tracing = out.pop(name)
        assert exc == "TypeError", name
        assert tracing is False, name
    for name, (mine, stdlib) in out.items():
        assert mine == stdlib, "%s: pytm %s, tracemalloc %s" % (
            name, mine, stdlib)
    # the comparison is not vacuous: these do fail in the stdlib
    assert out["zero"][1] == "ValueError"
    assert out["str"][1] == "TypeError"
    assert out["take_snapshot_not_tracing"][1] == "RuntimeError"


# ---- Filter, DomainFilter, Snapshot methods (no tracing needed) --------

FILTER_CASES = [
    ((), {}),
    ((True,), {}),
    ((True, None), {}),
    ((True, 42), {}),
    ((True, "a.py", "x"), {}),
    ((True, "a.py", None, False, "d"), {}),
    ((True, "a.py"), {"bogus": 1}),
    ((True, "a.py", 3, True, 0), {}),
]


@pytest.mark.parametrize("args,kwargs", FILTER_CASES)
def test_filter_args_like_stdlib(args, kwargs):
    """GIVEN Filter arguments, good or bad
    WHEN Filter is built by pytm and by tracemalloc
    THEN the outcome (exception type or success) is the same."""
    assert outcome(pytm.Filter, *args, **kwargs) == \
        outcome(std.Filter, *args, **kwargs)


@pytest.mark.parametrize("args", [(), (True,), (True, "x"), (True, 1, 2)])
def test_domain_filter_args_like_stdlib(args):
    assert outcome(pytm.DomainFilter, *args) == outcome(std.DomainFilter, *args)


def _snapshots():
    return pytm.Snapshot(list(RAW), 3), std.Snapshot(list(RAW), 3)


SNAPSHOT_CALLS = [
    ("statistics", ("bogus",), {}),
    ("statistics", (42,), {}),
    ("statistics", ("traceback",), {"cumulative": True}),
    ("statistics", (), {}),
    ("compare_to", (None, "lineno"), {}),
    ("compare_to", ("not a snapshot", "lineno"), {}),
    ("compare_to", (42, "lineno"), {}),
    ("compare_to", ("SELF", "bogus"), {}),
    ("filter_traces", (42,), {}),
    ("filter_traces", ([42],), {}),
    ("filter_traces", ((),), {}),
    ("dump", (None,), {}),
]


@pytest.mark.parametrize("method,args,kwargs", SNAPSHOT_CALLS)
def test_snapshot_methods_like_stdlib(method, args, kwargs):
    """GIVEN a snapshot of each module
    WHEN a method gets a bad argument (unknown key type, non-snapshot to
    compare_to, non-filters, ...)
    THEN pytm raises the same exception type as tracemalloc."""
    mine, theirs = _snapshots()

    def call(snap):
        a = tuple(snap if x == "SELF" else x for x in args)
        return outcome(getattr(snap, method), *a, **kwargs)

    assert call(mine) == call(theirs)


def test_snapshot_methods_reject_the_obvious():
    """The table above is not vacuous: the key cases do raise."""
    mine, _ = _snapshots()
    with pytest.raises(ValueError):
        mine.statistics("bogus")
    with pytest.raises(ValueError):
        mine.statistics("traceback", cumulative=True)
    with pytest.raises(Exception):
        mine.compare_to(None, "lineno")


def test_traceback_format_bad_limit_like_stdlib():
    mine, theirs = _snapshots()
    tb_m = mine.traces[0].traceback
    tb_s = theirs.traces[0].traceback
    assert outcome(tb_m.format, "x") == outcome(tb_s.format, "x")


# ---- damaged .pytm files ----------------------------------------------

HEADER = 48          # v1.0 file header (docs/dump-format.md)
ENTRY = 40           # section table entry


def _with_header_crc(data: bytearray) -> bytes:
    """Recomputes the header CRC (bytes [0, table end), CRC field 0), so
    that a damaged field is judged on its own, not by the checksum."""
    n_sections, entry_size = struct.unpack_from("<II", data, 32)
    end = HEADER + min(n_sections, 64) * entry_size
    data[40:44] = b"\0\0\0\0"
    crc = zlib.crc32(bytes(data[:end])) & 0xFFFFFFFF
    struct.pack_into("<I", data, 40, crc)
    return bytes(data)


def _damage(good: bytes, kind: str) -> bytes:
    data = bytearray(good)
    if kind == "truncated":
        return bytes(data[: len(data) * 2 // 3])
    if kind == "bitflip":
        data[len(data) // 2] ^= 0x10
        return bytes(data)
    if kind == "zero_length":
        return b""
    if kind == "wrong_version":
        struct.pack_into("<H", data, 12, 99)
        return _with_header_crc(data)
    if kind == "wrong_endian":
        data[8:12] = bytes([1, 2, 3, 4])
        return bytes(data)
    if kind == "oversized_count":
        # first section claims a 2**60-byte payload
        struct.pack_into("<Q", data, HEADER + 24, 1 << 60)
        return _with_header_crc(data)
    if kind == "oversized_sections":
        struct.pack_into("<I", data, 32, 0xFFFFFFFF)
        return _with_header_crc(data)
    raise AssertionError(kind)


DAMAGES = ["truncated", "bitflip", "zero_length", "wrong_version",
           "wrong_endian", "oversized_count", "oversized_sections"]


@pytest.fixture
def good_dump(tmp_path) -> bytes:
    path = tmp_path / "good.pytm"
    pytm.Snapshot(list(RAW) * 20, 3).dump(path)
    data = path.read_bytes()
    assert data[:8] == b"PYTMDUMP"
    return data


@pytest.mark.parametrize("kind", DAMAGES)
def test_load_damaged_file_raises_naming_it(tmp_path, good_dump, kind):
    """GIVEN a .pytm file truncated, bit-flipped, empty, with a wrong
    version or byte order, or an absurd count
    WHEN Snapshot.load reads it
    THEN pytm.DumpError (a ValueError) names the file; nothing crashes."""
    path = tmp_path / ("bad-%s.pytm" % kind)
    path.write_bytes(_damage(good_dump, kind))
    with pytest.raises(pytm.DumpError) as exc:
        pytm.Snapshot.load(path)
    assert isinstance(exc.value, ValueError)
    assert str(path) in str(exc.value)


def test_load_good_file_still_works(tmp_path, good_dump):
    """The damage above is what fails, not the file: the intact bytes
    load (and a recomputed header CRC alone changes nothing)."""
    path = tmp_path / "good.pytm"
    path.write_bytes(_with_header_crc(bytearray(good_dump)))
    assert len(pytm.Snapshot.load(path).traces) == len(RAW) * 20


def _pytmtop() -> Path:
    env = os.environ.get("PYTMTOP")
    if env and Path(env).exists():
        return Path(env)
    bd = os.environ.get("PYTM_BUILD_DIR")
    if not bd:
        bd = str(Path(pytm.__file__).resolve().parent.parent.parent)
    tool = Path(bd) / "pytmtop"
    if not tool.exists():
        pytest.skip("pytmtop not built")
    return tool


@pytest.mark.parametrize("kind", DAMAGES + ["missing"])
def test_pytmtop_damaged_file_one_line_exit_1(tmp_path, good_dump, kind):
    """GIVEN a damaged (or missing) .pytm file
    WHEN `pytmtop --once FILE` opens it
    THEN it exits 1 with a single line on stderr naming the file, and
    nothing on stdout; no signal, no sanitizer report."""
    tool = _pytmtop()
    path = tmp_path / ("bad-%s.pytm" % kind)
    if kind != "missing":
        path.write_bytes(_damage(good_dump, kind))
    proc = subprocess.run([str(tool), "--once", str(path)],
                          capture_output=True, text=True, timeout=60)
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert str(path) in lines[0]
    assert proc.stdout == ""


def test_pytmtop_good_file_exit_0(tmp_path, good_dump):
    """Control: the undamaged file is shown and pytmtop exits 0."""
    tool = _pytmtop()
    path = tmp_path / "good.pytm"
    path.write_bytes(good_dump)
    proc = subprocess.run([str(tool), "--once", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "a.py" in proc.stdout
