"""Figure 6: what watching costs.

(a) pytm_bench_model: CPU ms per model refresh (group + sort, and diff) at
    1k/10k/100k synthetic tracebacks, printed by the tui engineer's program.
(b) `pytmtop -p PID --once --json` against a live target holding 1, 1k,
    10k (and in a full run 100k) distinct tracebacks (harness/tb_target.py,
    pytm exact): CPU time and wall time of the whole viewer process per
    invocation (startup, attach, one snapshot of the arena, JSON out).
(c) The target's slowdown while `pytmtop -p PID --iterations N -d 0.1`
    refreshes ten times a second on a pseudo-terminal: workloads/steady.py
    under pytm sampled nframe=1, observed and unobserved runs interleaved;
    the viewer's own CPU is reported as % of one core and as ms per refresh
    (CPU / (viewing time / 0.1 s), an approximation: it assumes the viewer
    kept to its 0.1 s period).
"""

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

from harness import proc, stats, tracers

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(HERE, "tb_target.py")
LIVE_WORKLOAD = "steady"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def model_bench(bench_model):
    if not bench_model or not os.path.exists(bench_model):
        return {"error": "pytm_bench_model not built"}
    r = subprocess.run([bench_model, "--json"], capture_output=True,
                       text=True, timeout=900)
    if r.returncode != 0:
        return {"error": "exit %d: %s" % (r.returncode, r.stderr[-500:])}
    return json.loads(r.stdout)


