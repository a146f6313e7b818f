"""Exports (recorder/pytm/export.py): pprof parsed with the protobuf
library against pprof's own profile.proto, collapsed stacks against the
snapshot, and the `python -m pytm export` command."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys

import pytest

import pytm
from pytm import export

# pprof's own schema, from Debian's golang-github-google-pprof-dev
PROFILE_PROTO = ("/usr/share/gocode/src/github.com/google/pprof/proto/"
                 "profile.proto")

WORKLOAD = r'''
import pytm, sys
keep = []
def leaf(n, size):
    for _ in range(n):
        keep.append(bytearray(size))                # MARK:leaf
def churn(n):
    for _ in range(n):
        junk = bytearray(5000)                      # MARK:churn
def mid(n, size):
    leaf(n, size)
def deep(k):
    if k == 0:
        keep.append(bytearray(2000000))             # MARK:deep
    else:
        deep(k - 1)
def top():
    mid(2000, 1000)
    leaf(50, 100000)
    churn(400)
    deep(30)
pytm.start(10, sample_interval=int(sys.argv[2]))
top()                                               # MARK:root
snap = pytm.take_snapshot()
pytm.stop()
snap.dump(sys.argv[1])
'''

# name -> line of each `# MARK:name` line of WORKLOAD (run with -c, so
# its frames are ("<string>", line))
MARKS = {line.split("# MARK:")[1].strip(): n
         for n, line in enumerate(WORKLOAD.split("\n"), 1)
         if "# MARK:" in line}
CHURN_BYTES = 400 * 5000


@pytest.fixture(params=[1, 4096], ids=["exact", "sampled"])
def dump(request, run_py, tmp_path):
    path = tmp_path / "w.pytm"
    run_py(WORKLOAD, str(path), str(request.param))
    return pytm.Snapshot.load(str(path)), path, request.param


def check_marked_stacks(stacks, what: str) -> None:
    '''stacks: (frames root first as "file:line" or CUT_OFF, live bytes).
    THEN the stacks holding 95% of the live bytes end (leaf) on a marked
    allocating line and start (root) on the `top()` call or at the
    cut-off pseudo-frame; the deep recursion is cut, the others are not.'''
    def line(name):
        return "<string>:%d" % MARKS[name]
    allocating = {line("leaf"), line("deep")}
    total = sum(size for _, size in stacks)
    seen, counted = set(), 0
    for frames, size in sorted(stacks, key=lambda s: -s[1]):
        if counted >= 0.95 * total:
            break
        counted += size
        assert frames[-1] in allocating, (what, frames)
        seen.add(frames[-1])
        if frames[-1] == line("deep"):
            assert frames[0] == export.CUT_OFF, (what, frames)
            assert len(frames) == 11, (what, frames)  # limit 10 + cut-off
        else:
            assert frames[0] == line("root"), (what, frames)
            assert export.CUT_OFF not in frames, (what, frames)
    assert seen == allocating, (what, seen)


def _tool_env() -> dict:
    """Environment for outside tools: without the sanitizer run's
    LD_PRELOAD of libasan, which is meant for the interpreter only."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("ASAN_OPTIONS", None)
    return env


def _profile_class(tmp_path):
    """The Profile message class, built from pprof's profile.proto."""
    if not os.path.exists(PROFILE_PROTO) or shutil.which("protoc") is None:
        pytest.fail("needs pprof's profile.proto and protoc: apt-get install "
                    "golang-github-google-pprof-dev protobuf-compiler "
                    "(bash .ci/install-deps installs them)")
    from google.protobuf import descriptor_pb2, descriptor_pool
    from google.protobuf import message_factory
    out = tmp_path / "profile.desc"
    subprocess.run(["protoc", "-I", os.path.dirname(PROFILE_PROTO),
                    "--descriptor_set_out=%s" % out, "profile.proto"],
                   check=True, env=_tool_env())
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("perftools.profiles.Profile"))


def _parse_pprof(tmp_path, path):
    return _profile_class(tmp_path).FromString(
        gzip.decompress(path.read_bytes()))


