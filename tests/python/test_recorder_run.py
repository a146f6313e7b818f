"""`python -m pytm run`: scripts, modules, exit codes, errors."""

import os
import sys


def test_run_script(run_cmd, tmp_path):
    """GIVEN a script that checks it is traced, prints argv and exits 7
    WHEN run with `python -m pytm run --interval 1 --nframe 3 script a -x`
    THEN it runs as __main__ with argv like `python script a -x`, tracing
    from its first line, the arena hint is on stderr, and the exit code
    is 7."""
    script = tmp_path / "s.py"
    script.write_text(
        "import sys, json, pytm\n"
        "print(json.dumps([__name__, sys.argv, pytm.is_tracing(),\n"
        "    pytm.get_sample_interval(), pytm.get_traceback_limit(),\n"
        "    sys.path[0]]))\n"
        "sys.exit(7)\n")
    r = run_cmd([sys.executable, "-m", "pytm", "run", "--interval", "1",
                 "--nframe", "3", str(script), "a", "-x"])
    assert r.returncode == 7, r.stderr
    name, argv, tracing, interval, nframe, path0 = r.json()
    assert name == "__main__"
    assert argv == [str(script), "a", "-x"]
    assert tracing is True and interval == 1 and nframe == 3
    assert path0 == str(tmp_path)
    assert "/dev/shm/pytm-" in r.stderr and "pytmtop -p" in r.stderr


def test_run_script_exception_exit_1(run_cmd, tmp_path):
    """GIVEN a script raising an uncaught exception
    WHEN run under pytm
    THEN the traceback is printed and the exit code is 1."""
    script = tmp_path / "boom.py"
    script.write_text("raise KeyError('boom')\n")
    r = run_cmd([sys.executable, "-m", "pytm", "run", str(script)])
    assert r.returncode == 1
    assert "KeyError: 'boom'" in r.stderr


def test_run_module(run_cmd, tmp_path):
    """GIVEN a module on sys.path
    WHEN run with `python -m pytm run -m pytm_wl_mod 3 --flag`
    THEN it runs as __main__, traced, with its args, and exits 3."""
    r = run_cmd([sys.executable, "-m", "pytm", "run", "-m", "pytm_wl_mod",
                 "3", "--flag"], cwd=str(tmp_path))
    assert r.returncode == 3, r.stderr
    assert "tracing=True argv=['3', '--flag']" in r.stdout


def test_run_missing_script(run_cmd, tmp_path):
    """GIVEN a script path that does not exist
    WHEN run under pytm
    THEN a clear message and exit code 2, and no arena left behind."""
    missing = tmp_path / "nope.py"
    r = run_cmd([sys.executable, "-m", "pytm", "run", str(missing)])
    assert r.returncode == 2
    assert "nope.py" in r.stderr and "No such file" in r.stderr


def test_run_missing_module(run_cmd):
    """GIVEN a module name that does not exist
    WHEN run with -m
    THEN exit code 2 with a message naming it."""
    r = run_cmd([sys.executable, "-m", "pytm", "run", "-m",
                 "pytm_no_such_module_xyz"])
    assert r.returncode == 2
    assert "pytm_no_such_module_xyz" in r.stderr


def test_run_usage_error(run_cmd):
    """GIVEN no target / a bad interval
    WHEN running
    THEN argparse's usage error, exit code 2."""
    assert run_cmd([sys.executable, "-m", "pytm", "run"]).returncode == 2
    r = run_cmd([sys.executable, "-m", "pytm", "run", "--interval", "0",
                 "x.py"])
    assert r.returncode == 2
