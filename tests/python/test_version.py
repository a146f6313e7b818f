"""One version everywhere: pyproject.toml, pytm.__version__ and pytmtop."""
import os
import pathlib
import re
import subprocess

import pytest

import pytm

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _pyproject_version():
    text = (ROOT / "pyproject.toml").read_text()
    return re.search(r'^version = "([^"]+)"', text, re.M).group(1)


def test_package_version_matches_pyproject():
    """GIVEN pyproject.toml WHEN importing pytm THEN __version__ is the same."""
    assert pytm.__version__ == _pyproject_version()


def test_pytmtop_version_matches_pyproject():
    """GIVEN the built pytmtop WHEN run with --version THEN it prints the same."""
    build = os.environ.get("PYTM_BUILD_DIR")
    exe = pathlib.Path(build or "", "pytmtop")
    if not build or not exe.exists():
        pytest.skip("pytmtop not built in PYTM_BUILD_DIR")
    out = subprocess.run([str(exe), "--version"], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["pytmtop", _pyproject_version()]
