"""pyperformance go: a Monte Carlo tree search Go player, object-heavy with mixed lifetimes.

Source: the unmodified bm_go/run_benchmark.py from the pyperformance
package on PyPI, run in-process through workloads/_pyperformance.py."""

from workloads import _pyperformance

LOOPS = 2


def setup():
    return _pyperformance.load("go")


def run(captured):
    _pyperformance.call(captured, LOOPS)
