"""pyperformance richards: an OS task scheduler simulation, attribute access and method calls on long-lived objects with little allocation.

Source: the unmodified bm_richards/run_benchmark.py from the pyperformance
package on PyPI, run in-process through workloads/_pyperformance.py."""

from workloads import _pyperformance

LOOPS = 5


def setup():
    return _pyperformance.load("richards")


def run(captured):
    _pyperformance.call(captured, LOOPS)
