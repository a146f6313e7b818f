"""pyperformance chaos: a chaos-game fractal with many small GVector objects created in arithmetic.

Source: the unmodified bm_chaos/run_benchmark.py from the pyperformance
package on PyPI, run in-process through workloads/_pyperformance.py."""

from workloads import _pyperformance

LOOPS = 3


def setup():
    return _pyperformance.load("chaos")


def run(captured):
    _pyperformance.call(captured, LOOPS)
