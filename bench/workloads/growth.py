"""Long-lived growth: about 1,000,000 live blocks allocated from 50 distinct
source lines (one per entry of SITES) and all kept alive to the end, so the
tracer's live-trace tables grow large; also the ground truth for the
per-line accuracy of sampled mode."""


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b


class Plain:
    def __init__(self, a):
        self.a = a


# One allocation site per line. Sizes span 16 bytes to a few KiB so that
# both the small-object and the large-block regimes of the sampler are hit.
SITES = [
    lambda i: (i, i + 1_000_001),
    lambda i: [i, i, i],
    lambda i: {"a": i},
    lambda i: "s%08d" % i,
    lambda i: float(i) + 0.5,
    lambda i: (i, i, i, i, i, i, i, i),
    lambda i: b"x" * 40,
    lambda i: Slotted(i, None),
    lambda i: str(i) * 20,
    lambda i: [None] * 30,
    lambda i: {i, i + 1_000_003},
    lambda i: bytearray(100),
    lambda i: Plain(i + 1_000_005),
    lambda i: (i + 1_000_007,),
    lambda i: "%d-%d" % (i, i),
    lambda i: list(range(8)),
    lambda i: {"x": i, "y": i, "z": i, "w": i, "v": i, "u": i},
    lambda i: b"y" * 500,
    lambda i: (None,) * 64,
    lambda i: i * 1_000_000_007,
    lambda i: "t" * 200,
    lambda i: [i] * 100,
    lambda i: frozenset((i, i + 1_000_009, i + 1_000_011)),
    lambda i: bytes(1000),
    lambda i: Slotted(i + 1_000_013, i),
    lambda i: [i, None],
    lambda i: (i, None, i),
    lambda i: "u%d" % i,
    lambda i: {"k%d" % (i & 7): i},
    lambda i: bytearray(16),
    lambda i: [0.0] * 12,
    lambda i: (i + 1_000_015, i + 1_000_017),
    lambda i: "v" * 3000,
    lambda i: [i, i, i, i, i],
    lambda i: b"z" * 8,
    lambda i: complex(i, 1),
    lambda i: (None,) * 5,
    lambda i: dict.fromkeys(range(10)),
    lambda i: str(i) + "w",
    lambda i: [None] * 300,
    lambda i: bytearray(2000),
    lambda i: (i,) * 16,
    lambda i: {"q": None},
    lambda i: "x" * 60,
    lambda i: [i + 1_000_019],
    lambda i: b"q" * 120,
    lambda i: Plain(None),
    lambda i: (i, i + 1, i + 2, i + 3),
    lambda i: "y" * 1000,
    lambda i: set(range(4)),
]

# Calls per site: geometric, so shares span ~20% down to well under 1%.
SCALE = 40_000
RATIO = 0.925
CHUNK = 200


def counts():
    return [max(1, int(SCALE * RATIO ** k)) for k in range(len(SITES))]


def setup():
    return counts()


def run(quota):
    live = []
    left = list(quota)
    remaining = sum(left)
    # Interleave the sites in chunks so no site owns a contiguous stretch
    # of the allocation stream.
    while remaining:
        for k, site in enumerate(SITES):
            n = min(CHUNK, left[k])
            if n:
                base = quota[k] - left[k]
                live.extend([site(base + j) for j in range(n)])
                left[k] -= n
                remaining -= n
    return live


def live_blocks_estimate():
    """For the docs: the number of objects the run keeps alive."""
    return sum(counts())
