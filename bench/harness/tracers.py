"""The tracers measured side by side.

A Tracer knows two things: how the parent builds the child's command line
(memray wraps the interpreter; everything else is started in-process by
bench/child.py) and, inside the child, how to start and stop itself and
what extras to report after the timed region.
"""

import os
import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Tracer:
    name: str
    label: str
    kind: str                 # untraced | hook |
    #                           tracemalloc | pytm | memray
    nframe: int = 1
    interval: str = ""        # pytm: "default" or "exact"
    hook_mode: str = ""       # hook: "passthrough" or "count"
    memray_args: tuple = field(default_factory=tuple)
    hidden: bool = False      # measurement helper, not a table row

    # ---- parent side -------------------------------------------------
    def command(self, python, child_argv, tmpdir):
        """argv for one measurement; memray writes its capture in tmpdir."""
        child = [os.path.join(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))), "child.py")] + list(child_argv)
        if self.kind == "memray":
            out = os.path.join(tmpdir, "memray.bin")
            return ([python, "-m", "memray", "run", "-q", "-f", "-o", out]
                    + list(self.memray_args) + child)
        return [python] + child

    # ---- child side --------------------------------------------------
    def start(self, interval=None):
        if self.kind == "untraced" or self.kind == "memray":
            return _Session()
        if self.kind == "hook":
            return _HookSession(self.hook_mode)
        if self.kind == "tracemalloc":
            return _TracemallocSession(self.nframe)
        if self.kind == "pytm":
            if interval is None and self.interval == "exact":
                interval = 1
            return _PytmSession(self.nframe, interval)
        raise ValueError(self.kind)


class _Session:
    def extras(self, lines=False):
        return {}

    def stop(self):
        pass


class _HookSession(_Session):
    def __init__(self, mode):
        import benchhook
        self.mod = benchhook
        self.mode = mode
        if mode == "count":
            benchhook.start_count()
        else:
            benchhook.start_passthrough()

    def extras(self, lines=False):
        if self.mode == "count":
            return {"allocs": self.mod.counts()}
        return {}

    def stop(self):
        self.mod.stop()


def _line_stats(stats):
    """[(filename, lineno, size, count)] from Statistic objects grouped by
    'lineno' (tracemalloc's and pytm's share the shape)."""
    rows = []
    for st in stats:
        frame = st.traceback[0]
        rows.append([frame.filename, frame.lineno, int(st.size),
                     int(st.count)])
    return rows


class _TracemallocSession(_Session):
    def __init__(self, nframe):
        import tracemalloc
        self.tm = tracemalloc
        tracemalloc.start(nframe)

    def extras(self, lines=False):
        out = {"traced_memory": list(self.tm.get_traced_memory())}
        if lines:
            snap = self.tm.take_snapshot()
            out["lines"] = _line_stats(snap.statistics("lineno"))
        return out

    def stop(self):
        self.tm.stop()


class _PytmSession(_Session):
    def __init__(self, nframe, interval):
        import pytm
        self.pytm = pytm
        if interval is None:
            pytm.start(nframe)
        else:
            pytm.start(nframe, sample_interval=interval)

    def extras(self, lines=False):
        p = self.pytm
        out = {"traced_memory": list(p.get_traced_memory())}
        rec = getattr(p, "_recorder", None)
        for name, fn in (("sample_interval",
                          getattr(p, "get_sample_interval", None)),
                         ("stats", getattr(rec, "_stats", None))):
            if fn is not None:
                try:
                    out[name] = fn()
                except Exception as exc:  # report, never hide
                    out[name] = "error: %r" % (exc,)
        if lines:
            snap = p.take_snapshot()
            out["lines"] = _line_stats(snap.statistics("lineno"))
        return out

    def stop(self):
        self.pytm.stop()


ALL = [
    Tracer("untraced", "untraced", "untraced"),
    Tracer("hook", "PEP 445 pass-through (floor)", "hook",
           hook_mode="passthrough"),
    Tracer("tracemalloc-1", "tracemalloc nframe=1", "tracemalloc", 1),
    Tracer("tracemalloc-25", "tracemalloc nframe=25", "tracemalloc", 25),
    Tracer("pytm-1", "pytm sampled nframe=1", "pytm", 1, "default"),
    Tracer("pytm-25", "pytm sampled nframe=25", "pytm", 25, "default"),
    Tracer("pytm-exact-1", "pytm exact nframe=1", "pytm", 1, "exact"),
    Tracer("pytm-exact-25", "pytm exact nframe=25", "pytm", 25, "exact"),
    Tracer("memray", "memray run", "memray"),
    Tracer("memray-pyalloc", "memray run --trace-python-allocators",
           "memray", memray_args=("--trace-python-allocators",)),
    Tracer("count", "allocation counter", "hook", hook_mode="count",
           hidden=True),
]
BY_NAME = {t.name: t for t in ALL}
SHOWN = [t for t in ALL if not t.hidden]

# --quick keeps the floor (PEP 445 hooks that only forward), one of each
# tracer at nframe=1, and memray's comparable mode (it sees pymalloc
# allocations as tracemalloc and pytm do).
QUICK = ["untraced", "hook", "tracemalloc-1", "pytm-1", "pytm-exact-1",
         "memray-pyalloc"]

if __name__ == "__main__":
    for t in ALL:
        print(t.name, "-", t.label, file=sys.stdout)
