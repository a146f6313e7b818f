"""End-to-end tests of pytmtop against a real traced process, driven
through tmux (GIVEN a traced target and pytmtop in a fixed-size pane, WHEN
keys are sent, THEN capture-pane shows the expected screen)."""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from conftest import (PYTMTOP, once_json, run_pytmtop, target_line,
                      wait_for)

UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}
ROW = re.compile(r"^\s*([+-]?[\d.]+ \w+)\s+(.*?)\s+(-?[\d.]+)%\s+(.*?)\s*$")


def parse_size(text):
    num, unit = text.split()
    return float(num) * UNITS[unit]


def table(screen):
    """(size, location, whole line) of every table row on the screen."""
    rows, inside = [], False
    for line in screen.splitlines():
        if "Location" in line and "Size" in line:
            inside = True
            continue
        if line.startswith("?Help"):
            break
        m = ROW.match(line) if inside else None
        if m:
            rows.append((parse_size(m.group(1)), m.group(4), line))
    return rows


def start_viewer(tmux_factory, target, *extra, **kw):
    cmd = "%s -p %d -d 0.2 %s" % (shlex.quote(PYTMTOP), target.pid,
                                  " ".join(extra))
    s = tmux_factory(cmd, cwd=str(target.dir), **kw)
    line = target_line("LINE_FIRST")
    assert s.wait_text("target.py:%d" % line), s.capture()
    return s


def test_grouping_keys_change_rows(target, tmux_factory):
    s = start_viewer(tmux_factory, target)
    first, second = target_line("LINE_FIRST"), target_line("LINE_SECOND")
    locs = [r[1] for r in table(s.capture())]
    assert any(l.endswith("target.py:%d" % first) for l in locs), locs
    assert any(l.endswith("target.py:%d" % second) for l in locs), locs

    s.send("f")
    assert wait_for(lambda: "| filename" in s.capture())
    rows = table(s.capture())
    tgt = [r for r in rows if r[1].endswith("target.py")]
    assert len(tgt) == 1, rows  # both lines merged into one file row
    assert tgt[0][0] >= 8 * 400_000 + 4 * 150_000 - 1024

    s.send("t")
    assert wait_for(lambda: "| traceback" in s.capture())
    rows = table(s.capture())
    assert any(re.search(r"target\.py:%d \(\d+( of \d+)? frames\)" % first,
                         r[1]) for r in rows), rows

    s.send("l")
    assert wait_for(lambda: "| lineno" in s.capture())
    assert any(r[1].endswith("target.py:%d" % first) for r in table(s.capture()))


def test_cumulative_changes_sums(target, tmux_factory):
    s = start_viewer(tmux_factory, target)
    before = sum(r[0] for r in table(s.capture()))
    s.send("c")
    assert wait_for(lambda: "lineno cumulative" in s.capture())
    rows = table(s.capture())
    after = sum(r[0] for r in rows)
    # every frame of each traceback counts: the caller lines
    # (target.py:<loop line>) now hold the callees' sizes too
    assert after > before * 1.5, (before, after)
    loop_line = target_line("LINE_FIRST") + 4  # "    first()" in the loop
    assert any(r[1].endswith("target.py:%d" % loop_line) for r in rows), rows


def test_baseline_then_diff_shows_growth(target, tmux_factory):
    s = start_viewer(tmux_factory, target)
    s.send("b")
    assert s.wait_text("baseline set")
    target.allocate_more()
    more = target_line("LINE_MORE")
    assert s.wait_text("target.py:%d" % more)
    s.send("d")
    assert s.wait_text("Size Diff")
    row = [r for r in table(s.capture()) if r[1].endswith("target.py:%d" % more)]
    assert row, s.capture()
    # Size, then Size Diff: +~9.5 MiB of new bytes
    m = re.match(r"^\s*([\d.]+ \w+)\s+(\+[\d.]+ \w+)", row[0][2])
    assert m, row[0][2]
    assert parse_size(m.group(2)) >= 9 * 1024 * 1024
    first = [r for r in table(s.capture())
             if r[1].endswith("target.py:%d" % target_line("LINE_FIRST"))]
    assert re.match(r"^\s*[\d.]+ \w+\s+[+-]\d+ B", first[0][2]), first


