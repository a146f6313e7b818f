"""bench/run's driver: overhead, accuracy, snapshot speed and viewer cost
of pytm next to no tracing, the stdlib tracemalloc and memray.

Prints a markdown report on stdout (progress goes to stderr) and writes
every raw number with the machine description to
bench/results/<UTC time>-<quick|full>.json. See docs/benchmarks.md.
"""

import argparse
import datetime
import json
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness import (accuracy, machine, overhead, report,  # noqa: E402
                     snapshot, tracers, viewer)

ROOT = os.path.dirname(HERE)

CORE = ["alloc_small", "mixed_stdlib", "growth", "threads4"]
PYPERF = ["pp_nbody", "pp_richards", "pp_deltablue", "pp_float",
          "pp_json_dumps", "pp_chaos", "pp_go", "pp_raytrace"]
QUICK_WORKLOADS = ["alloc_small", "mixed_stdlib", "growth"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="about 3 minutes: 3 workloads, 6 tracers, 5 repeats")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--workloads", default=None,
                   help="comma-separated workload names")
    p.add_argument("--tracers", default=None,
                   help="comma-separated tracer names (untraced is added)")
    p.add_argument("--seeds", type=int, default=None,
                   help="sampled runs per interval for the accuracy figure")
    p.add_argument("--skip", default="",
                   help="comma-separated parts to skip: overhead, accuracy, "
                        "snapshot, viewer")
    p.add_argument("--python", default=sys.executable,
                   help="interpreter for the children (default: this one)")
    p.add_argument("--pytmtop", default=None, help="pytmtop executable")
    p.add_argument("--bench-model", default=None,
                   help="pytm_bench_model executable")
    p.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    p.add_argument("--render", metavar="RESULTS_JSON", default=None,
                   help="print the report of a saved results file again "
                        "(no measuring)")
    return p.parse_args(argv)


def child_env():
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"       # deterministic workloads
    env.pop("PYTHONTRACEMALLOC", None)
    env.pop("PYTHONMALLOC", None)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [HERE, env.get("PYTHONPATH", "")] if p)
    return env


def render(fn, *args):
    """Markdown of one figure; a formatting bug costs that figure, not the
    run's raw numbers (which are saved whatever happens here)."""
    try:
        return fn(*args)
    except Exception:
        traceback.print_exc()
        return "%s: could not format this figure (see stderr and the " \
            "raw JSON)" % fn.__name__


def measure(args):
    """Runs every part not skipped; returns the raw data dict."""
    mode = "quick" if args.quick else "full"
    repeats = args.repeats or 5
    if repeats < 5:
        print("note: fewer than 5 repeats, medians are fragile",
              file=sys.stderr)
    workloads = (args.workloads.split(",") if args.workloads else
                 QUICK_WORKLOADS if args.quick else CORE + PYPERF)
    names = (args.tracers.split(",") if args.tracers else
             tracers.QUICK if args.quick else [t.name for t in tracers.SHOWN])
    if "untraced" not in names:
        names = ["untraced"] + names
    seeds = args.seeds or (3 if args.quick else 8)
    skip = set(s for s in args.skip.split(",") if s)
    env = child_env()

    started = datetime.datetime.now(datetime.timezone.utc)
    info = machine.describe(args.python, env, ROOT)
    data = {"mode": mode, "started": started.isoformat(), "machine": info,
            "repeats": repeats, "workloads": workloads, "tracers": names,
            "seeds": seeds}
    print("machine: " + machine.one_line(info), file=sys.stderr)
    if "overhead" not in skip:
        raw = overhead.measure(args.python, env, workloads, names, repeats)
        data["overhead"] = {"raw": raw}
    if "accuracy" not in skip:
        data["accuracy"] = accuracy.run(args.python, env, seeds)
    if "snapshot" not in skip:
        data["snapshot"] = snapshot.run(args.python, env, quick=args.quick)
    if "viewer" not in skip:
        data["viewer"] = viewer.run(args.python, env, quick=args.quick,
                                    pytmtop=args.pytmtop,
                                    bench_model=args.bench_model)
    data["finished"] = datetime.datetime.now(
        datetime.timezone.utc).isoformat()
    return data


def compose(data):
    """The markdown report of a data dict (fresh or loaded from a results
    file); also stores the summaries and targets in it."""
    workloads, names = data["workloads"], data["tracers"]
    sections = []
    summ = None
    if "overhead" in data:
        raw = data["overhead"]["raw"]
        summ = overhead.summarise(raw, workloads, names)
        summ["allocs"] = raw["allocs"]
        data["overhead"]["summary"] = summ
        sections.append(render(report.overhead_tables, summ, workloads,
                               names))
        if raw["errors"]:
            sections.append("Tracers that failed and were dropped: "
                            + "; ".join("%s: %s" % (
                                t, e.splitlines()[-1] if e else e)
                                for t, e in raw["errors"].items()))
    acc = data.get("accuracy")
    if acc is not None:
        if "intervals" in acc:
            sections.append(render(report.accuracy_table, acc))
        else:
            sections.append("Accuracy: not measured (%s)" % acc.get("error"))
            acc = None
    if "snapshot" in data:
        sections.append(render(snapshot.markdown, data["snapshot"]))
    if "viewer" in data:
        sections.append(render(viewer.markdown, data["viewer"]))
    try:
        tlist = report.targets(summ, workloads, acc)
    except Exception:
        traceback.print_exc()
        tlist = []
    data["targets"] = [{"target": t, "met": ok, "measured": d}
                       for t, ok, d in tlist]
    started = datetime.datetime.fromisoformat(data["started"])
    finished = datetime.datetime.fromisoformat(data["finished"])
    head = ("## pytm benchmarks (%s run, %s)\n\nMachine: %s.\n"
            "%d repeats per cell, runs interleaved; each measurement in a "
            "fresh process; %s elapsed." % (
                data["mode"], started.strftime("%Y-%m-%d %H:%M UTC"),
                machine.one_line(data["machine"]), data["repeats"],
                str(finished - started).split(".")[0]))
    if data["mode"] == "quick":
        skipped_w = [w for w in CORE + PYPERF if w not in workloads]
        skipped_t = [t.name for t in tracers.SHOWN if t.name not in names]
        head += ("\nQuick run: workloads %s (skips %s); tracers %s (skips "
                 "%s); %s accuracy runs per interval; viewer at 1/1k/10k "
                 "tracebacks."
                 % (", ".join(workloads), ", ".join(skipped_w) or "none",
                    ", ".join(names), ", ".join(skipped_t) or "none",
                    data.get("seeds", (data.get("accuracy") or {}).get(
                        "seeds", "n/a"))))
    text = "\n\n".join([head] + sections
                        + [render(report.targets_table, tlist)])
    data["markdown"] = text
    return text


def main(argv):
    args = parse_args(argv)
    if args.render:
        with open(args.render) as f:
            data = json.load(f)
        print(compose(data))
        return 0
    data = measure(args)
    os.makedirs(args.out_dir, exist_ok=True)
    started = datetime.datetime.fromisoformat(data["started"])
    path = os.path.join(args.out_dir, "%s-%s.json" % (
        started.strftime("%Y%m%dT%H%M%SZ"), data["mode"]))
    # Raw numbers first: a formatting bug must not lose a long run.
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    text = compose(data)
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    print(text)
    print("\nraw numbers: " + os.path.relpath(path, ROOT), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
