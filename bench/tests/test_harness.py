"""Self-tests of the bench harness's arithmetic and formatting, on
synthetic numbers (no tracer, no child process):

    python -m pytest bench/tests
"""

import math
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from harness import (accuracy, machine, overhead, proc, report,  # noqa: E402
                     rss, stats, tracers, viewer)
import runner  # noqa: E402
import snapshot_speed  # noqa: E402


def test_paired_ratios_pair_by_round_and_skip_missing():
    # GIVEN two series with a failed run (None) and a zero denominator
    num = [2.0, None, 9.0, 4.0]
    den = [1.0, 5.0, 0.0, 2.0]
    # THEN only complete, valid rounds are paired, in order
    assert stats.paired_ratios(num, den) == [2.0, 2.0]


def test_summary_and_geomean():
    s = stats.summary([3.0, None, 1.0, 2.0])
    assert s == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert stats.summary([None]) is None
    assert math.isclose(stats.geomean([1.0, 4.0]), 2.0)


def _run(t, cpu, wall, rss):
    return {"t_run": t, "cpu_run": cpu, "wall": wall, "maxrss_kib": rss}


def test_summarise_ratios_ns_per_alloc_and_geomean():
    # GIVEN 3 rounds where tracer "x" takes 2x / 3x / 4x the untraced time
    base = [_run(1.0, 1.0, 1.5, 100), _run(2.0, 2.0, 2.5, 100),
            _run(1.0, 1.0, 1.5, 100)]
    slow = [_run(2.0, 2.0, 3.0, 150), _run(6.0, 6.0, 6.0, 150),
            _run(4.0, 4.0, 4.5, 150)]
    data = {"runs": {"w": {"untraced": base, "x": slow}},
            "allocs": {"w": 1_000_000}, "errors": {}}
    # WHEN summarised
    out = overhead.summarise(data, ["w"], ["untraced", "x"])
    cell = out["per_workload"]["w"]["x"]
    # THEN the ratio is the median of per-round ratios (not of medians)
    assert cell["time_ratio"]["median"] == 3.0
    assert cell["time_ratio"]["min"] == 2.0
    assert cell["time_ratio"]["max"] == 4.0
    assert cell["rss_ratio"]["median"] == 1.5
    # AND ns per allocation = (median t - median untraced t) / allocs
    assert math.isclose(cell["ns_per_alloc"], (4.0 - 1.0) / 1e6 * 1e9)
    assert math.isclose(out["geomean"]["x"]["time_ratio"], 3.0)


def test_accuracy_errors_only_count_lines_above_share():
    # GIVEN an exact reference where line c holds < 1% of the total
    ref = {("f", 1): 600, ("f", 2): 395, ("f", 3): 5}
    # WHEN the estimate misses line 2 entirely and overshoots line 1
    est = {("f", 1): 660, ("f", 3): 500}
    errs = sorted(accuracy._errors(ref, est))
    # THEN line 3 is ignored, line 2 counts as a 100% error
    assert errs == [pytest.approx(0.1), 1.0]


def test_targets_flag_misses_with_margin():
    pw = {"w": {
        "pytm-1": {"time_ratio": {"median": 1.2}, "rss_ratio": {"median": 1.0}},
        "pytm-exact-1": {"time_ratio": {"median": 1.5}},
        "tracemalloc-1": {"time_ratio": {"median": 4.0}},
        "memray-pyalloc": {"time_ratio": {"median": 3.0}},
    }}
    summ = {"per_workload": pw, "geomean": {
        "pytm-1": {"time_ratio": 1.2}, "pytm-exact-1": {"time_ratio": 1.5},
        "tracemalloc-1": {"time_ratio": 4.0},
        "memray-pyalloc": {"time_ratio": 3.0}}}
    got = {t: ok for t, ok, _ in report.targets(summ, ["w"], None)}
    assert got["pytm sampled nframe=1 geo-mean time ratio <= 1.03"] is False
    assert got["pytm sampled nframe=1 peak RSS ratio <= 1.02"] is True
    # exact's overhead 0.5 vs tracemalloc's 3.0: 1/6 <= 1/3
    assert [ok for t, ok in got.items() if "1/3" in t] == [True]
    assert [ok for t, ok in got.items() if "memray" in t] == [True]


