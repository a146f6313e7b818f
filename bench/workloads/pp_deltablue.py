"""pyperformance deltablue: a one-way constraint solver building and dropping many small objects and lists.

Source: the unmodified bm_deltablue/run_benchmark.py from the pyperformance
package on PyPI, run in-process through workloads/_pyperformance.py."""

from workloads import _pyperformance

LOOPS = 60


def setup():
    return _pyperformance.load("deltablue")


def run(captured):
    _pyperformance.call(captured, LOOPS)
