"""Holds ~200 MB from three known lines (test-only): LINE_A 120 MiB of
1 MiB bytearrays, LINE_B ~60 MB of small bytes objects, LINE_C 20 MiB of
100 KiB bytearrays."""

MIB = 1024 * 1024
KEEP = []


def build():
    a = [bytearray(MIB) for _ in range(120)]  # LINE_A
    b = [bytes(i % 64 + 70) for i in range(450000)]  # LINE_B
    c = [bytearray(100 * 1024) for _ in range(205)]  # LINE_C
    KEEP.extend((a, b, c))


def lines():
    """{'A': lineno, ...} of the three allocation lines."""
    import inspect
    src, first = inspect.getsourcelines(build)
    out = {}
    for off, text in enumerate(src):
        for tag in ("A", "B", "C"):
            if text.rstrip().endswith("# LINE_" + tag):
                out[tag] = first + off
    return out
