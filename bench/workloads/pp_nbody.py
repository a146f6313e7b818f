"""pyperformance nbody: floating-point arithmetic on a few lists with few
allocations for its run time (about 0.18 M float objects in the timed
region, against 6 M in alloc_small), so it shows what a tracer costs a
program that computes more than it allocates.

Source: the unmodified bm_nbody/run_benchmark.py from the pyperformance
package on PyPI, run in-process through workloads/_pyperformance.py."""

from workloads import _pyperformance

LOOPS = 3


def setup():
    return _pyperformance.load("nbody")


def run(captured):
    _pyperformance.call(captured, LOOPS)
