"""What the numbers were measured on: CPU, cores, kernel, Python and the
version of every tracer, read in the interpreter that runs the children."""

import json
import os
import platform
import subprocess

PROBE = r"""
import json, sys, platform
from importlib import metadata
out = {"python": sys.version.split()[0],
       "implementation": platform.python_implementation(),
       "executable": sys.executable}
for dist in ("pytm", "memray", "pyperf", "pyperformance"):
    try:
        out[dist] = metadata.version(dist)
    except Exception:
        out[dist] = None
try:
    import pytm
    out["pytm_file"] = pytm.__file__
except Exception as exc:
    out["pytm_import_error"] = repr(exc)
out["tracemalloc"] = "stdlib " + out["python"]
print(json.dumps(out))
"""


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _git_commit(root):
    try:
        r = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain"],
                               capture_output=True, text=True, timeout=30)
        if r.returncode == 0:
            return r.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def describe(python, env, repo_root):
    probe = subprocess.run([python, "-c", PROBE], env=env,
                           capture_output=True, text=True, timeout=120)
    info = json.loads(probe.stdout) if probe.returncode == 0 else {
        "probe_error": probe.stderr[-500:]}
    info.update({
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "mem_gib": _mem_total_gib(),
        "kernel": platform.release(),
        "os": platform.platform(),
        "loadavg_at_start": os.getloadavg(),
        "repo_commit": _git_commit(repo_root),
    })
    return info


def one_line(info):
    return "%s, %s cores, %s GiB, Linux %s, CPython %s; memray %s, pytm %s" % (
        info.get("cpu_model"), info.get("cores"), info.get("mem_gib"),
        info.get("kernel"), info.get("python"), info.get("memray"),
        info.get("pytm"))
