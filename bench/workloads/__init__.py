"""Benchmark workloads: one module per workload.

Each module's docstring says in one sentence what it stresses, and each
exposes two functions, called by bench/child.py in a fresh interpreter:

    setup() -> state     untimed, before any in-process tracer starts
    run(state) -> None   timed, while the tracer is running

Workload sizes are fixed (the same in --quick and full runs) so numbers
from both kinds of run compare.
"""
