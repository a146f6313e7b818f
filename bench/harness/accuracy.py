"""Figure 4: accuracy of sampled mode on the growth workload.

Reference: the stdlib tracemalloc (nframe=1) snapshot grouped by line,
taken at the end of workloads/growth.py while everything is still alive;
the workload is deterministic (fixed PYTHONHASHSEED), so every run
allocates the same blocks. pytm exact (sample_interval=1) is checked
against the same reference. Then pytm sampled at the default interval I,
at 4*I, I/4 and I/8 runs `seeds` times; each run's per-line estimate is
compared with the reference for every line holding >= 1% of the
reference's total. The relative error |est - exact| / exact is pooled
over lines and runs: median and worst are reported per interval.
Seeds: when the recorder honours a seed environment variable (SEED_ENV),
run k gets seed k; otherwise the runs are independent (seeded by the
recorder from its own entropy) and the report says so.
Every child runs with ASLR off (proc.run_child(fixed_layout=True)): the
seed fixes the sampler's draws, but pymalloc's own PyMem_RawRealloc of
its arena vector is part of the sampled byte stream and where it falls
depends on how the mmap'ed arenas are aligned, so under ASLR a seeded
run moves a few samples between lines (docs/benchmarks.md, "Repeatable
sampled runs"). `layout_fixed` says whether every run got a fixed layout.
"""

import sys

from harness import proc, stats, tracers

WORKLOAD = "growth"
SHARE = 0.01

# pytm.start() reads PYTM_SEED (recorder/pytm/_tracing.py; docs/sampling.md
# "Reproducible sampling"): run k gets seed k, so a repeat of the figure
# samples the same blocks with the same weights.
SEED_ENV = "PYTM_SEED"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def _lines(res):
    return {(f, ln): size for f, ln, size, _count in res["lines"]}


def _errors(ref, est):
    total = sum(ref.values())
    errs = []
    for key, exact in ref.items():
        if exact >= SHARE * total:
            errs.append(abs(est.get(key, 0) - exact) / exact)
    return errs


def measure(python, env, default_interval, seeds, seed_env=None):
    """Returns a dict with the reference size, exact-mode check and one
    entry per interval: {'interval', 'runs', 'lines', 'median', 'worst'}."""
    out = {"workload": WORKLOAD, "share": SHARE, "seeds": seeds,
           "seed_env": seed_env, "intervals": []}
    fixed = []
    log("accuracy: reference (tracemalloc) and pytm exact")
    ref_res = proc.run_child(tracers.BY_NAME["tracemalloc-1"], python,
                             ["--workload", WORKLOAD, "--tracer",
                              "tracemalloc-1", "--lines"], env,
                             fixed_layout=True)
    ref = _lines(ref_res)
    total = sum(ref.values())
    out["reference_total"] = total
    out["reference_lines"] = sum(1 for v in ref.values() if v >= SHARE * total)
    try:
        ex = proc.run_child(tracers.BY_NAME["pytm-exact-1"], python,
                            ["--workload", WORKLOAD, "--tracer",
                             "pytm-exact-1", "--lines"], env,
                            fixed_layout=True)
        errs = _errors(ref, _lines(ex))
        out["exact_vs_tracemalloc"] = {
            "worst": max(errs) if errs else None,
            "total": sum(_lines(ex).values())}
    except proc.ChildFailed as exc:
        out["exact_vs_tracemalloc"] = {"error": str(exc)}
    # I/8 shows where the targets are met (about 2 KiB on growth), at
    # the cost docs/sampling.md, "The default interval", measures.
    plan = [("I/8", max(1, default_interval // 8)),
            ("I/4", max(1, default_interval // 4)),
            ("I", default_interval), ("4I", default_interval * 4)]
    for label, interval in plan:
        errs, totals, failures = [], [], []
        for k in range(seeds):
            try:
                res = sampled_run(python, env, interval,
                                  k + 1 if seed_env else None, seed_env)
            except proc.ChildFailed as exc:
                failures.append(str(exc))
                continue
            fixed.append(bool(res.get("layout_fixed")))
            est = _lines(res)
            errs.extend(_errors(ref, est))
            totals.append(sum(est.values()) / total - 1.0)
        s = stats.summary(errs)
        out["intervals"].append({
            "label": label, "interval": interval, "runs": seeds - len(failures),
            "failures": failures[:3],
            "median": s["median"] if s else None,
            "worst": s["max"] if s else None,
            "total_rel_err": stats.summary([abs(x) for x in totals]),
        })
        log("  %s=%d: median %s worst %s" % (
            label, interval, s and "%.3f" % s["median"],
            s and "%.3f" % s["max"]))
    out["layout_fixed"] = bool(fixed) and all(fixed)
    return out


def sampled_run(python, env, interval, seed=None, seed_env=SEED_ENV):
    """One sampled pytm run of WORKLOAD at `interval` with ASLR off and,
    when seed is not None, env[seed_env] = seed. Returns the child's
    result (its per-line figures in "lines"). Raises proc.ChildFailed."""
    run_env = dict(env)
    if seed is not None:
        run_env[seed_env] = str(seed)
    return proc.run_child(
        tracers.BY_NAME["pytm-1"], python,
        ["--workload", WORKLOAD, "--tracer", "pytm-1", "--lines",
         "--interval", str(interval)], run_env, fixed_layout=True)


PROBE = r"""
import json, pytm
out = {}
from pytm import _recorder
for mod in (pytm, _recorder):
    if isinstance(getattr(mod, "DEFAULT_SAMPLE_INTERVAL", None), int):
        out["default"] = mod.DEFAULT_SAMPLE_INTERVAL
        break
print(json.dumps(out))
"""

def default_interval(python, env):
    import json
    import subprocess
    r = subprocess.run([python, "-c", PROBE], env=env, capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        raise proc.ChildFailed("cannot import pytm: " + r.stderr[-500:])
    value = json.loads(r.stdout).get("default")
    if not isinstance(value, int) or value < 1:
        raise proc.ChildFailed("pytm exposes no default sample interval")
    return value


def run(python, env, seeds):
    try:
        interval = default_interval(python, env)
        return measure(python, env, interval, seeds, SEED_ENV)
    except proc.ChildFailed as exc:
        return {"error": str(exc)}