def _pprof_stacks(prof, index: int = 0) -> list:
    """(frames root first as "file:line" or CUT_OFF, value[index]) per
    sample, resolved through the profile's own tables."""
    st = prof.string_table
    locs = {l.id: l for l in prof.location}
    funcs = {f.id: f for f in prof.function}
    out = []
    for s in prof.sample:
        frames = []
        for i in reversed(s.location_id):  # pprof lists the leaf first
            ln = locs[i].line[0]
            name = st[funcs[ln.function_id].name]
            frames.append(name if name == export.CUT_OFF else
                          "%s:%d" % (st[funcs[ln.function_id].filename],
                                     ln.line))
        out.append((frames, s.value[index]))
    return out


def _tb_totals(snap) -> tuple:
    """(live bytes, live blocks, alloc bytes, alloc blocks) summed over
    the snapshot's traceback table (the dump's own columns 4, 5, 7, 8)."""
    rows = snap._data.tracebacks()
    return tuple(sum(r[i] for r in rows) for i in (2, 3, 4, 5))


def test_pprof_parses_with_pprofs_schema_and_keeps_totals(dump, tmp_path):
    """GIVEN a dump of a workload (exact, and sampled at 4 KiB)
    WHEN it is exported to pprof and parsed by the protobuf library with
    pprof's own profile.proto
    THEN the sample types are inuse_space/inuse_objects then
    alloc_space/alloc_objects, the period is the sampling interval, the
    inuse totals equal the traces' and the alloc totals the dump's
    traceback table's; freed memory (the churn line) shows in alloc_space
    only; every big stack ends on a marked line, leaf first in pprof."""
    snap, _, interval = dump
    path = tmp_path / "w.pb.gz"
    snap.export(path)
    prof = _parse_pprof(tmp_path, path)
    st = prof.string_table
    assert st[0] == ""
    assert [(st[t.type], st[t.unit]) for t in prof.sample_type] == \
        [("inuse_space", "bytes"), ("inuse_objects", "count"),
         ("alloc_space", "bytes"), ("alloc_objects", "count")]
    assert (st[prof.period_type.type], st[prof.period_type.unit]) == \
        ("space", "bytes")
    assert prof.period == interval
    assert st[prof.default_sample_type] == "inuse_space"
    live, blocks, alloc, alloc_blocks = _tb_totals(snap)
    sums = [sum(s.value[i] for s in prof.sample) for i in range(4)]
    assert sums[0] == sum(t.size for t in snap.traces) == live
    assert sums[1] == blocks
    assert sums[2:] == [alloc, alloc_blocks]
    assert alloc > live + CHURN_BYTES * 0.7
    churn = "<string>:%d" % MARKS["churn"]
    got = sum(v for f, v in _pprof_stacks(prof, 2) if f[-1] == churn)
    if interval == 1:
        assert got >= CHURN_BYTES
    else:
        assert 0.7 * CHURN_BYTES < got < 1.5 * CHURN_BYTES, got
    assert sum(v for f, v in _pprof_stacks(prof, 0) if f[-1] == churn) \
        < CHURN_BYTES * 0.05
    check_marked_stacks(_pprof_stacks(prof), "pprof")
    comments = [st[c] for c in prof.comment]
    assert any(("unbiased estimates" if interval != 1 else "exact") in c
               for c in comments), comments
    assert any("alloc_space" in c for c in comments), comments


def test_pprof_without_alloc_totals(tmp_path):
    """GIVEN a snapshot built from raw traces and a filtered one (no
    cumulative totals are known for either)
    WHEN exported to pprof
    THEN only the inuse sample types are written, and a comment says
    why."""
    snap = pytm.Snapshot([(0, 100, (("a.py", 2), ("a.py", 1)), 2),
                          (0, 50, (("b.py", 7),), 5)], 10)
    for s in (snap, snap.filter_traces([pytm.Filter(True, "a.py")])):
        path = tmp_path / "r.pb.gz"
        export.write(s, path)
        prof = _parse_pprof(tmp_path, path)
        st = prof.string_table
        assert [st[t.type] for t in prof.sample_type] == \
            ["inuse_space", "inuse_objects"]
        assert any("no alloc_space" in st[c] for c in prof.comment)


def test_filtered_snapshot_forgets_alloc_totals(dump):
    """GIVEN a dump with cumulative totals
    WHEN it is filtered
    THEN the filtered snapshot has none (they cannot be split by trace)."""
    snap, _, _ = dump
    assert _tb_totals(snap)[2] > 0
    kept = snap.filter_traces([pytm.Filter(True, "<string>")])
    assert _tb_totals(kept)[2:] == (0, 0)


