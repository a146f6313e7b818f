"""The pytest plugin (pytest --pytm, limit_memory / limit_leaks markers),
run on real test files through pytester in a fresh interpreter each."""

from __future__ import annotations

import pytest

from pytm.pytest_plugin import parse_size

pytest_plugins = ["pytester"]

TESTS = '''
import pytest

_keep = []

@pytest.mark.limit_leaks("1 MB")
def test_leaks_ten_megabytes():
    _keep.append([bytearray(10000) for _ in range(1000)])   # LEAK

@pytest.mark.limit_leaks("1 MB")
def test_clean():
    tmp = [bytearray(10000) for _ in range(1000)]
    del tmp

@pytest.mark.limit_memory("5 MB")
def test_peak_twenty_megabytes():
    tmp = [bytearray(20000) for _ in range(1000)]
    del tmp

@pytest.mark.limit_memory("5 MB")
def test_small_peak():
    tmp = [bytearray(1000) for _ in range(1000)]
    del tmp

def test_unmarked():
    _keep.append(bytearray(3 * 10**6))
'''


def _line(tag: str) -> int:
    for i, line in enumerate(TESTS.splitlines(), 1):
        if "# " + tag in line:
            return i - 1  # TESTS starts with a newline
    raise AssertionError(tag)


def _run(pytester, *args):
    pytester.makepyfile(test_mem=TESTS)
    return pytester.runpytest_subprocess("-p", "pytm.pytest_plugin",
                                         "-p", "no:cacheprovider", *args)


@pytest.mark.parametrize("mode", [[], ["--pytm-exact"]])
def test_limits_fail_and_pass(pytester, mode):
    """GIVEN a file with a leaking test, a clean one, a test peaking at
    20 MB and one at 1 MB, each under a 1 MB / 5 MB limit
    WHEN pytest runs it with --pytm (sampled, then exact)
    THEN exactly the leaking and the 20 MB tests fail, each message names
    the limit, the measured size and the line that allocated it, and the
    summary lists the highest peaks."""
    res = _run(pytester, "--pytm", *mode)
    res.assert_outcomes(passed=3, failed=2)
    out = res.stdout.str()
    res.stdout.fnmatch_lines([
        "*test_leaks_ten_megabytes was limited to 976.6 KiB but leaked*",
        "*test_peak_twenty_megabytes was limited to 4.8 MiB but allocated "
        "at its peak*",
        "*pytm: highest peaks*",
    ])
    assert "test_mem.py:%d:" % _line("LEAK") in out, out
    assert "freed that memory before it returned" in out, out
    assert "PluggyTeardownRaisedWarning" not in out, out
    assert ("(exact)" in out) == bool(mode), out
    assert "FAILED test_mem.py::test_clean" not in out
    assert "FAILED test_mem.py::test_small_peak" not in out


def test_markers_inert_without_the_option(pytester):
    """GIVEN the same file
    WHEN pytest runs it without --pytm
    THEN nothing is traced and every test passes (the markers are known:
    no unknown-marker warning)."""
    res = _run(pytester, "-W", "error::pytest.PytestUnknownMarkWarning")
    res.assert_outcomes(passed=5)
    assert "pytm: highest peaks" not in res.stdout.str()


def test_bad_marker_argument_is_a_usage_error(pytester):
    """GIVEN a marker with a size that is not one
    WHEN pytest --pytm runs it
    THEN the run stops with a message naming the test and the units."""
    pytester.makepyfile(test_bad='''
import pytest
@pytest.mark.limit_leaks("a lot")
def test_x():
    pass
''')
    res = pytester.runpytest_subprocess("-p", "pytm.pytest_plugin",
                                        "-p", "no:cacheprovider", "--pytm")
    assert res.ret != 0
    res.stderr.fnmatch_lines(["*test_bad.py::test_x: limit_leaks: not a "
                              "size: 'a lot'*units B KB MB GB*"])
    assert "1 failed" not in res.stdout.str()  # stopped before running


@pytest.mark.parametrize("text,value", [
    (0, 0), (123, 123), ("24 MB", 24 * 1000 ** 2), ("1.5MiB", 3 * 2 ** 19),
    ("100 kb", 100000), ("7", 7), ("2 GiB", 2 * 2 ** 30), (".5 KiB", 512)])
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("bad", ["", "MB", "1 XB", -1, 1.5, True, "1 2"])
def test_parse_size_refuses(bad):
    with pytest.raises(ValueError):
        parse_size(bad)
