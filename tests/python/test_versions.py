"""What differs between CPython 3.11, 3.12 and 3.13, tested on the running
interpreter (.ci/test runs this file once per version it finds).

- frame capture (recorder/core/frames.c): tracebacks equal the stdlib's
  through C calls, generators, coroutines, class bodies and comprehensions,
  where 3.13 puts shim frames without a code object on the stack;
- sub-interpreters (recorder/core/hooks.c, "Sub-interpreters"): the main
  interpreter is traced, others pass through, totals stay consistent
  while they allocate on their own GILs;
- 3.13's reference tracer (recorder/core/reftrace.h): objects reused from
  free lists are re-tagged, another tracer is chained and put back, and
  the stdlib's tracemalloc emptying the slot is survived.
"""

from __future__ import annotations

import sys

import pytest

PY313 = sys.version_info >= (3, 13)

# Allocations reached through every kind of frame the versions differ on.
# Each `keep` line allocates a 4000-byte bytearray that stays alive.
SHAPES = r'''
import asyncio, functools
keep = []

def leaf():
    keep.append(bytearray(4000))            # LEAF

def via_map():
    list(map(lambda _: leaf(), range(3)))   # C calls back into Python

def via_sorted():
    sorted(range(3), key=lambda k: (leaf(), k)[1])

def gen():
    for _ in range(3):
        leaf()
        yield

async def coro():
    leaf()
    await asyncio.sleep(0)
    leaf()

class Body:
    leaf()

def comp():
    return [leaf() for _ in range(2)]

def deep(n):
    return leaf() if n == 0 else deep(n - 1)

def run():
    via_map()
    via_sorted()
    list(gen())
    asyncio.run(coro())
    comp()
    deep(30)
    functools.partial(leaf)()
'''

COMPARE = r'''
import json, sys
mode, nframe = sys.argv[1], int(sys.argv[2])
import pytm
import tracemalloc
tm = pytm if mode == "pytm" else tracemalloc
ns = {}
code = compile(SHAPES, "shapes.py", "exec")
if mode == "pytm":
    tm.start(nframe, sample_interval=1)
else:
    tm.start(nframe)
exec(code, ns)
ns["run"]()
snap = tm.take_snapshot()
tm.stop()
tbs = sorted(
    [[(f.filename, f.lineno) for f in t.traceback], t.traceback.total_nframe]
    for t in snap.traces
    if t.traceback[-1].filename == "shapes.py" and t.size >= 4000)
print(json.dumps(tbs))
'''


@pytest.mark.parametrize("nframe", [1, 5, 64])
def test_tracebacks_equal_stdlib_through_every_frame_kind(run_py, nframe):
    """GIVEN allocations reached through C callbacks (map, sorted's key),
    a generator, a coroutine under asyncio, a class body, a
    comprehension, 31 recursive calls and functools.partial
    WHEN they run under pytm exact mode and under the stdlib tracemalloc
    THEN every 4000-byte block has the same traceback (file, line of each
    frame) and the same total_nframe in both."""
    code = "SHAPES = %r\n%s" % (SHAPES, COMPARE)
    mine = run_py(code, "pytm", str(nframe)).json()
    std = run_py(code, "stdlib", str(nframe)).json()
    assert len(std) >= 15, std
    assert mine == std


SUBINTERP = r'''
import json, sys, threading
import pytm

def new_interp(isolated):
    if sys.version_info >= (3, 13):
        import _interpreters as m
        return m, m.create("isolated" if isolated else "legacy")
    import _xxsubinterpreters as m
    if sys.version_info >= (3, 12):
        return m, m.create(isolated=isolated)
    return m, m.create()

WORK = """
keep = []
for i in range(20000):
    keep.append(bytearray(100 + i % 900))
    if len(keep) > 500:
        del keep[:250]
d = {str(i): [i] * 10 for i in range(5000)}
del keep, d
"""

interval = int(sys.argv[1])
interps = [new_interp(isolated=(k % 2 == 0)) for k in range(4)]
pytm.start(1, sample_interval=interval)

def drive(m, iid):
    for _ in range(3):
        m.run_string(iid, WORK)

threads = [threading.Thread(target=drive, args=mi) for mi in interps]
for t in threads:
    t.start()
mine = []
for i in range(2000):
    mine.append(bytearray(1000))                # MAIN
for t in threads:
    t.join()
for m, iid in interps:
    m.destroy(iid)
cur, peak = pytm.get_traced_memory()
snap = pytm.take_snapshot()
lines = {}
for st in snap.statistics("lineno"):
    f = st.traceback[0]
    lines["%s:%d" % (f.filename, f.lineno)] = st.size
stats = pytm._recorder._stats()
pytm.stop()
print(json.dumps({"cur": cur, "sum": sum(t.size for t in snap.traces),
                  "lines": lines, "main_line": sys._getframe().f_lineno}))
'''


def _main_line() -> int:
    for i, line in enumerate(SUBINTERP.splitlines(), 1):
        if "# MAIN" in line:
            return i  # line 1 is the empty line SUBINTERP starts with