def test_accuracy_runs_are_seeded_through_pytm_seed(monkeypatch):
    # GIVEN a fake child that records the environment of every run
    envs = []

    def fake_child(tracer, python, argv, env, **kw):
        envs.append((argv[3], dict(env)))
        return {"lines": [["f", 1, 1000, 1]]}
    monkeypatch.setattr(accuracy.proc, "run_child", fake_child)
    monkeypatch.setattr(accuracy, "default_interval", lambda py, env: 16384)
    # WHEN the accuracy figure runs 3 seeds
    out = accuracy.run("python3", {"X": "1"}, 3)
    # THEN the recorder's seed variable is named, the reference runs carry
    # no seed, and the sampled runs of each of the four intervals (I/8,
    # I/4, I, 4I) get seeds 1, 2, 3
    assert out["seed_env"] == "PYTM_SEED"
    assert [e.get("PYTM_SEED") for t, e in envs if t != "pytm-1"] == \
        [None, None]
    sampled = [e["PYTM_SEED"] for t, e in envs if t == "pytm-1"]
    assert sampled == ["1", "2", "3"] * 4
    assert all(e["X"] == "1" for _, e in envs)


def test_accuracy_targets_are_issue_13s():
    # GIVEN a Figure 4 result at the default interval that met the old
    # targets (5% median, 15% worst) but not issue 13's (3%, 10%)
    acc = {"intervals": [{"label": "I", "median": 0.04, "worst": 0.12}]}
    got = {t: ok for t, ok, _ in report.targets(None, [], acc)}
    # THEN both accuracy targets are missed, named with the new bounds
    assert got == {
        "sampled median per-line error < 3% at the default interval": False,
        "sampled worst per-line error < 10% at the default interval": False}
    # AND a result inside the new bounds meets both
    acc["intervals"][0].update(median=0.029, worst=0.099)
    assert all(ok for _, ok, _ in report.targets(None, [], acc))


def test_model_table_reads_both_output_formats():
    new = {"reps": 9, "results": [
        {"view": "lineno", "tracebacks": 1000, "top_ms": 0.5, "full_ms": 0.7},
        {"view": "lineno", "tracebacks": 10000, "top_ms": 2.0,
         "full_ms": 3.0}]}
    text = viewer._model_table(new)
    assert "| lineno | 0.50 / 0.70 | 2.00 / 3.00 |" in text
    old = {"results": [{"grouping": "traceback", "tracebacks": 1000,
                        "ms": 1.25}]}
    assert "| traceback | 1.25 |" in viewer._model_table(old)


def test_compose_renders_a_saved_run():
    # GIVEN a minimal saved run with only the overhead part
    base = [_run(1.0, 1.0, 1.2, 100)] * 5
    x = [_run(1.02, 1.02, 1.22, 101)] * 5
    data = {"mode": "quick", "started": "2026-01-01T00:00:00+00:00",
            "finished": "2026-01-01T00:03:00+00:00",
            "machine": {"cpu_model": "test"}, "repeats": 5, "seeds": 3,
            "workloads": ["alloc_small"], "tracers": ["untraced", "pytm-1"],
            "overhead": {"raw": {"runs": {"alloc_small": {
                "untraced": base, "pytm-1": x}},
                "allocs": {"alloc_small": 10}, "errors": {}}}}
    text = runner.compose(data)
    assert "0:03:00 elapsed" in text
    assert "| alloc_small | 1.02 [1.02–1.02] |" in text
    assert "| pytm sampled nframe=1 geo-mean time ratio <= 1.03 | met |" \
        in text
    assert data["targets"]