def test_cut_off_tracebacks_get_a_pseudo_frame(tmp_path):
    """GIVEN tracebacks whose total_nframe exceeds their frames (cut at
    the traceback limit) and one that is whole
    WHEN exported in every format
    THEN each cut one starts at the root with <stack cut off>, the whole
    one does not."""
    snap = pytm.Snapshot([(0, 100, (("a.py", 2), ("a.py", 1)), 7),
                          (0, 60, (("b.py", 9),), 1)], 2)
    pb, folded = tmp_path / "c.pb.gz", tmp_path / "c.folded"
    for path in (pb, folded):
        snap.export(path)
    assert sorted(_pprof_stacks(_parse_pprof(tmp_path, pb))) == \
        [([export.CUT_OFF, "a.py:1", "a.py:2"], 100), (["b.py:9"], 60)]
    assert folded.read_text().splitlines() == \
        ["%s;a.py:1;a.py:2 100" % export.CUT_OFF, "b.py:9 60"]
    tree = export.flamegraph_tree(snap)
    assert [c["n"] for c in tree["c"]] == [export.CUT_OFF, "b.py:9"]


def test_cut_and_whole_stacks_of_equal_size_sort(tmp_path):
    """GIVEN a cut traceback and a whole one holding the same size (their
    root-first keys start with <stack cut off>, a str, and a frame tuple)
    WHEN exported
    THEN both come out, the ordering does not compare str with tuple."""
    snap = pytm.Snapshot([(0, 64, (("a.py", 1),), 5),
                          (0, 64, (("a.py", 1),), 1)], 1)
    assert sorted(export.collapsed_lines(snap)) == \
        sorted(["%s;a.py:1 64" % export.CUT_OFF, "a.py:1 64"])


def test_collapsed_matches_the_tracebacks(dump, tmp_path):
    """GIVEN the same dump
    WHEN it is exported as collapsed stacks
    THEN there is one line per traceback with live bytes, root first,
    frames file:line, the leaf on a marked line, the sizes the
    snapshot's; ';' and newlines in a file name cannot split a frame."""
    assert export._frame("a;b\nc.py", 3) == "a_b c.py:3"
    snap, _, _ = dump
    path = tmp_path / "w.folded"
    assert snap.export(path) == "collapsed"
    lines = path.read_text().splitlines()
    stacks = [(l.rsplit(" ", 1)[0].split(";"), int(l.rsplit(" ", 1)[1]))
              for l in lines]
    assert len(lines) == len([s for s in snap.statistics("traceback")
                              if s.size > 0])
    assert sum(size for _, size in stacks) == sum(t.size for t in snap.traces)
    check_marked_stacks(stacks, "collapsed")


def test_format_for_and_write_options(tmp_path):
    """GIVEN output names and options
    WHEN the format is guessed and write() is called
    THEN the extensions map as documented, an unknown one or format is a
    ValueError, an option the format does not take a TypeError."""
    for name, fmt in (("a.pb.gz", "pprof"), ("A.PPROF", "pprof"),
                      ("a.txt", "collapsed"), ("a.collapsed", "collapsed"),
                      ("a.folded", "collapsed"), ("a.html", "html")):
        assert export.format_for(name) == fmt, name
    with pytest.raises(ValueError, match="a.bin"):
        export.format_for("a.bin")
    snap = pytm.Snapshot([(0, 10, (("a.py", 1),), 1)], 1)
    with pytest.raises(ValueError, match="unknown export format"):
        snap.export(tmp_path / "x.txt", format="svg")
    with pytest.raises(TypeError, match="title"):
        snap.export(tmp_path / "x.txt", title="no")
    assert snap.export(tmp_path / "x.out", format="html", title="T<1>") == \
        "html"
    assert "<title>T&lt;1&gt;</title>" in (tmp_path / "x.out").read_text()
    assert list(tmp_path.iterdir()) == [tmp_path / "x.out"]


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "pytm", "export", *args],
                          capture_output=True, text=True, env=env)


