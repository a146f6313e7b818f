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
        keep.append(bytearray(size))               # LEAF
def mid(n, size):
    leaf(n, size)
def top():
    mid(2000, 1000)
    leaf(50, 100000)
    keep.append("x;y" * 10)
pytm.start(10, sample_interval=int(sys.argv[2]))
top()
snap = pytm.take_snapshot()
pytm.stop()
snap.dump(sys.argv[1])
'''


@pytest.fixture(params=[1, 4096], ids=["exact", "sampled"])
def dump(request, run_py, tmp_path):
    path = tmp_path / "w.pytm"
    run_py(WORKLOAD, str(path), str(request.param))
    return pytm.Snapshot.load(str(path)), path, request.param


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


def test_pprof_parses_with_pprofs_schema_and_keeps_totals(dump, tmp_path):
    """GIVEN a dump of a workload (exact, and sampled at 4 KiB)
    WHEN it is exported to pprof and parsed by the protobuf library with
    pprof's own profile.proto
    THEN the sample types are inuse_space/bytes and inuse_objects/count,
    the period is the sampling interval, the totals equal the snapshot's,
    and the biggest sample's locations are leaf first and name the
    workload's lines."""
    snap, _, interval = dump
    path = tmp_path / "w.pb.gz"
    export.to_pprof(snap, path)
    prof = _profile_class(tmp_path).FromString(gzip.decompress(path.read_bytes()))
    st = prof.string_table
    assert st[0] == ""
    assert [(st[t.type], st[t.unit]) for t in prof.sample_type] == \
        [("inuse_space", "bytes"), ("inuse_objects", "count")]
    assert (st[prof.period_type.type], st[prof.period_type.unit]) == \
        ("space", "bytes")
    assert prof.period == interval
    assert st[prof.default_sample_type] == "inuse_space"
    assert sum(s.value[0] for s in prof.sample) == \
        sum(t.size for t in snap.traces)
    stats = snap.statistics("traceback")
    assert sum(s.value[1] for s in prof.sample) == sum(x.count for x in stats)
    locs = {l.id: l for l in prof.location}
    funcs = {f.id: f for f in prof.function}
    big = max(prof.sample, key=lambda s: s.value[0])
    frames = [(st[funcs[locs[i].line[0].function_id].filename],
               locs[i].line[0].line) for i in big.location_id]
    want = [(f.filename, f.lineno) for f in reversed(stats[0].traceback)]
    assert frames == want
    assert frames[0][0] == "<string>"
    assert any("unbiased estimates" in st[c] or "exact" in st[c]
               for c in prof.comment)


def test_collapsed_matches_the_tracebacks(dump, tmp_path):
    """GIVEN the same dump
    WHEN it is exported as collapsed stacks
    THEN there is one line per traceback, root first, frames file:line,
    and the sizes are the snapshot's; ';' and newlines in a file name
    cannot split a frame."""
    assert export._frame("a;b\nc.py", 3) == "a_b c.py:3"
    snap, _, _ = dump
    path = tmp_path / "w.folded"
    export.to_collapsed(snap, path)
    lines = path.read_text().splitlines()
    stats = [s for s in snap.statistics("traceback") if s.size > 0]
    assert len(lines) == len(stats)
    for line, st in zip(lines, stats):
        stack, size = line.rsplit(" ", 1)
        assert int(size) == st.size
        assert stack.split(";") == ["%s:%d" % (f.filename, f.lineno)
                                    for f in st.traceback]
    assert sum(int(l.rsplit(" ", 1)[1]) for l in lines) == \
        sum(t.size for t in snap.traces)


def test_cli_good_and_corrupt_dump(dump, tmp_path):
    """GIVEN a good dump and a corrupt one
    WHEN `python -m pytm export` converts them
    THEN the good one is written (format from the extension), and the
    corrupt one gives one line naming the file, exit 1, no output file."""
    _, path, _ = dump
    env = dict(os.environ)
    for out in ("a.pb.gz", "a.folded", "a.html"):
        res = subprocess.run([sys.executable, "-m", "pytm", "export",
                              str(path), "-o", str(tmp_path / out)],
                             capture_output=True, text=True, env=env)
        assert res.returncode == 0, res.stderr
        assert (tmp_path / out).stat().st_size > 0
    assert gzip.decompress((tmp_path / "a.pb.gz").read_bytes())
    assert (tmp_path / "a.html").read_text().startswith("<!DOCTYPE html>")
    bad = tmp_path / "bad.pytm"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    res = subprocess.run([sys.executable, "-m", "pytm", "export", str(bad),
                          "-o", str(tmp_path / "b.pb.gz")],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 1
    assert str(bad) in res.stderr and len(res.stderr.splitlines()) == 1, \
        res.stderr
    assert not (tmp_path / "b.pb.gz").exists()


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