def test_vm_hwm_reads_the_status_field(tmp_path):
    # GIVEN a /proc/PID/status-like file, and one without the field
    status = tmp_path / "status"
    status.write_text("Name:\tpython3\nVmPeak:\t  99999 kB\n"
                      "VmHWM:\t   15504 kB\nVmRSS:\t   15000 kB\n")
    bare = tmp_path / "bare"
    bare.write_text("Name:\tpython3\n")
    # THEN VmHWM is returned in KiB, None when it cannot be read
    assert rss.vm_hwm_kib(str(status)) == 15504
    assert rss.vm_hwm_kib(str(bare)) is None
    assert rss.vm_hwm_kib(str(tmp_path / "missing")) is None


def test_peak_rss_is_the_childs_own_not_ru_maxrss():
    # GIVEN a runner holding 96 MiB resident when it starts the child
    # (a child's ru_maxrss counts its parent's RSS at fork)
    ballast = bytearray(96 << 20)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    # WHEN a small workload runs untraced in a child
    res = proc.run_child(tracers.BY_NAME["untraced"], sys.executable,
                         ["--workload", "alloc_small", "--tracer",
                          "untraced"], dict(os.environ), timeout=120)
    del ballast
    # THEN the peak RSS reported is the child's own VmHWM, far below the
    # wait4 figure that the ballast inflated
    assert res["ru_maxrss_kib"] > 96 << 10
    assert res["maxrss_kib"] == res["hwm_kib"]
    assert 0 < res["maxrss_kib"] < 64 << 10


def test_machine_names_a_build_trees_version_and_commit(tmp_path):
    # GIVEN a source checkout with one commit and a CMake build tree of
    # it whose python/pytm has no dist-info (what bench/run --dev puts on
    # the children's PYTHONPATH)
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("x\n")
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c",
           "user.email=t@t"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "f"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "c"], check=True)
    head = subprocess.run(git + ["rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    build = tmp_path / "build"
    (build / "python" / "pytm").mkdir(parents=True)
    (build / "python" / "pytm" / "__init__.py").write_text(
        '__version__ = "9.8.7"\n')
    (build / "CMakeCache.txt").write_text(
        "CMAKE_HOME_DIRECTORY:INTERNAL=%s\n" % src)
    env = dict(os.environ, PYTHONPATH=str(build / "python"))
    # WHEN the machine probe runs in an interpreter importing that pytm
    info = machine.describe(sys.executable, env, str(src))
    # THEN the header shows the package's version and the tree's commit
    assert info["pytm"] == "9.8.7"
    assert "pytm 9.8.7 (build tree, commit %s)" % head \
        in machine.one_line(info)
    # AND an installed pytm shows just its version
    assert machine.pytm_label({"pytm": "1.2.3"}) == "1.2.3"


def test_snapshot_dump_sizes_keep_their_digits():
    # GIVEN a pickle of 13.8 MB and a .pytm dump of 25948 bytes (Figure
    # 5's run), and sizes at the unit boundaries
    fmt = snapshot_speed.fmt_bytes
    # THEN each prints in a unit that keeps it non-zero
    assert fmt(13_828_768) == "13.8 MB"
    assert fmt(25_948) == "25.9 KB"
    assert fmt(999) == "999 B"
    assert fmt(1000) == "1.0 KB"
    assert fmt(1_000_000) == "1.0 MB"
    # AND the figure's size row uses them
    std = {"times": {k: [1.0] for k in snapshot_speed.LABELS},
           "dump_bytes": 13_828_768}
    ours = {"times": {k: [0.01] for k in snapshot_speed.LABELS},
            "dump_bytes": 25_948}
    text, _ = snapshot_speed.table(std, ours)
    assert "| dump file size | 13.8 MB (pickle) | 25.9 KB (.pytm) | " \
        "532.9x smaller |" in text