def test_cli_good_and_corrupt_dump(dump, tmp_path):
    """GIVEN a good dump and a corrupt one
    WHEN `python -m pytm export` converts them
    THEN the good one is written (format from the extension, --title in
    the HTML), and the corrupt one, an unknown extension and an
    unwritable output each give one line, exit 1, no output file."""
    _, path, _ = dump
    for out in ("a.pb.gz", "a.folded", "a.txt", "a.html"):
        res = _cli(str(path), "-o", str(tmp_path / out),
                   *(["--title", "my <run>"] if out == "a.html" else []))
        assert res.returncode == 0, res.stderr
        assert (tmp_path / out).stat().st_size > 0
    assert gzip.decompress((tmp_path / "a.pb.gz").read_bytes())
    page = (tmp_path / "a.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>my &lt;run&gt;</title>" in page
    bad = tmp_path / "bad.pytm"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    cases = [((str(bad), "-o", str(tmp_path / "b.pb.gz")), str(bad)),
             ((str(path), "-o", str(tmp_path / "b.bin")), "b.bin"),
             ((str(path), "-o", str(tmp_path / "no" / "b.pb.gz")),
              "cannot write")]
    for args, needle in cases:
        res = _cli(*args)
        assert res.returncode == 1, (args, res.stderr)
        assert needle in res.stderr and len(res.stderr.splitlines()) == 1, \
            res.stderr
        assert not os.path.exists(args[-1])
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


# A traced child that allocates at marked lines, prints its own live
# total, then waits for a line on stdin.
LIVE = """
import pytm, sys
pytm.start(10, sample_interval=int(sys.argv[1]))
keep = []
def fill():
    for _ in range(3000):
        keep.append(bytearray(700))                 # MARK:live
    for _ in range(300):
        bytearray(3000)                             # MARK:freed
fill()
print(sum(s.size for s in pytm.take_snapshot().statistics("traceback")),
      flush=True)
sys.stdin.readline()
"""
LIVE_MARKS = {line.split("# MARK:")[1].strip(): n
              for n, line in enumerate(LIVE.split("\n"), 1)
              if "# MARK:" in line}


def _spawn(code: str, *args: str, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize("interval", [1, 4096], ids=["exact", "sampled"])
def test_export_from_a_live_process(interval, tmp_path):
    """GIVEN a traced process, alive and idle
    WHEN `python -m pytm export --pid` and pytm.export.from_pid read its
    arena from outside
    THEN the pprof has the live bytes the process itself counted, the
    biggest leaf on the marked line, the freed line in alloc_space only,
    the period its interval; the API's snapshot exports alike."""
    proc = _spawn(LIVE, str(interval))
    try:
        own_total = int(proc.stdout.readline())
        out = tmp_path / "live.pb.gz"
        res = _cli("--pid", str(proc.pid), "-o", str(out))
        assert res.returncode == 0, res.stderr
        prof = _parse_pprof(tmp_path, out)
        st = prof.string_table
        assert [st[t.type] for t in prof.sample_type] == \
            ["inuse_space", "inuse_objects", "alloc_space", "alloc_objects"]
        assert prof.period == interval
        live = "<string>:%d" % LIVE_MARKS["live"]
        freed = "<string>:%d" % LIVE_MARKS["freed"]
        inuse = _pprof_stacks(prof, 0)
        total = sum(v for _, v in inuse)
        assert abs(total - own_total) <= 0.02 * own_total, (total, own_total)
        big = max(inuse, key=lambda s: s[1])
        assert big[0][-1] == live, big
        assert sum(v for f, v in inuse if f[-1] == freed) < 3000 * 30
        assert sum(v for f, v in _pprof_stacks(prof, 2)
                   if f[-1] == freed) > 300 * 3000 * 0.7
        snap = export.from_pid(proc.pid)
        assert len(snap.traces) == 0 and snap.sample_interval == interval
        snap.export(tmp_path / "live.txt")
        lines = (tmp_path / "live.txt").read_text().splitlines()
        assert lines[0].rsplit(" ", 1)[0].split(";")[-1] == live
    finally:
        proc.communicate("\n", timeout=60)


def test_export_of_the_current_process(run_py, tmp_path):
    """GIVEN a process tracing itself
    WHEN it exports pytm.take_snapshot() to each format
    THEN the files are written, with the alloc totals in pprof."""
    run_py("import sys, pytm\n"
           "pytm.start(5)\n"
           "keep = [bytearray(1000) for _ in range(500)]\n"
           "snap = pytm.take_snapshot()\n"
           "for name in ('s.pb.gz', 's.folded', 's.html'):\n"
           "    snap.export(sys.argv[1] + '/' + name)\n", str(tmp_path))
    prof = _parse_pprof(tmp_path, tmp_path / "s.pb.gz")
    assert len(prof.sample_type) == 4
    assert (tmp_path / "s.folded").read_text().strip()
    assert (tmp_path / "s.html").read_text().startswith("<!DOCTYPE html>")


def test_export_pid_faults(tmp_path):
    """GIVEN a dead PID, a live process that is not traced, a foreign
    file in place of an arena, and the stale arena of a killed process
    WHEN `python -m pytm export --pid` is pointed at each
    THEN each gives one line naming the PID and the cause, exit 1, and
    no output file."""
    env = dict(os.environ, PYTM_SHM_DIR=str(tmp_path))
    idle = _spawn("import sys; sys.stdin.readline()", env=env)
    foreign = _spawn("import sys; sys.stdin.readline()", env=env)
    dead = _spawn("pass")
    dead.communicate(timeout=60)
    traced = _spawn("import pytm, sys; pytm.start(); print(1, flush=True);"
                    " sys.stdin.readline()", env=env)
    try:
        assert traced.stdout.readline().strip() == "1"
        traced.kill()
        traced.wait(timeout=60)
        assert (tmp_path / ("pytm-%d" % traced.pid)).exists()
        (tmp_path / ("pytm-%d" % foreign.pid)).write_bytes(b"\x7fELF" * 2048)
        cases = [(dead.pid, "no such process"),
                 (idle.pid, "not traced by pytm"),
                 (foreign.pid, "not a pytm arena"),
                 (traced.pid, "is stale")]
        out = tmp_path / "out.pb.gz"
        for pid, why in cases:
            res = _cli("--pid", str(pid), "-o", str(out), env=env)
            assert res.returncode == 1, (why, res.stdout, res.stderr)
            lines = res.stderr.splitlines()
            assert len(lines) == 1 and why in lines[0] and \
                "PID %d" % pid in lines[0], (why, res.stderr)
            assert not out.exists()
            with pytest.raises(export.ArenaError, match=why):
                export.from_pid(pid, str(tmp_path))
    finally:
        for p in (idle, foreign):
            p.communicate("\n", timeout=60)


def _png_colours(data: bytes) -> set:
    """Distinct RGB colours (sampled every 7th pixel) of an 8-bit RGB/RGBA
    PNG, decoded here."""
    import struct
    import zlib
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w, h, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = 3 if ctype == 2 else 4
    raw, stride, prev = zlib.decompress(idat), w * bpp, bytearray(w * bpp)
    colours = set()
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        colours.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp * 7))
        prev = line
    return colours


