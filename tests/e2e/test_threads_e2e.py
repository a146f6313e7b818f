"""End-to-end: pytmtop's thread view and thread filter (issue 12),
through tmux.

GIVEN a real traced process whose two named threads allocate from
their own lines (worker-big about 3 MB, worker-small about 300 KB),
WHEN T, Enter and Esc are sent, THEN the thread view lists both names
with their sizes in order, Enter shows only that thread's lines in the
line view (the other thread's line disappears) and names the thread in
the header, Esc restores every line; `--once --json` has a threads array
summing to the total, `--once --group thread` prints it and `--thread`
filters --once as Enter does.

The threads exist before the script calls pytm.start(): the recorder
names the threads alive at start() (recorder/pytm/_tracing.py); a thread
started later would show its pthread name only.
"""
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from conftest import PYTMTOP, wait_for
from test_pytmtop import ROW, parse_size, table

SCRIPT = '''\
import sys, threading, time
go = threading.Event()
keep = []
def big():
    go.wait()
    for _ in range(6):
        keep.append(bytearray(500_000))  # LINE_BIG
    done.release()
    time.sleep(300)
def small():
    go.wait()
    for _ in range(3):
        keep.append(bytearray(100_000))  # LINE_SMALL
    done.release()
    time.sleep(300)
done = threading.Semaphore(0)
threads = [threading.Thread(target=big, name="worker-big", daemon=True),
           threading.Thread(target=small, name="worker-small", daemon=True)]
for t in threads:
    t.start()
import pytm
pytm.start(4, sample_interval=1)
go.set()
done.acquire()
done.acquire()
open(sys.argv[1], "w").close()
time.sleep(300)
'''


def line_of(marker):
    return next(i for i, t in enumerate(SCRIPT.splitlines(), 1) if marker in t)


BIG, SMALL = line_of("LINE_BIG"), line_of("LINE_SMALL")


@pytest.fixture
def threaded(tools, tmp_path):
    """(pid, env with a private PYTM_SHM_DIR, cwd) of the running script."""
    script = tmp_path / "two.py"
    script.write_text(SCRIPT)
    shm = tmp_path / "shm"
    shm.mkdir()
    env = dict(os.environ, PYTM_SHM_DIR=str(shm))
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, str(script), str(ready)],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        if not wait_for(lambda: ready.exists() or proc.poll() is not None, 30):
            pytest.fail("threaded target did not start")
        if proc.poll() is not None:
            pytest.fail("threaded target failed: %s" % proc.stderr.read().decode())
        yield proc.pid, env, tmp_path
    finally:
        proc.kill()
        proc.wait()


