"""Small statistics helpers: medians of paired ratios and geometric means."""

import math
import statistics


def summary(values):
    """{'median', 'min', 'max', 'n'} of a non-empty list, else None."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals),
            "max": max(vals), "n": len(vals)}


def paired_ratios(num, den):
    """Ratios num[i]/den[i] for the rounds where both exist: runs of the
    same round were interleaved, so pairing them cancels slow drift."""
    out = []
    for a, b in zip(num, den):
        if a is not None and b:
            out.append(a / b)
    return out


def geomean(values):
    vals = [v for v in values if v is not None and v > 0]
    if not vals:
        return None
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def median(values):
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None