@pytest.mark.parametrize("interval", [1, 4096])
def test_subinterpreters_allocating_do_not_break_totals(run_py, interval):
    """GIVEN pytm tracing in the main interpreter, exact or sampled
    WHEN four sub-interpreters (two isolated with their own GIL from 3.12
    on, two sharing the main GIL) allocate and free about 6 MB each from
    their own threads while the main thread allocates 2000 x 1000 bytes
    THEN nothing crashes, the main thread's line is traced as usual,
    get_traced_memory() equals the sum of the traces in exact mode, and
    from 3.12 on no sub-interpreter code (<string>) is attributed."""
    res = run_py(SUBINTERP, str(interval), timeout=600).json()
    main = res["lines"].get("<string>:%d" % _main_line(), 0)
    if interval == 1:
        # the two ints get_traced_memory() returned are traced too
        assert 0 <= res["sum"] - res["cur"] <= 128, res
        assert main >= 2000 * 1000
    else:
        assert 0.5 * 2000 * 1000 < main < 2.0 * 2000 * 1000, res["lines"]
    # sub-interpreters run WORK as <string> too, at lines 4 and 7
    sub = sum(v for k, v in res["lines"].items()
              if k in ("<string>:4", "<string>:7"))
    if sys.version_info >= (3, 12):
        assert sub == 0, res["lines"]


@pytest.mark.skipif(sys.version_info < (3, 12),
                    reason="3.11 has no per-interpreter GIL; every "
                           "interpreter shares the one traced GIL")
def test_start_outside_main_interpreter_refused(run_py):
    """GIVEN a sub-interpreter that shares the main GIL (and one with its own)
    WHEN it imports pytm and calls start()
    THEN start() raises RuntimeError naming the main interpreter (and the
    isolated one cannot import the extension at all); the main
    interpreter can still trace."""
    res = run_py(r'''
import json, sys, pytm
if sys.version_info >= (3, 13):
    import _interpreters as m
    legacy, iso = m.create("legacy"), m.create("isolated")
else:
    import _xxsubinterpreters as m
    legacy, iso = m.create(isolated=False), m.create(isolated=True)
out = {}
m.run_string(legacy, """
import pytm
try:
    pytm.start()
    res = "started"
except RuntimeError as e:
    res = str(e)
open(%r, "w").write(res)
""" % (sys.argv[1] + ".legacy"))
try:
    # 3.13's low-level API returns the exception's description; 3.12's
    # raises it
    err = m.run_string(iso, "import pytm._recorder")
    out["iso"] = "imported" if err is None else str(err)
except Exception as e:
    out["iso"] = str(e)
out["legacy"] = open(sys.argv[1] + ".legacy").read()
pytm.start(sample_interval=1)
x = bytearray(10000)
out["main"] = pytm.get_traced_memory()[0] >= 10000
pytm.stop()
print(json.dumps(out))
''', "/tmp/pytm-subinterp-%d" % id(run_py)).json()
    assert "main interpreter" in res["legacy"], res
    assert "does not support" in res["iso"] or "subinterpreter" in \
        res["iso"].lower(), res
    assert res["main"] is True


REFTRACE = r'''
import json, sys, gc
import pytm, pytm._recorder as rec
import tracemalloc as stdlib
out = {}

def probe(tm):
    gc.collect()
    obj = []
    obj = None
    obj = []                                        # REUSE
    tb = tm.get_object_traceback(obj)
    return tb[0].lineno if tb is not None else None

# 1. alone
pytm.start(1, sample_interval=1)
out["alone"] = [rec._reftrace_active(), probe(pytm)]
pytm.stop()
out["after_stop"] = rec._reftrace_active()

# 2. on top of the stdlib's tracer: chained (both re-tag), then put back
stdlib.start()
pytm.start(1, sample_interval=1)
out["chained"] = [rec._reftrace_active(), probe(pytm)]
out["stdlib_chained"] = probe(stdlib)
pytm.stop()
out["stdlib_after"] = probe(stdlib)
stdlib.stop()

# 3. the stdlib starts and stops while pytm traces: the slot is emptied
pytm.start(1, sample_interval=1)
stdlib.start()
stdlib.stop()
out["emptied"] = rec._reftrace_active()
junk = [[i] for i in range(1000)]
cur = pytm.get_traced_memory()[0]
snap = pytm.take_snapshot()
out["consistent"] = [cur, sum(t.size for t in snap.traces)]
pytm.stop()

# 4. sampled mode installs nothing
pytm.start(1)
out["sampled"] = rec._reftrace_active()
pytm.stop()
print(json.dumps(out))
'''


def _reuse_line() -> int:
    for i, line in enumerate(REFTRACE.splitlines(), 1):
        if "# REUSE" in line:
            return i


@pytest.mark.skipif(not PY313, reason="PyRefTracer_SetTracer is new in 3.13")
def test_reftracer_retags_chains_and_survives_the_stdlib(run_py):
    """GIVEN CPython 3.13 and pytm in exact mode
    WHEN a list is freed to the free list and reused
    THEN its traceback is the reuse line; on top of the stdlib's tracer
    both tracers keep working and pytm's stop() puts the stdlib's back;
    when the stdlib's start/stop empties the slot pytm goes on tracing
    with consistent totals; sampled mode installs no tracer."""
    res = run_py(REFTRACE).json()
    line = _reuse_line()
    assert res["alone"] == [True, line], res
    assert res["after_stop"] is False
    assert res["chained"] == [True, line], res
    assert res["stdlib_chained"] == line, res
    assert res["stdlib_after"] == line, res
    assert res["emptied"] is False, res
    cur, total = res["consistent"]
    assert 0 <= total - cur <= 64, res  # `cur` itself is traced
    assert res["sampled"] is False


def test_reftracer_absent_before_313(run_py):
    """GIVEN a version before 3.13 (or 3.13: the API says which)
    WHEN pytm traces in exact mode
    THEN _reftrace_active() is False before 3.13 and True on 3.13."""
    res = run_py(r'''
import json, pytm, pytm._recorder as rec
pytm.start(sample_interval=1)
print(json.dumps(rec._reftrace_active()))
pytm.stop()
''').json()
    assert res is PY313
