"""pyperformance float: creates and discards 100,000 Point objects holding floats, a float/object allocation burst.

Source: the unmodified bm_float/run_benchmark.py from the pyperformance
package on PyPI, run in-process through workloads/_pyperformance.py."""

from workloads import _pyperformance

LOOPS = 3


def setup():
    return _pyperformance.load("float")


def run(captured):
    _pyperformance.call(captured, LOOPS)
