"""What the numbers were measured on: CPU, cores, kernel, Python and the
version of every tracer, read in the interpreter that runs the children."""

import json
import os
import platform
import subprocess

PROBE = r"""
import json, os, sys, platform
from importlib import metadata
out = {"python": sys.version.split()[0],
       "implementation": platform.python_implementation(),
       "executable": sys.executable}
for dist in ("memray", "pyperf", "pyperformance"):
    try:
        out[dist] = metadata.version(dist)
    except Exception:
        out[dist] = None
out["pytm"] = None
try:
    import pytm
    out["pytm_file"] = pytm.__file__
    try:
        d = metadata.distribution("pytm")
        installed = os.path.samefile(str(d.locate_file("pytm/__init__.py")),
                                     pytm.__file__)
    except Exception:
        installed = False
    if installed:
        out["pytm"] = d.version
    else:
        # A build tree on PYTHONPATH (bench/run --dev) has no dist-info
        # of its own (importlib.metadata finds none, or an installed
        # pytm's that is not the one imported): the package's version.
        out["pytm"] = getattr(pytm, "__version__", None)
        out["pytm_from"] = "build tree"
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


def _build_source(pytm_file):
    """The source directory of the CMake build tree a pytm package was
    imported from (BUILD/python/pytm/__init__.py, BUILD/CMakeCache.txt),
    or None when pytm_file is not in one."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(pytm_file)))
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_HOME_DIRECTORY:"):
                    return line.split("=", 1)[1].strip()
    except OSError:
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
    if info.get("pytm_from") == "build tree" and info.get("pytm_file"):
        src = _build_source(info["pytm_file"])
        if src:
            info["pytm_build_source"] = src
            info["pytm_build_commit"] = _git_commit(src)
    return info


def pytm_label(info):
    """pytm's version as the header shows it: "0.1.0", or for a build tree
    "0.1.0 (build tree, commit abc1234)" (the commit is the tree's
    source checkout's HEAD when the bench ran, "+dirty" if it had
    uncommitted changes)."""
    version = info.get("pytm")
    if info.get("pytm_from") != "build tree":
        return str(version)
    commit = info.get("pytm_build_commit")
    return "%s (build tree%s)" % (
        version, ", commit %s" % commit if commit else "")


def one_line(info):
    return "%s, %s cores, %s GiB, Linux %s, CPython %s; memray %s, pytm %s" % (
        info.get("cpu_model"), info.get("cores"), info.get("mem_gib"),
        info.get("kernel"), info.get("python"), info.get("memray"),
        pytm_label(info))
