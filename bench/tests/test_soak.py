"""bench/soak.py for ~20 s against a build tree (PYTM_BENCH_BUILD, which
.ci/test sets; skipped without it)."""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

import soak  # noqa: E402

BUILD = os.environ.get("PYTM_BENCH_BUILD")


def test_growth_check_flags_a_leak_and_passes_a_flat_series():
    # GIVEN a flat series and one whose tracer memory climbs 1 MiB/min
    flat = [(t, {"tracer_kib": 300.0, "hwm_kib": 80000, "viewer_kib": 3400})
            for t in range(0, 600, 10)]
    leak = [(t, dict(v, tracer_kib=300.0 + t / 60.0 * 1024))
            for t, v in flat]
    # THEN only the leak is a violation, and it is named
    assert soak.check_growth(flat, 60, 600) == []
    bad = soak.check_growth(leak, 60, 600)
    assert len(bad) == 1 and bad[0].startswith("tracer_kib grew")
    assert abs(soak.slope_per_min([0, 60], [0, 5]) - 5.0) < 1e-9


def test_arena_check_flags_inconsistent_totals():
    doc = {"traced_current": 100, "total_size": 100, "n_dropped": 0,
           "n_tracebacks": 2, "rows": [{"size": 60}, {"size": 40}]}
    assert soak.check_arena(doc, 300) == []
    doc["rows"][1]["size"] = 39
    assert soak.check_arena(doc, 300) == ["sum over tracebacks 99 != "
                                          "total 100"]


@pytest.mark.skipif(not BUILD, reason="PYTM_BENCH_BUILD not set")
def test_soak_runs_20_seconds_clean():
    out = subprocess.run([sys.executable, os.path.join(HERE, "soak.py"),
                          "--build", BUILD, "--duration", "20s"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "soak: every check held" in out.stdout
