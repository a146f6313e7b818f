"""Allocation-heavy loop of small objects: tuples, lists, dicts, ints and
short strings created and freed at a high rate with a tiny live set, so the
per-allocation cost of a hook dominates."""

N = 1_000_000


def setup():
    return N


def run(n):
    ring = [None] * 64
    for i in range(n):
        big = i + 1_000_000          # an int object (beyond the small-int cache)
        pair = (big, i)              # a 2-tuple
        lst = [pair, big, None]      # a small list
        d = {"k": lst, "v": pair}    # a small dict
        s = str(big) + "-x"          # two short strings
        ring[i & 63] = (d, s)        # freed 64 iterations later