def pytmtop(env, *args):
    r = subprocess.run([PYTMTOP, *args], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def thread_rows(screen):
    """[(size, name)] of the thread view's rows, top to bottom."""
    out, inside = [], False
    for line in screen.splitlines():
        if line.rstrip().endswith(" Thread") and "Size" in line:
            inside = True
            continue
        if line.startswith("?Help"):
            break
        m = ROW.match(line) if inside else None
        n = m and re.match(r"^(?:\* )?(\S+)  \(", m.group(4))
        if n:
            out.append((parse_size(m.group(1)), n.group(1)))
    return out


def line_locs(screen):
    return [loc for _, loc, _ in table(screen)]


def has_line(screen, n):
    return any(l.endswith("two.py:%d" % n) for l in line_locs(screen))


def start(tmux_factory, threaded, **kw):
    pid, env, cwd = threaded
    cmd = "%s -p %d -d 0.2" % (shlex.quote(PYTMTOP), pid)
    return tmux_factory(cmd, cwd=str(cwd), env={"PYTM_SHM_DIR": env["PYTM_SHM_DIR"]},
                        **kw)


def test_thread_view_filter_and_clear(threaded, tmux_factory):
    s = start(tmux_factory, threaded)
    assert wait_for(lambda: has_line(s.capture(), BIG)), s.capture()
    assert has_line(s.capture(), SMALL)

    s.send("T")
    assert s.wait_text("| threads"), s.capture()
    assert wait_for(lambda: len(thread_rows(s.capture())) >= 2), s.capture()
    rows = thread_rows(s.capture())
    names = [n for _, n in rows]
    assert "Thread" in s.capture() and "worker-big" in names, rows
    assert names.index("worker-big") < names.index("worker-small"), rows
    sizes = dict((n, sz) for sz, n in rows)  # as shown: 3 digits
    assert sizes["worker-big"] >= 0.99 * 6 * 500_000, rows
    assert 0.99 * 3 * 100_000 <= sizes["worker-small"] < sizes["worker-big"], rows
    if "MainThread" in names:  # its tid is the pid
        assert "MainThread  (tid %d," % threaded[0] in s.capture()

    # WHEN Enter on worker-small THEN the line view shows its lines only
    for _ in range(names.index("worker-small")):
        s.send("Down")
    s.send("Enter")
    assert s.wait_text("[thread: worker-small (tid "), s.capture()
    assert s.wait_text("| lineno"), s.capture()
    assert wait_for(lambda: has_line(s.capture(), SMALL)), s.capture()
    assert not has_line(s.capture(), BIG), s.capture()
    # the filter survives refreshes (-d 0.2) and marks its thread
    s.send("T")
    assert s.wait_text("* worker-small"), s.capture()
    s.send("T")
    assert wait_for(lambda: has_line(s.capture(), SMALL)), s.capture()
    assert not has_line(s.capture(), BIG), s.capture()

    # WHEN Esc THEN every thread's lines are back, the header plain
    s.send("Escape")
    assert s.wait_text("showing every thread"), s.capture()
    assert wait_for(lambda: has_line(s.capture(), BIG)), s.capture()
    assert has_line(s.capture(), SMALL)
    assert "[thread:" not in s.capture()


def test_alt_key_is_not_esc(threaded, tmux_factory):
    # GIVEN the line view filtered to worker-small
    s = start(tmux_factory, threaded)
    assert wait_for(lambda: has_line(s.capture(), BIG)), s.capture()
    s.send("T")
    assert wait_for(lambda: len(thread_rows(s.capture())) >= 2), s.capture()
    names = [n for _, n in thread_rows(s.capture())]
    for _ in range(names.index("worker-small")):
        s.send("Down")
    s.send("Enter")
    assert s.wait_text("[thread: worker-small (tid "), s.capture()
    # WHEN Alt-x arrives (ESC x in one write, as terminals send it) and
    # a few refreshes (-d 0.2) pass
    s.send("M-x")
    assert not wait_for(lambda: "showing every thread" in s.capture(), 1.0)
    # THEN the filter is still on: the ESC of Alt-x is no Esc key
    assert "[thread: worker-small" in s.capture(), s.capture()
    assert not has_line(s.capture(), BIG), s.capture()
    # AND a lone Esc still clears it
    s.send("Escape")
    assert s.wait_text("showing every thread"), s.capture()
    assert "[thread:" not in s.capture(), s.capture()


def test_thread_view_diff_columns_and_help(threaded, tmux_factory):
    s = start(tmux_factory, threaded)
    assert wait_for(lambda: has_line(s.capture(), BIG)), s.capture()
    s.send("T", "b", "d")
    assert s.wait_text("Size Diff"), s.capture()
    assert wait_for(lambda: len(thread_rows(s.capture())) >= 2), s.capture()
    row = [l for l in s.capture().splitlines() if "worker-big  (" in l]
    assert row and re.match(r"^\s*[\d.]+ \w+\s+[+-]\d+ B", row[0]), row
    # the baseline is filtered too: the other thread's line is no
    # base-only row with a negative diff
    names = [n for _, n in thread_rows(s.capture())]
    for _ in range(names.index("worker-small")):
        s.send("Down")
    s.send("Enter")
    assert s.wait_text("[thread: worker-small"), s.capture()
    assert wait_for(lambda: has_line(s.capture(), SMALL)), s.capture()
    assert "Size Diff" in s.capture() and not has_line(s.capture(), BIG), s.capture()
    small = [l for _, loc, l in table(s.capture()) if loc.endswith(":%d" % SMALL)]
    assert re.match(r"^\s*[\d.]+ \w+\s+\+0 B", small[0]), small
    s.send("?")
    assert s.wait_text("thread view: one row per thread"), s.capture()


def test_tiny_terminal_thread_view(threaded, tmux_factory):
    s = start(tmux_factory, threaded, width=30, height=8)
    assert s.wait_text("terminal too small"), s.capture()
    # the thread view's first row is the biggest thread; the filter's
    # name leads line 1, so it shows even 30 columns wide
    s.send("T", "Enter")
    assert s.wait_text("[thread: worker-big"), s.capture()
    assert "terminal too small" in s.capture()
    s.send("Escape")
    assert wait_for(lambda: "[thread:" not in s.capture()), s.capture()
    s.send("q")
    assert s.wait_text("PYTMTOP-EXIT=0"), s.capture()


def test_once_json_threads_and_group_thread(threaded):
    pid, env, _ = threaded
    d = json.loads(pytmtop(env, "-p", str(pid), "--once", "--json"))
    threads = d["threads"]
    assert sum(t["size"] for t in threads) == d["total_size"], threads
    assert sum(t["count"] for t in threads) == d["total_count"], threads
    by = {t["name"]: t for t in threads}
    assert by["worker-big"]["size"] >= 6 * 500_000
    assert 3 * 100_000 <= by["worker-small"]["size"] < by["worker-big"]["size"]
    assert all(t["tid"] > 0 and t["ident"] > 0 for t in by.values()
               if t["name"] != "<unknown>")
    assert [t["name"] for t in threads].index("worker-big") == 0
    assert d["group"] == "lineno" and d["rows"]  # unchanged keys

    g = json.loads(pytmtop(env, "-p", str(pid), "--once", "--json",
                           "--group", "thread"))
    assert g["group"] == "thread" and g["rows"] == []
    assert [t["name"] for t in g["threads"]] == [t["name"] for t in threads]

    text = pytmtop(env, "-p", str(pid), "--once", "--group", "thread")
    lines = text.splitlines()
    assert "group thread" in lines[1] and lines[2].rstrip().endswith("Thread")
    order = [l.split("%  ")[1].split()[0] for l in lines[3:]]
    assert order.index("worker-big") < order.index("worker-small"), text

    r = subprocess.run([PYTMTOP, "-p", str(pid), "--once", "--group",
                        "thread", "--cumulative"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 1 and "--cumulative" in r.stderr

    # --thread: the rows of one thread, by name or by tid
    small = by["worker-small"]
    for spec in ("worker-small", str(small["tid"])):
        f = json.loads(pytmtop(env, "-p", str(pid), "--once", "--json",
                               "--thread", spec))
        assert f["thread_filter"] == {"name": "worker-small",
                                      "tid": small["tid"],
                                      "ident": small["ident"]}, f
        assert [r["lineno"] for r in f["rows"]] == [SMALL], f["rows"]
        assert f["total_size"] == small["size"] == f["rows"][0]["size"]
        assert f["threads"] == threads  # still every thread
    r = subprocess.run([PYTMTOP, "-p", str(pid), "--once", "--thread",
                        "no-such-thread"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 1 and "no thread 'no-such-thread'" in r.stderr


def test_offline_dump_thread_view(threaded, tmux_factory):
    """A dump (which may hold no thread data yet: then every figure is
    "<unknown>") shows threads summing to its total, and a filter there
    works on the line view."""
    s = start(tmux_factory, threaded)
    assert wait_for(lambda: has_line(s.capture(), BIG)), s.capture()
    s.send("s")
    assert s.wait_text("wrote pytm-"), s.capture()
    m = re.search(r"wrote (pytm-\d+-\d{8}-\d{6}\.pytm)", s.capture())
    path = threaded[2] / m.group(1)
    env = threaded[1]
    d = json.loads(pytmtop(env, str(path), "--once", "--json"))
    assert sum(t["size"] for t in d["threads"]) == d["total_size"]
    names = [t["name"] for t in d["threads"]]

    v = tmux_factory("%s %s" % (shlex.quote(PYTMTOP), shlex.quote(str(path))),
                     cwd=str(threaded[2]))
    assert wait_for(lambda: has_line(v.capture(), BIG)), v.capture()
    v.send("T")
    assert wait_for(lambda: thread_rows(v.capture())), v.capture()
    assert [n for _, n in thread_rows(v.capture())] == names
    if names == ["<unknown>"]:
        assert "no thread identity recorded" in v.capture()
        v.send("Enter")  # the unknown thread: everything stays
        assert v.wait_text("[thread: <unknown>"), v.capture()
        assert wait_for(lambda: has_line(v.capture(), BIG)), v.capture()
        assert has_line(v.capture(), SMALL)
    else:  # a dump with thread data: as live
        for _ in range(names.index("worker-small")):
            v.send("Down")
        v.send("Enter")
        assert v.wait_text("[thread: worker-small"), v.capture()
        assert wait_for(lambda: has_line(v.capture(), SMALL)), v.capture()
        assert not has_line(v.capture(), BIG)