def once_cost(python, env, pytmtop, digits, reps):
    target = subprocess.Popen([python, TARGET, str(digits)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        line = target.stdout.readline().split()
        if not line or line[0] != "READY":
            raise proc.ChildFailed("tb_target did not start: %r" % line)
        pid, n = int(line[1]), int(line[2])
        cpu, wall, errors, rows, arena_tbs = [], [], [], None, None
        for _ in range(reps):
            # stderr goes to a file: reading two pipes one after the
            # other could block on a full stderr pipe.
            with tempfile.TemporaryFile() as errf:
                t0 = time.perf_counter()
                p = subprocess.Popen([pytmtop, "-p", str(pid), "--once",
                                      "--json"], stdout=subprocess.PIPE,
                                     stderr=errf, env=env)
                out = p.stdout.read()
                rc, ru = proc.wait_rusage(p, 300)
                wall.append(time.perf_counter() - t0)
                p.stdout.close()
                errf.seek(0)
                err = errf.read()
            cpu.append(ru.ru_utime + ru.ru_stime)
            if rc != 0:
                errors.append("exit %d: %s" % (rc, err[-300:].decode(
                    errors="replace")))
                continue
            try:
                doc = json.loads(out)
                rows = _count_rows(doc)
                if isinstance(doc, dict):
                    arena_tbs = doc.get("n_tracebacks")
            except ValueError as exc:
                errors.append("bad JSON: %r" % (exc,))
        return {"tracebacks": n, "cpu_s": stats.summary(cpu),
                "wall_s": stats.summary(wall), "rows": rows,
                "arena_tracebacks": arena_tbs,
                "errors": errors[:3]}
    finally:
        try:
            target.stdin.write("\n")
            target.stdin.close()
        except OSError:
            pass
        try:
            target.wait(timeout=60)
        except subprocess.TimeoutExpired:
            target.kill()
            target.wait()


def _count_rows(doc):
    if isinstance(doc, dict):
        for key in ("rows", "tracebacks", "stats", "lines"):
            if isinstance(doc.get(key), list):
                return len(doc[key])
    if isinstance(doc, list):
        return len(doc)
    return None


class _Viewer:
    """pytmtop on a pseudo-terminal (it is a curses program); its output is
    drained and discarded by a thread."""

    def __init__(self, pytmtop, pid, env, iterations):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", 50, 160, 0, 0))
        venv = dict(env, TERM="xterm-256color")
        self.t0 = time.perf_counter()
        self.p = subprocess.Popen(
            [pytmtop, "-p", str(pid), "--iterations", str(iterations),
             "-d", "0.1"], stdin=slave, stdout=slave, stderr=slave, env=venv,
            start_new_session=True)
        os.close(slave)
        self.master = master
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()

    def _drain(self):
        while True:
            try:
                if not os.read(self.master, 65536):
                    break
            except OSError:
                break

    def finish(self):
        """Stops the viewer (SIGTERM to its own pid if it is still
        running). Returns (exit code, seconds viewed, CPU seconds)."""
        deadline = time.monotonic() + 0.5
        while self.p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.p.returncode is None:
            self.p.send_signal(signal.SIGTERM)
        rc, ru = proc.wait_rusage(self.p, 30)
        elapsed = time.perf_counter() - self.t0
        self.drain.join(timeout=5)
        os.close(self.master)
        return rc, elapsed, ru.ru_utime + ru.ru_stime


def live_slowdown(python, env, pytmtop, repeats):
    tracer = tracers.BY_NAME["pytm-1"]
    plain, watched, cpu_pct, ms_refresh, rcs = [], [], [], [], []
    for r in range(repeats):
        for observed in ((False, True) if r % 2 == 0 else (True, False)):
            viewer = []

            def attach(pid):
                viewer.append(_Viewer(pytmtop, pid, env, 100000))
                time.sleep(0.3)   # let it attach and reach steady refresh

            res = proc.run_child(tracer, python, ["--workload", LIVE_WORKLOAD,
                                                  "--tracer", tracer.name],
                                 env, on_ready=attach if observed else None)
            if observed:
                rc, elapsed, cpu = viewer[0].finish()
                rcs.append(rc)
                watched.append(res["t_run"])
                cpu_pct.append(100.0 * cpu / elapsed)
                ms_refresh.append(1000.0 * cpu / (elapsed / 0.1))
            else:
                plain.append(res["t_run"])
        log("viewer live round %d/%d: unobserved %.3f observed %.3f" % (
            r + 1, repeats, plain[-1], watched[-1]))
    return {"workload": LIVE_WORKLOAD, "tracer": tracer.name,
            "ratio": stats.summary(stats.paired_ratios(watched, plain)),
            "t_unobserved": stats.summary(plain),
            "t_observed": stats.summary(watched),
            "viewer_cpu_pct": stats.summary(cpu_pct),
            "viewer_ms_per_refresh": stats.summary(ms_refresh),
            "viewer_exit_codes": rcs}


def run(python, env, quick=False, pytmtop=None, bench_model=None):
    out = {"model": model_bench(bench_model)}
    if not pytmtop or not os.path.exists(pytmtop):
        out["error"] = "pytmtop not found"
        return out
    out["pytmtop"] = pytmtop
    digits = [0, 3, 4] if quick else [0, 3, 4, 5]
    out["once"] = []
    for d in digits:
        log("viewer: pytmtop --once against 10**%d tracebacks" % d)
        try:
            out["once"].append(once_cost(python, env, pytmtop, d,
                                         3 if quick else 5))
        except proc.ChildFailed as exc:
            out["once"].append({"tracebacks": 10 ** d, "errors": [str(exc)]})
    try:
        out["live"] = live_slowdown(python, env, pytmtop, 5)
    except proc.ChildFailed as exc:
        out["live"] = {"error": str(exc)}
    return out


def _s(s, scale=1.0, fmt="%.1f"):
    if not s:
        return "n/a"
    return (fmt + " [" + fmt + "–" + fmt + "]") % (
        s["median"] * scale, s["min"] * scale, s["max"] * scale)


def _model_table(model):
    """pytm_bench_model --json: one row per view, one column per size.
    A cell is the refresh as the screen does it ('top': order only the
    rows shown) / with a full sort ('full'); older versions of the
    program printed one 'ms' per (grouping, size)."""
    cells, views, sizes = {}, [], set()
    for r in model["results"]:
        view = r.get("view", r.get("grouping"))
        n = r.get("tracebacks")
        if view is None or n is None:
            continue
        if view not in views:
            views.append(view)
        sizes.add(n)
        if "top_ms" in r:
            cells[(view, n)] = "%.2f / %.2f" % (r["top_ms"],
                                                r.get("full_ms", r["top_ms"]))
        elif "ms" in r:
            cells[(view, n)] = "%.2f" % r["ms"]
    sizes = sorted(sizes)
    head = ("| model refresh, CPU ms, median of %s (pytm_bench_model; "
            "top rows only / full sort) | " % model.get("reps", "several")
            + " | ".join("%gk tracebacks" % (s / 1000) for s in sizes) + " |")
    lines = [head, "|---" * (len(sizes) + 1) + "|"]
    for v in views:
        lines.append("| %s | %s |" % (v, " | ".join(
            cells.get((v, s), "n/a") for s in sizes)))
    return "\n".join(lines)


def markdown(res):
    parts = ["**Figure 6. Viewer cost**"]
    model = res.get("model", {})
    if model.get("results"):
        parts.append(_model_table(model))
    else:
        parts.append("pytm_bench_model: " + str(model.get("error")))
    if res.get("error"):
        parts.append("pytmtop: not measured (%s)" % res["error"])
        return "\n\n".join(parts)
    lines = ["| `pytmtop --once --json`, target's tracebacks | in the arena "
             "| CPU ms | wall ms | rows (group lineno) | errors |",
             "|---|---|---|---|---|---|"]
    for o in res.get("once", []):
        lines.append("| %d | %s | %s | %s | %s | %s |" % (
            o["tracebacks"], o.get("arena_tracebacks", "n/a"),
            _s(o.get("cpu_s"), 1000, "%.1f"),
            _s(o.get("wall_s"), 1000, "%.1f"), o.get("rows", "n/a"),
            "; ".join(o.get("errors", [])) or "none"))
    parts.append("\n".join(lines))
    live = res.get("live", {})
    if live.get("error"):
        parts.append("live refresh: not measured (%s)" % live["error"])
    else:
        parts.append(
            "Live: `%s` under pytm sampled nframe=1 while `pytmtop -p PID "
            "--iterations N -d 0.1` refreshes 10 times a second: target "
            "time ratio observed/unobserved **%s** (median [min–max] of %d "
            "interleaved pairs); viewer CPU %s%% of one core, about %s ms "
            "per refresh; viewer exit codes %s (-15: stopped by the harness "
            "with SIGTERM once the target finished)." % (
                live["workload"], _s(live["ratio"], 1, "%.3f"),
                live["ratio"]["n"] if live.get("ratio") else 0,
                _s(live["viewer_cpu_pct"], 1, "%.1f"),
                _s(live["viewer_ms_per_refresh"], 1, "%.2f"),
                sorted(set(live.get("viewer_exit_codes", [])))))
    return "\n\n".join(parts)