def test_save_writes_matching_dump(target, tmux_factory):
    s = start_viewer(tmux_factory, target)
    s.send("s")
    assert s.wait_text("wrote pytm-%d-" % target.pid)
    m = re.search(r"wrote (pytm-%d-\d{8}-\d{6}\.pytm)" % target.pid, s.capture())
    path = target.dir / m.group(1)
    assert path.exists()
    saved = once_json(str(path))
    live = once_json("-p", str(target.pid))
    assert saved["pid"] == target.pid
    first = target_line("LINE_FIRST")

    def size_of(d):
        return [r["size"] for r in d["rows"]
                if r["filename"].endswith("target.py") and r["lineno"] == first]
    assert size_of(saved) == size_of(live) and size_of(saved)
    assert abs(saved["total_size"] - live["total_size"]) < 64 * 1024
    assert saved["total_size"] == sum(r["size"] for r in saved["rows"])
    # the Python API, when it can load dumps
    probe = subprocess.run([sys.executable, "-c",
                            "import pytm; pytm.Snapshot.load"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("pytm.Snapshot.load not available yet")
    code = ("import pytm, sys; s = pytm.Snapshot.load(sys.argv[1]); "
            "print(sum(st.size for st in s.statistics('lineno')))")
    r = subprocess.run([sys.executable, "-c", code, str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == saved["total_size"]


def test_detail_and_help(target, tmux_factory):
    s = start_viewer(tmux_factory, target)
    s.send("Enter")
    assert s.wait_text("keep.append(bytearray(400_000))"), s.capture()
    s.send("Escape")
    assert s.wait_text("?Help")
    s.send("?")
    assert s.wait_text("group by traceback")
    s.send("x")
    assert s.wait_text("?Help")


KEYS_C = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tui", "keys.c")


def test_help_scrolls_to_its_last_line_at_80x24(target, tmux_factory):
    # GIVEN pytmtop on an 80x24 terminal, and the help text of every key
    # in tui/keys.c's table (the help screen is taller than 24 rows)
    with open(KEYS_C) as f:
        helps = re.findall(r'^\s*X\(\w+,.*"([^"]*)"\)', f.read(), re.M)
    assert len(helps) > 20, helps
    s = start_viewer(tmux_factory, target, width=80, height=24)
    # WHEN ? opens the help
    s.send("?")
    assert s.wait_text("group by filename"), s.capture()
    first = s.capture()
    # THEN its last row says more follows
    assert "MORE below" in first.splitlines()[23], first
    # WHEN End scrolls to the end
    s.send("End")
    assert s.wait_text("(end;"), s.capture()
    last = s.capture()
    # THEN the last help line is on screen, and no key's line was lost
    # between the two pages
    assert "q closes." in last, last
    assert [h for h in helps if h not in first + last] == [], (first, last)
    # AND another key closes the help
    s.send("x")
    assert s.wait_text("?Help"), s.capture()


def test_quit_restores_terminal(target, tmux_factory):
    s = start_viewer(tmux_factory, target)
    assert s.alternate_on()
    s.send("q")
    assert s.wait_text("PYTMTOP-EXIT=0")
    assert not s.alternate_on()
    assert "Location" not in s.capture()


def test_tiny_terminal_shows_header_note(target, tmux_factory):
    cmd = "%s -p %d -d 0.2" % (shlex.quote(PYTMTOP), target.pid)
    s = tmux_factory(cmd, width=30, height=8)
    assert s.wait_text("terminal too small"), s.capture()
    assert "PID %d" % target.pid in s.capture()
    s.send("q")
    assert s.wait_text("PYTMTOP-EXIT=0")


def test_once_text_and_json(target):
    r = run_pytmtop("-p", str(target.pid), "--once")
    assert r.returncode == 0, r.stderr
    assert "target.py:%d" % target_line("LINE_FIRST") in r.stdout
    d = once_json("-p", str(target.pid), "--limit", "1")
    assert len(d["rows"]) == 1 and d["exact"] is True
    assert d["rows"][0]["lineno"] == target_line("LINE_FIRST")
    assert d["rows"][0]["size"] >= 8 * 400_000
    assert d["rows"][0]["count"] >= 8
    f = once_json("-p", str(target.pid), "--group", "filename")
    assert all(r["lineno"] == 0 for r in f["rows"])
    c = once_json("-p", str(target.pid), "--group", "lineno", "--cumulative")
    assert sum(r["size"] for r in c["rows"]) > c["total_size"]
    t = once_json("-p", str(target.pid), "--group", "traceback", "--limit", "1")
    assert t["rows"][0]["frames"][0]["lineno"] == target_line("LINE_FIRST")


def test_list_shows_target(target):
    r = run_pytmtop("--list")
    assert r.returncode == 0, r.stderr
    line = [l for l in r.stdout.splitlines() if l.split()[:1] == [str(target.pid)]]
    assert line and "running" in line[0] and "target.py" in line[0], r.stdout


def test_errors_exit_1_with_one_line(tools, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    r = run_pytmtop("-p", str(dead.pid), "--once")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "no such process" in r.stderr
    assert "no pytm arena" in r.stderr
    bad = tmp_path / "corrupt.pytm"
    bad.write_bytes(b"PYTMDUMP" + os.urandom(300))
    r = run_pytmtop(str(bad), "--once")
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "cannot load" in r.stderr
    r = run_pytmtop(str(tmp_path / "missing.pytm"))
    assert r.returncode == 1 and "cannot load" in r.stderr
    r = run_pytmtop("--group", "nope", "-p", "1")
    assert r.returncode == 1 and "unknown group" in r.stderr


def test_dead_pid_interactive_restores_nothing_broken(tools, tmux_factory):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    s = tmux_factory("%s -p %d" % (shlex.quote(PYTMTOP), dead.pid),
                     width=80, height=20)
    assert s.wait_text("PYTMTOP-EXIT=1")
    assert "no such process" in s.capture()
    assert not s.alternate_on()


def test_spawn_mode_attaches_and_stops_child(tools, tmp_path, tmux_factory):
    script = tmp_path / "child.py"
    script.write_text("import time\nkeep = [bytearray(300_000) for _ in "
                      "range(20)]  # CHILD\ntime.sleep(120)\n")
    cmd = "%s -d 0.2 -- %s %s" % (shlex.quote(PYTMTOP),
                                  shlex.quote(sys.executable), script)
    s = tmux_factory(cmd, cwd=str(tmp_path))
    assert s.wait_text("child.py:2", 30), s.capture()
    pid = int(re.search(r"PID (\d+)", s.capture()).group(1))
    s.send("q")
    assert s.wait_text("PYTMTOP-EXIT=0")
    assert wait_for(lambda: not os.path.exists("/proc/%d" % pid), 10)


def test_iterations_batch_mode_exits_by_itself(target, tmux_factory):
    cmd = "%s -p %d -d 0.1 --iterations 5" % (shlex.quote(PYTMTOP), target.pid)
    s = tmux_factory(cmd, width=100, height=30)
    assert s.wait_text("PYTMTOP-EXIT=0", 15), s.capture()
    assert not s.alternate_on()


def test_iterations_stop_when_the_target_exits(target, tmux_factory):
    """GIVEN pytmtop -p PID in batch mode with far more refreshes to go
    than the test waits for
    WHEN the target exits
    THEN pytmtop stops by itself with status 3 and one line saying so
    (before, it polled the dead arena until --iterations ran out)."""
    s = start_viewer(tmux_factory, target, "--iterations", "100000")
    target.stop()
    assert s.wait_text("PYTMTOP-EXIT=3", 15), s.capture()
    assert "pytmtop: pid %d has exited: its last figures were shown" \
        % target.pid in s.capture()
    assert not s.alternate_on()


def test_interactive_view_keeps_last_figures_of_an_exited_target(
        target, tmux_factory):
    """GIVEN the interactive view on a target
    WHEN the target exits
    THEN its last rows stay on screen marked exited until q."""
    s = start_viewer(tmux_factory, target)
    target.stop()
    assert s.wait_text("[process exited: showing last data]"), s.capture()
    screen = s.capture()
    assert "target.py:%d" % target_line("LINE_FIRST") in screen, screen
    time.sleep(1.0)
    assert "PYTMTOP-EXIT" not in s.capture()
    s.send("q")
    assert s.wait_text("PYTMTOP-EXIT=0")


def test_batch_modes_on_a_target_dead_at_startup(target, tmux_factory):
    """GIVEN a target killed by SIGKILL (its arena stays behind)
    WHEN pytmtop -p PID --once, then --iterations, start on it
    THEN --once prints the last figures marked exited and exits 3 with one
    line on stderr; --iterations stops at once, also with 3."""
    target.proc.kill()
    target.proc.wait()
    path = os.path.join(os.environ.get("PYTM_SHM_DIR") or "/dev/shm",
                        "pytm-%d" % target.pid)
    try:
        r = run_pytmtop("-p", str(target.pid), "--once")
        assert r.returncode == 3, (r.returncode, r.stderr)
        assert "(exited)" in r.stdout.splitlines()[0], r.stdout
        assert "target.py:%d" % target_line("LINE_FIRST") in r.stdout
        assert r.stderr == ("pytmtop: pid %d has exited: the figures above "
                            "are its last\n" % target.pid)
        s = tmux_factory("%s -p %d -d 0.1 --iterations 100000"
                         % (shlex.quote(PYTMTOP), target.pid))
        assert s.wait_text("PYTMTOP-EXIT=3", 15), s.capture()
        assert "stopped after 0 of 100000 refreshes" in s.capture()
    finally:
        if os.path.exists(path):
            os.unlink(path)


def test_spawn_once_waits_for_the_script(tools, tmp_path):
    """GIVEN a script that allocates only 0.3 s after it starts
    WHEN `pytmtop -d 1 --once --json -- python script` runs
    THEN the printed table already holds the script's allocation (the
    first, nearly empty snapshot of the fresh arena is not printed)."""
    script = tmp_path / "late.py"
    script.write_text("import time\ntime.sleep(0.3)\nkeep = [bytearray(300_000) "
                      "for _ in range(20)]  # LATE\ntime.sleep(60)\n")
    r = subprocess.run([PYTMTOP, "-d", "1", "--once", "--json", "--",
                        sys.executable, str(script)],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    late = [x for x in d["rows"] if x["filename"].endswith("late.py")
            and x["lineno"] == 3]
    # spawn mode samples (default interval): ~6 MB, estimated; before the
    # fix the row was missing altogether
    assert late and late[0]["size"] >= 20 * 300_000 // 2, d["rows"][:5]
    assert d["rows"][0] == late[0]  # the largest row, fully sorted


def test_shm_dir_override_for_list_clean_and_pid(target, tmp_path):
    """GIVEN a private PYTM_SHM_DIR holding a copy of the target's arena
    WHEN --list, -p and --clean run with it, before and after the target
    exits
    THEN they see only that directory: the live copy is listed and
    readable and never removed; once the process is gone --clean removes
    it, and nothing in the default directory is touched."""
    default_dir = os.environ.get("PYTM_SHM_DIR") or "/dev/shm"
    src = os.path.join(default_dir, "pytm-%d" % target.pid)
    assert os.path.exists(src), os.listdir(default_dir)
    shm = tmp_path / "shm"
    shm.mkdir()
    copy = shm / ("pytm-%d" % target.pid)
    shutil.copyfile(src, copy)
    env = dict(os.environ, PYTM_SHM_DIR=str(shm))

    def top(*args):
        return subprocess.run([PYTMTOP, *args], capture_output=True, text=True,
                              timeout=60, env=env)
    r = top("--list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()[1:]
    assert len(lines) == 1 and lines[0].split()[:2] == [str(target.pid),
                                                       "running"], r.stdout
    r = top("-p", str(target.pid), "--once", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["pid"] == target.pid
    r = top("--clean")
    assert r.returncode == 0 and "removed 0 " in r.stdout, r.stdout + r.stderr
    assert copy.exists()
    target.stop()
    r = top("--clean")
    assert r.returncode == 0 and "removed 1 " in r.stdout, r.stdout + r.stderr
    assert not copy.exists()
    assert top("--list").stdout.splitlines()[1:] == []
    missing = dict(env, PYTM_SHM_DIR=str(tmp_path / "nowhere"))
    r = subprocess.run([PYTMTOP, "--list"], capture_output=True, text=True,
                       timeout=60, env=missing)
    assert r.returncode == 1 and "nowhere" in r.stderr, r.stderr
