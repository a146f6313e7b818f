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
                   check=True)
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
    for out in ("a.pb.gz", "a.folded"):
        res = subprocess.run([sys.executable, "-m", "pytm", "export",
                              str(path), "-o", str(tmp_path / out)],
                             capture_output=True, text=True, env=env)
        assert res.returncode == 0, res.stderr
        assert (tmp_path / out).stat().st_size > 0
    assert gzip.decompress((tmp_path / "a.pb.gz").read_bytes())
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
