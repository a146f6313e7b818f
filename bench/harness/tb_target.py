"""Target process for the viewer figure: holds N distinct live tracebacks.

    python harness/tb_target.py DIGITS

Starts pytm in exact mode with nframe=DIGITS+3, then allocates one
64-byte bytearray at the end of every path through step(): each level
picks one of ten call lines by one decimal digit of k, so 10**DIGITS
paths give 10**DIGITS distinct tracebacks (plus the handful the harness
itself makes). Prints "READY <pid> <n_tracebacks>" and keeps everything
alive until a line arrives on stdin.
"""

import os
import sys


def step(d, k, keep):
    if d == 0:
        keep.append(bytearray(64))
        return
    r, k = k % 10, k // 10
    if r == 0:
        step(d - 1, k, keep)
    elif r == 1:
        step(d - 1, k, keep)
    elif r == 2:
        step(d - 1, k, keep)
    elif r == 3:
        step(d - 1, k, keep)
    elif r == 4:
        step(d - 1, k, keep)
    elif r == 5:
        step(d - 1, k, keep)
    elif r == 6:
        step(d - 1, k, keep)
    elif r == 7:
        step(d - 1, k, keep)
    elif r == 8:
        step(d - 1, k, keep)
    else:
        step(d - 1, k, keep)


def main(argv):
    digits = int(argv[0])
    import pytm
    keep = []
    pytm.start(digits + 3, sample_interval=1)
    for k in range(10 ** digits):
        step(digits, k, keep)
    print("READY %d %d" % (os.getpid(), 10 ** digits), flush=True)
    sys.stdin.readline()
    pytm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