def _chromium() -> str:
    if os.environ.get("PYTM_NO_BROWSER") == "1":
        pytest.skip("PYTM_NO_BROWSER=1: the flame graph is not rendered in "
                    "a browser (unset it to run the Chromium check)")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("the flame graph test renders in a real browser: "
                    "apt-get install chromium (bash .ci/install-deps does)")
    return exe


def test_flamegraph_html_renders_in_chromium(dump, tmp_path):
    """GIVEN the same dump exported as a self-contained HTML flame graph
    WHEN headless Chromium loads it from disk (no network) and runs its
    script
    THEN the DOM it built holds one frame box per tree node, with the
    workload's leaf line among them, and the screenshot (kept beside the
    test's files) is not blank."""
    snap, _, _ = dump
    page = tmp_path / "flame.html"
    export.to_flamegraph_html(snap, page, title="pytm test </script>")
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # self-contained
    tree = export.flamegraph_tree(snap)
    assert tree["v"] == sum(s.size for s in snap.statistics("traceback")
                            if s.size > 0)
    args = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--window-size=1200,700", "--user-data-dir=%s" % (tmp_path / "p")]
    dom = subprocess.run(args + ["--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120,
                         env=_tool_env()).stdout
    leaf = [f for f in snap.statistics("traceback")[0].traceback][-1]
    assert 'class="f"' in dom, dom[:2000]
    assert "%s:%d" % (leaf.filename.replace("<", "&lt;").replace(">", "&gt;"),
                      leaf.lineno) in dom
    shot = tmp_path / "flame.png"
    subprocess.run(args + ["--screenshot=%s" % shot, page.as_uri()],
                   capture_output=True, timeout=120, env=_tool_env())
    assert shot.exists(), "chromium wrote no screenshot"
    print("flame graph screenshot:", shot)
    # text is grey; only the frame boxes are coloured (hsl orange/yellow)
    coloured = [c for c in _png_colours(shot.read_bytes())
                if max(c) - min(c) > 60]
    assert len(coloured) >= 2, "no coloured frame boxes in the screenshot"
