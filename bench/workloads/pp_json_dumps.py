"""pyperformance json_dumps: serialises nested dicts with the C json encoder, many short-lived strings from C code.

Source: the unmodified bm_json_dumps/run_benchmark.py from the pyperformance
package on PyPI, run in-process through workloads/_pyperformance.py."""

from workloads import _pyperformance

LOOPS = 15


def setup():
    return _pyperformance.load("json_dumps")


def run(captured):
    _pyperformance.call(captured, LOOPS)
