"""Byte-compile a build tree's pytm package, as pip does at install, and
print the directory the bench children should import pytm from.

    python bench/precompile.py BUILD_DIR/python SCRATCH_DIR

bench/run --dev calls it with the venv's interpreter (the children's):
an installed pytm has its .pyc files, a build tree has none, and with
PYTHONDONTWRITEBYTECODE every child would compile pytm's modules from
source, about 1 MB of peak RSS that no installed user pays (Figure 2).

  - the package compiles in place: prints BUILD_DIR/python;
  - it cannot (a read-only build tree): copies BUILD_DIR/python to
    SCRATCH_DIR/python, compiles the copy and prints that;
  - neither works: prints BUILD_DIR/python and warns that the RSS
    figures include the compile cost.
Exits 0 in all three cases; messages go to stderr, the path to stdout.
"""

import compileall
import contextlib
import os
import shutil
import sys


def log(msg):
    print("bench/precompile: %s" % msg, file=sys.stderr, flush=True)


def compiles(pkg):
    """True when every module under pkg has a current .pyc."""
    with contextlib.redirect_stdout(sys.stderr):  # stdout is the answer
        return bool(compileall.compile_dir(pkg, quiet=2))


def prepare(pydir, scratch):
    """The directory to put on PYTHONPATH (see the module docstring)."""
    if compiles(os.path.join(pydir, "pytm")):
        return pydir
    copy = os.path.join(scratch, "python")
    log("cannot write .pyc files under %s (read-only build tree?): "
        "compiling a copy in %s" % (pydir, copy))
    try:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(pydir, copy, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        if compiles(os.path.join(copy, "pytm")):
            return copy
    except OSError as exc:
        log("copy failed: %s" % exc)
    log("warning: pytm's .pyc files could not be written; every child "
        "compiles pytm from source, so the RSS figures include the "
        "compile cost (about 1 MB)")
    return pydir


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(prepare(os.path.abspath(argv[0]), os.path.abspath(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
