"""The tracemalloc API on a live pytm session (each case in a fresh
interpreter): exact default through pytm.exact and PYTM_SAMPLE_INTERVAL,
get_object_traceback, snapshots free of pytm's own blocks, sampled-mode
figures."""

from __future__ import annotations


def test_env_var_selects_exact_mode_for_import_pytm(run_py):
    """GIVEN PYTM_SAMPLE_INTERVAL=1 in the environment
    WHEN `import pytm as tracemalloc; tracemalloc.start()` runs
    THEN tracing is exact (interval 1), while without it pytm samples and
    pytm.exact.start() is exact."""
    code = """
        import json, pytm, pytm.exact
        pytm.start(); a = pytm.get_sample_interval(); pytm.stop()
        pytm.exact.start(); b = pytm.get_sample_interval(); pytm.stop()
        print(json.dumps([a, b]))
    """
    assert run_py(code, env={"PYTM_SAMPLE_INTERVAL": "1"}).json() == [1, 1]
    a, b = run_py(code, env={"PYTM_SAMPLE_INTERVAL": ""}).json()
    assert a > 1 and b == 1


def test_get_object_traceback_points_at_the_allocation(run_py):
    """GIVEN exact tracing with 3 frames
    WHEN an object is allocated through two calls
    THEN get_object_traceback gives those frames, oldest first, and None
    for an object made before start()."""
    res = run_py("""
        import json, sys, pytm.exact as tm
        early = bytes(5000)
        def inner():
            return bytes(5000)          # line 5
        def outer():
            return inner()              # line 7
        tm.start(3)
        obj = outer()                   # line 9
        tb = tm.get_object_traceback(obj)
        print(json.dumps([[(f.filename, f.lineno) for f in tb],
                          tm.get_object_traceback(early) is None]))
        tm.stop()
    """)
    frames, early_none = res.json()
    assert [line for _, line in frames] == [9, 7, 5]
    assert early_none


def test_snapshot_holds_no_pytm_blocks(run_py):
    """GIVEN exact tracing WHEN take_snapshot() runs twice THEN the
    second snapshot holds no block allocated while it was being taken
    (but does hold the first Snapshot object, a caller's object)."""
    res = run_py("""
        import json, pytm.exact as tm, pytm  # line 2 (line 1 is empty)
        tm.start(10)
        a = tm.take_snapshot()
        b = tm.take_snapshot()
        tm.stop()
        # blocks allocated while line 5 ran (the Snapshot `a` of line 4
        # is the caller's object and is in b, as with the stdlib)
        during = [str(t) for t in b.traces
                  if any(f.filename == "<string>" and f.lineno == 5
                         for f in t.traceback)]
        before = [str(t) for t in b.traces
                  if any(f.filename == "<string>" and f.lineno == 4
                         for f in t.traceback)]
        print(json.dumps([during, len(before)]))
    """)
    during, before = res.json()
    assert during == []
    assert before > 0  # the check can see blocks of a snapshot call


def test_sampled_mode_exposes_samples(run_py):
    """GIVEN sampled tracing (interval 4096) of ~40 MB from one line
    WHEN statistics('lineno') and the traces are read
    THEN the line's estimate is within 20% of the truth, `samples` says
    how many samples stand behind it, and each Trace stands for >= 1
    blocks."""
    res = run_py("""
        import json, pytm
        pytm.start(1, sample_interval=4096)
        keep = [bytes(1000) for _ in range(40000)]   # line 4
        s = pytm.take_snapshot()
        pytm.stop()
        st = [x for x in s.statistics("lineno")
              if x.traceback[0].lineno == 4][0]
        t = s.traces[0]
        print(json.dumps([st.size, st.count, st.samples, s.sample_interval,
                          t.count, t.samples, t.block_size]))
    """)
    size, count, samples, interval, t_count, t_samples, block = res.json()
    assert interval == 4096
    assert abs(size - 40000 * 1033) < 0.2 * 40000 * 1033
    assert 1000 < samples < count
    assert t_count >= 1 and t_samples == 1 and block > 0


def test_snapshot_and_statistics_build_no_object_per_trace(run_py):
    """GIVEN 200,000 live traced blocks from one line
    WHEN take_snapshot() and statistics('traceback') run
    THEN fewer than 1,000 new Python objects exist afterwards (traces are
    a lazy sequence; statistics builds one object per group), while
    indexing a trace still builds it on demand."""
    res = run_py("""
        import gc, json, pytm.exact as tm
        tm.start(5)
        keep = [bytes(40) for _ in range(200000)]
        gc.collect(); gc.disable()
        before = len(gc.get_objects())
        s = tm.take_snapshot()
        st = s.statistics("traceback")
        after = len(gc.get_objects())
        tm.stop()
        t = s.traces[len(s.traces) // 2]
        print(json.dumps([after - before, len(s.traces), t.size > 0]))
    """)
    new_objects, n_traces, ok = res.json()
    assert n_traces >= 200000 and ok
    assert new_objects < 1000


def test_get_object_traceback_after_restart_and_clear(run_py):
    """GIVEN a traceback looked up in one session
    WHEN tracing restarts (a new arena whose traceback ids start again)
    and after clear_traces()
    THEN lookups give the new allocation sites, never a stale one."""
    res = run_py("""
        import json, pytm.exact as tm
        def first():
            return bytes(3000)          # line 4
        def second():
            return bytearray(3000)      # line 6
        out = []
        tm.start(1)
        a = first()
        out.append(tm.get_object_traceback(a)[0].lineno)
        tm.stop()
        tm.start(1)
        b = second()
        out.append(tm.get_object_traceback(b)[0].lineno)
        tm.clear_traces()
        c = first()
        out.append(tm.get_object_traceback(c)[0].lineno)
        out.append(tm.get_object_traceback(b) is None)
        tm.stop()
        print(json.dumps(out))
    """)
    assert res.json() == [4, 6, 4, True]
