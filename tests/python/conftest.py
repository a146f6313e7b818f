"""Shared fixtures of the recorder's integration tests.

Every traced workload runs in a fresh subprocess (``run_py``) so that
allocator hooks, arenas and atexit handlers never leak between tests.
The build tree is found through $PYTM_BUILD_DIR (set by CTest) or the
pytm package on $PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Optional

import pytest

HELPERS = Path(__file__).resolve().parent / "helpers"


def _build_dir() -> Optional[Path]:
    env = os.environ.get("PYTM_BUILD_DIR")
    if env:
        return Path(env).resolve()
    try:
        import pytm
    except ImportError:
        return None
    # build/python/pytm/__init__.py -> build/
    return Path(pytm.__file__).resolve().parent.parent.parent


def _child_env(extra: Optional[dict] = None) -> dict:
    env = dict(os.environ)
    paths = [str(HELPERS)]
    if env.get("PYTHONPATH"):
        # Absolute, so that children may run in another directory.
        paths += [os.path.abspath(p)
                  for p in env["PYTHONPATH"].split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.pop("PYTHONTRACEMALLOC", None)
    env.pop("PYTHONMALLOC", None)
    if extra:
        env.update(extra)
    return env


class Result:
    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self):
        """The last stdout line, parsed as JSON."""
        lines = [l for l in self.stdout.splitlines() if l.strip()]
        assert lines, "no output; stderr:\n" + self.stderr
        return json.loads(lines[-1])


@pytest.fixture
def run_py():
    """run_py(code, *args, check=True, timeout=..., env=None) -> Result:
    runs `python -c code args...` in a fresh interpreter with the helper
    modules importable; asserts exit status 0 when check."""

    def run(code: str, *args: str, check: bool = True, timeout: float = 300,
            env: Optional[dict] = None, cwd: Optional[str] = None) -> Result:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            capture_output=True, text=True, timeout=timeout,
            env=_child_env(env), cwd=cwd)
        res = Result(proc)
        if check:
            assert proc.returncode == 0, (
                "child failed (%d)\nstdout:\n%s\nstderr:\n%s"
                % (proc.returncode, proc.stdout, proc.stderr))
        return res

    return run


@pytest.fixture
def run_cmd():
    """run_cmd(argv, ...) -> Result: like run_py for an explicit argv."""

    def run(argv, timeout: float = 300, env: Optional[dict] = None,
            cwd: Optional[str] = None) -> Result:
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout, env=_child_env(env), cwd=cwd)
        return Result(proc)

    return run


@pytest.fixture
def arena_dump_tool() -> str:
    """Path of the pytm_arena_dump test CLI (built by CMake)."""
    bd = _build_dir()
    tool = bd / "pytm_arena_dump" if bd else None
    if tool is None or not tool.exists():
        pytest.skip("pytm_arena_dump not built (set PYTM_BUILD_DIR)")
    return str(tool)


@pytest.fixture
def helpers_dir() -> Path:
    return HELPERS
