"""bench/precompile.py: the .pyc step of bench/run --dev, on fake build
trees (a __pycache__ that is a regular file makes a tree unwritable even
for root, who ignores permission bits)."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

import precompile  # noqa: E402

TAG = sys.implementation.cache_tag


def fake_tree(tmp_path, writable=True):
    pydir = tmp_path / "build" / "python"
    pkg = pydir / "pytm"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("X = 1\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "_recorder.so").write_bytes(b"\x7fELF not really")
    if not writable:
        (pkg / "__pycache__").write_text("in the way")
    return pydir


def pyc(pkg):
    return pkg / "__pycache__" / ("__init__.%s.pyc" % TAG)


def test_writable_tree_is_compiled_in_place(tmp_path):
    pydir = fake_tree(tmp_path)
    assert precompile.prepare(str(pydir), str(tmp_path / "scratch")) == \
        str(pydir)
    assert pyc(pydir / "pytm").is_file()
    assert pyc(pydir / "pytm" / "sub").is_file()
    assert not (tmp_path / "scratch").exists()


def test_read_only_tree_gets_a_compiled_copy(tmp_path, capsys):
    # GIVEN a build tree where no .pyc can be written
    pydir = fake_tree(tmp_path, writable=False)
    scratch = tmp_path / "scratch"
    # WHEN prepared (the step that made bench/run --dev stop under set -e)
    got = precompile.prepare(str(pydir), str(scratch))
    # THEN the children import a compiled copy, extension included
    assert got == str(scratch / "python")
    copy = scratch / "python" / "pytm"
    assert pyc(copy).is_file() and pyc(copy / "sub").is_file()
    assert (copy / "_recorder.so").read_bytes() == b"\x7fELF not really"
    assert "compiling a copy" in capsys.readouterr().err
    # AND a second run replaces the copy
    (pydir / "pytm" / "__init__.py").write_text("X = 2\n")
    assert precompile.prepare(str(pydir), str(scratch)) == got
    assert (copy / "__init__.py").read_text() == "X = 2\n"


def test_no_way_to_compile_warns_and_keeps_the_tree(tmp_path, capsys):
    pydir = fake_tree(tmp_path, writable=False)
    scratch = tmp_path / "scratch"
    scratch.write_text("a file, so no copy can go under it")
    assert precompile.prepare(str(pydir), str(scratch)) == str(pydir)
    assert "RSS figures include the compile cost" in capsys.readouterr().err


def test_script_prints_only_the_path(tmp_path):
    pydir = fake_tree(tmp_path, writable=False)
    r = subprocess.run([sys.executable, os.path.join(HERE, "precompile.py"),
                        str(pydir), str(tmp_path / "scratch")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == str(tmp_path / "scratch" / "python") + "\n"
