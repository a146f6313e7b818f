"""Deterministic mixed workload for the exact-mode comparison with the
stdlib tracemalloc (test-only). Every line below allocates something
that stays alive in KEEP, so per-line totals are stable."""

KEEP = []


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


def small_objects(n):
    tuples = [(i, i + 1, str(i)) for i in range(n)]
    dicts = [{"k": i, "v": [i] * 3} for i in range(n // 2)]
    KEEP.append(tuples)
    KEEP.append(dicts)


def strings(n):
    parts = []
    for i in range(n):
        parts.append("item-%d-%s" % (i, "x" * (i % 50)))
    KEEP.append("".join(parts))
    KEEP.append(parts)


def buffers(n):
    big = [bytearray(600 + (i % 7) * 1000) for i in range(n)]
    zeroed = [bytes(2000) for _ in range(n)]
    KEEP.append(big)
    KEEP.append(zeroed)


def growth(n):
    ba = bytearray()
    for i in range(n):
        ba += b"abcdefgh" * (i % 5 + 1)
    lst = []
    for i in range(n):
        lst.append(i * 3)
    KEEP.append(ba)
    KEEP.append(lst)


def instances(n):
    KEEP.append([Point(i, -i) for i in range(n)])


def churn(n):
    total = 0
    for i in range(n):
        tmp = [str(j) for j in range(20)]
        total += len(tmp)
    KEEP.append(total)


def run():
    small_objects(20000)
    strings(20000)
    buffers(300)
    growth(20000)
    instances(10000)
    churn(2000)
