"""Loader for benchmarks shipped in the `pyperformance` package's data files
(installed from PyPI by bench/run). Not a workload itself.

Each pyperformance benchmark is a script whose `__main__` block builds a
`pyperf.Runner` and hands it the function to time. We execute the script
unmodified as `__main__` with `pyperf.Runner` temporarily replaced by
CaptureRunner, which parses the script's default options and records the
function and arguments instead of spawning pyperf worker processes. The
workload then calls that function itself inside the timed region, in the
one process the tracer is attached to.
"""

import argparse
import importlib.util
import os
import runpy


def benchmark_path(name):
    spec = importlib.util.find_spec("pyperformance")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyperformance is not installed (bench/run "
                           "installs it into bench/.venv)")
    root = list(spec.submodule_search_locations)[0]
    path = os.path.join(root, "data-files", "benchmarks", "bm_" + name,
                        "run_benchmark.py")
    if not os.path.exists(path):
        raise RuntimeError("pyperformance has no benchmark %r (%s)"
                           % (name, path))
    return path


class CaptureRunner:
    """Stands in for pyperf.Runner: default options, no worker processes."""

    def __init__(self, *args, **kwargs):
        self.metadata = {}
        self.argparser = argparse.ArgumentParser(add_help=False)
        self.captured = None

    def parse_args(self, args=None):
        return self.argparser.parse_args([])

    def bench_func(self, name, func, *args, **kwargs):
        self.captured = ("func", func, args)

    def bench_time_func(self, name, func, *args, **kwargs):
        self.captured = ("time_func", func, args)


def load(name):
    """Runs bm_<name>'s script and returns (kind, func, args)."""
    import pyperf

    runners = []

    def make_runner(*args, **kwargs):
        r = CaptureRunner(*args, **kwargs)
        runners.append(r)
        return r

    saved = pyperf.Runner
    pyperf.Runner = make_runner
    try:
        runpy.run_path(benchmark_path(name), run_name="__main__")
    finally:
        pyperf.Runner = saved
    if not runners or runners[-1].captured is None:
        raise RuntimeError("bm_%s did not register a benchmark" % name)
    return runners[-1].captured


def call(captured, loops):
    """Runs the captured benchmark `loops` times."""
    kind, func, args = captured
    if kind == "time_func":
        func(loops, *args)
    else:
        for _ in range(loops):
            func(*args)
