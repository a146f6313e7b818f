"""What `import pytm` and start() load into the traced process (issue 13:
peak RSS within 1.02x untraced).

A process that only traces must not pay for the snapshot side: its
Python modules (Snapshot, Statistic, Filter: about 100 KiB of code
objects) load on first use of one of their names (PEP 562), untraced;
SnapData and the model (pytm._snapdata) on the first snapshot; the dump
codec and liblz4 (pytm._dumpio) on the first dump or load; and
no heavy stdlib module (typing) comes in with the package.
"""

import sys

import pytest

import pytm

LOADED = """
import json, sys
before = set(sys.modules)
import pytm
pytm.start(1)
x = [bytearray(100) for _ in range(1000)]
pytm.stop()
maps = open("/proc/self/maps").read()
print(json.dumps([sorted(set(sys.modules) - before), "liblz4" in maps]))
"""

SNAPSHOT_SIDE = ("pytm._snapshot", "pytm._format", "pytm._filters",
                 "pytm._snapdata", "pytm._dumpio")


def test_import_and_trace_load_no_snapshot_side(run_cmd):
    """GIVEN a fresh interpreter without site (-S: nothing preloaded)
    WHEN it imports pytm, starts, allocates and stops
    THEN neither the snapshot side's modules, the dump codec, liblz4
    nor typing are loaded."""
    res = run_cmd([sys.executable, "-S", "-c", LOADED])
    loaded, lz4 = res.json()
    loaded = set(loaded)
    assert not lz4
    assert "pytm._tracing" in loaded
    for name in SNAPSHOT_SIDE + ("typing",):
        assert name not in loaded, sorted(loaded)


def test_lazy_names_resolve_and_match_all(run_py):
    """GIVEN the package's table of lazily loaded names
    WHEN each submodule is imported
    THEN the table lists exactly its __all__, every name resolves to the
    submodule's object, and `from pytm import *` binds them all."""
    res = run_py("""
        import importlib, json, pytm
        out = {}
        for sub in ("_format", "_filters", "_snapshot"):
            mod = importlib.import_module("pytm." + sub)
            mine = sorted(n for n, s in pytm._LAZY.items() if s == "pytm." + sub)
            same = all(getattr(pytm, n) is getattr(mod, n) for n in mine)
            out[sub] = [mine, sorted(mod.__all__), same]
        ns = {}
        exec("from pytm import *", ns)
        out["star"] = sorted(set(pytm.__all__) - set(ns))
        out["dir"] = sorted(set(pytm.__all__) - set(dir(pytm)))
        print(json.dumps(out))
    """)
    out = res.json()
    for sub in ("_format", "_filters", "_snapshot"):
        mine, theirs, same = out[sub]
        assert mine == theirs and same, (sub, mine, theirs)
    assert out["star"] == [] and out["dir"] == []


def test_unknown_attribute_is_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        pytm.no_such_name  # noqa: B018


def test_dump_and_load_bring_the_codec_in(run_py, tmp_path):
    """GIVEN a snapshot
    WHEN it is dumped and loaded back (and pickled)
    THEN pytm._dumpio and liblz4 come in then, and the round trip holds."""
    res = run_py("""
        import json, pickle, sys
        import pytm
        path = sys.argv[1]
        snap = pytm.Snapshot([(0, 100, (("a.py", 1),), 1)], 1)
        before = "pytm._dumpio" in sys.modules
        snap.dump(path)
        back = pytm.Snapshot.load(path)
        again = pickle.loads(pickle.dumps(back._data))
        maps = open("/proc/self/maps").read()
        print(json.dumps([before, "pytm._dumpio" in sys.modules,
                          "liblz4" in maps, back._data.equals(snap._data),
                          again.equals(snap._data)]))
    """, str(tmp_path / "s.pytm"))
    assert res.json() == [False, True, True, True, True]


def test_dumpio_refuses_what_is_not_a_snapdata():
    from pytm import _dumpio
    with pytest.raises(TypeError):
        _dumpio.to_bytes(object())


def test_old_spellings_of_the_moved_types_resolve():
    from pytm import _recorder, _snapdata
    assert _recorder.SnapData is _snapdata.SnapData
    assert _recorder.DumpError is _snapdata.DumpError is pytm.DumpError
    with pytest.raises(AttributeError):
        _recorder.no_such_name  # noqa: B018


@pytest.mark.parametrize("interval", [1, 64])
def test_first_snapshot_while_tracing_does_not_trace_pytm_import(run_py,
                                                                  interval):
    """GIVEN exact tracing (interval 1: the guard) or sampled tracing at
    64 bytes (nearly every block sampled: the parked countdown) started
    right after `import pytm`
    WHEN the first take_snapshot() imports the snapshot side
    THEN that import's allocations are not in the snapshot (tracemalloc
    never traces its own module either)."""
    res = run_py("""
        import json, sys
        import pytm
        pytm.start(25, sample_interval=%d)
        snap = pytm.take_snapshot()
        pytm.stop()
        loaded = "pytm._snapshot" in sys.modules
        size = sum(t.size for t in snap.traces
                   if any("importlib" in f.filename for f in t.traceback))
        print(json.dumps([loaded, size]))
    """ % interval)
    loaded, size = res.json()
    assert loaded and size < 4096, size


def test_sampled_start_maps_a_small_trace_index(run_py):
    """GIVEN sampled mode (few live samples)
    WHEN tracing starts
    THEN the trace index starts at 256 slots (4 KiB; it grows on demand):
    its pages are hashed to, so a big one soon is all resident."""
    res = run_py("""
        import json, pytm
        pytm.start(1)
        cap = pytm._recorder._stats()["traces_capacity"]
        keep = [bytearray(64) for _ in range(200000)]  # ~800 samples
        grown = pytm._recorder._stats()
        pytm.stop()
        print(json.dumps([cap, grown["traces_capacity"], grown["traces"]]))
    """)
    cap, grown, live = res.json()
    assert cap == 256
    assert live > 256 and grown > live


def test_import_untraced_checks_its_arguments():
    from pytm import _recorder
    for bad in ((), (1,), ("pytm", 2), ("pytm", "x", []), ("a", "b", {}, 4)):
        with pytest.raises(TypeError):
            _recorder._import_untraced(*bad)
    assert _recorder._import_untraced("pytm._tracing", "start") is pytm.start
