"""What `import pytm` and start() load into the traced process (issue 13:
peak RSS within 1.02x untraced).

A process that only traces must not pay for the snapshot side: its
Python modules (Snapshot, Statistic, Filter: about 100 KiB of code
objects) load on first use of one of their names (PEP 562), and no
heavy stdlib module (typing) comes in with the package.
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
print(json.dumps(sorted(set(sys.modules) - before)))
"""

SNAPSHOT_SIDE = ("pytm._snapshot", "pytm._format", "pytm._filters")


def test_import_and_trace_load_no_snapshot_side(run_cmd):
    """GIVEN a fresh interpreter without site (-S: nothing preloaded)
    WHEN it imports pytm, starts, allocates and stops
    THEN neither the snapshot side's modules nor typing are imported."""
    res = run_cmd([sys.executable, "-S", "-c", LOADED])
    loaded = set(res.json())
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
            mine = sorted(n for n, s in pytm._LAZY.items() if s == sub)
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
