"""Figures 1-3: wall-time, peak-RSS and per-allocation overhead.

Method: one discarded warm-up round (fills the page cache and writes the
.pyc files), then `repeats` rounds; each round runs every workload under
every tracer, each in a fresh process, and the tracer order is rotated by
one each round so no tracer always follows the same neighbour. Ratios to
untraced are taken within a round and summarised by median, min and max.
A separate run per workload under the counting hook gives the number of
allocation requests, the denominator of ns per allocation.
"""

import sys

from harness import proc, stats, tracers


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def measure(python, env, workloads, tracer_names, repeats):
    """Returns {'runs': {w: {t: [result or None per round]}},
    'allocs': {w: total}, 'errors': {t: message}}."""
    runs = {w: {t: [] for t in tracer_names} for w in workloads}
    errors = {}
    allocs = {}
    for w in workloads:
        log("warm-up and allocation count: %s" % w)
        proc.run_child(tracers.BY_NAME["untraced"], python,
                       ["--workload", w, "--tracer", "untraced"], env)
        res = proc.run_child(tracers.BY_NAME["count"], python,
                             ["--workload", w, "--tracer", "count"], env)
        allocs[w] = res["allocs"]["total"]
    for r in range(repeats):
        k = r % len(tracer_names)
        order = tracer_names[k:] + tracer_names[:k]
        for w in workloads:
            for t in order:
                if t in errors:
                    runs[w][t].append(None)
                    continue
                try:
                    res = proc.run_child(tracers.BY_NAME[t], python,
                                         ["--workload", w, "--tracer", t],
                                         env)
                except proc.ChildFailed as exc:
                    errors[t] = str(exc)
                    log("  %s failed, dropped from the run: %s" % (t, exc))
                    runs[w][t].append(None)
                    continue
                runs[w][t].append(res)
            log("round %d/%d %s: %s" % (
                r + 1, repeats, w, "  ".join(
                    "%s=%.3f" % (t, runs[w][t][-1]["t_run"])
                    for t in tracer_names if runs[w][t][-1])))
    return {"runs": runs, "allocs": allocs, "errors": errors}


def _field(results, key):
    return [res[key] if res else None for res in results]


def summarise(data, workloads, tracer_names):
    """Per workload and tracer: time, wall and RSS ratio summaries and ns
    per allocation; per tracer: geometric means of the median ratios."""
    out = {"per_workload": {}, "geomean": {}}
    for w in workloads:
        base = data["runs"][w]["untraced"]
        b_t = _field(base, "t_run")
        b_cpu = _field(base, "cpu_run")
        b_wall = _field(base, "wall")
        b_rss = _field(base, "maxrss_kib")
        row = {}
        for t in tracer_names:
            res = data["runs"][w][t]
            t_run = _field(res, "t_run")
            cell = {
                "t_run": stats.summary(t_run),
                "time_ratio": stats.summary(stats.paired_ratios(t_run, b_t)),
                "cpu_ratio": stats.summary(stats.paired_ratios(
                    _field(res, "cpu_run"), b_cpu)),
                "wall_ratio": stats.summary(stats.paired_ratios(
                    _field(res, "wall"), b_wall)),
                "rss_ratio": stats.summary(stats.paired_ratios(
                    _field(res, "maxrss_kib"), b_rss)),
                "maxrss_kib": stats.summary(_field(res, "maxrss_kib")),
            }
            n = data["allocs"].get(w)
            mt, mb = stats.median(t_run), stats.median(b_t)
            if n and mt is not None and mb is not None:
                cell["ns_per_alloc"] = (mt - mb) / n * 1e9
            row[t] = cell
        out["per_workload"][w] = row
    for t in tracer_names:
        meds = []
        for w in workloads:
            s = out["per_workload"][w][t]["time_ratio"]
            meds.append(s["median"] if s else None)
        rss = [out["per_workload"][w][t]["rss_ratio"]["median"]
               for w in workloads if out["per_workload"][w][t]["rss_ratio"]]
        cpu = [out["per_workload"][w][t]["cpu_ratio"]["median"]
               for w in workloads if out["per_workload"][w][t]["cpu_ratio"]]
        out["geomean"][t] = {
            "time_ratio": stats.geomean(meds) if None not in meds else None,
            "cpu_ratio": stats.geomean(cpu) if len(cpu) == len(workloads)
            else None,
            "rss_ratio": stats.geomean(rss) if len(rss) == len(workloads)
            else None,
        }
    return out
