"""pyperformance raytrace: a pure-Python ray tracer creating vast numbers of short-lived Vector objects.

Source: the unmodified bm_raytrace/run_benchmark.py from the pyperformance
package on PyPI, run in-process through workloads/_pyperformance.py."""

from workloads import _pyperformance

LOOPS = 1


def setup():
    return _pyperformance.load("raytrace")


def run(captured):
    _pyperformance.call(captured, LOOPS)
