#!/usr/bin/env bash
# tests/wheel_check.sh PYTHON WORKDIR [--bare]
#
# Builds pytm's wheel with PYTHON (pip wheel ., scikit-build-core), installs
# that wheel into a fresh venv WORKDIR/venv and uses what it installed:
# sampled and exact tracing, pytmtop, the attach module.
#
# --bare: install and run it as on a machine without pytm's build
# dependencies, in a private mount namespace (unshare -m, root) where
#   - /usr/include is an empty tmpfs: no lz4.h, no curses.h, no
#     cmocka.h -- nothing of pytm could be compiled there, and
#   - the shared liblz4, libncursesw and libtinfo are /dev/null: a binary
#     that still needed them would fail to load.
# The wheel links both statically (PYTM_STATIC_DEPS, pyproject.toml), so it
# must not notice. Also checks with ldd that nothing in the wheel names
# those libraries.
set -euo pipefail
PYTHON=$1 WORK=$2 BARE=${3:-}
cd "$(dirname "$0")/.."
PYEXE=$("$PYTHON" -c 'import sys; print(sys.executable)')
rm -rf "$WORK"
mkdir -p "$WORK/wheel"
log="$WORK/pip.log"
if ! "$PYEXE" -m pip wheel -q --disable-pip-version-check --no-deps \
       -w "$WORK/wheel" . >"$log" 2>&1; then
  cat "$log" >&2; echo "wheel_check: pip wheel . failed ($PYEXE)" >&2; exit 1
fi
WHEEL=$(ls "$WORK"/wheel/pytm-*.whl)
echo "wheel_check: built $(basename "$WHEEL")"
"$PYEXE" -m venv "$WORK/venv"
VPY=$WORK/venv/bin/python

# The checks, run in the venv from an empty directory (so that the
# repository's own recorder/pytm is not what gets imported).
checks() {
  set -e
  "$VPY" -m pip install -q --disable-pip-version-check --no-index "$WHEEL"
  cd "$(mktemp -d)"
  "$VPY" -c "import sys, pytm; pytm.start(); x = [bytearray(10**6) for _ in range(8)]; s = pytm.take_snapshot(); pytm.stop(); assert len(s.traces) > 0; print('installed pytm', pytm.__version__, 'on', sys.version.split()[0] + ':', len(s.traces), 'sampled traces')"
  "$VPY" -c "import pytm as tracemalloc; tracemalloc.start(sample_interval=1); x = [bytearray(1000) for _ in range(100)]; s = tracemalloc.take_snapshot(); s.dump('x.pytm'); print(tracemalloc.Snapshot.load('x.pytm').statistics('lineno')[0])"
  "$WORK/venv/bin/pytmtop" --version
  "$WORK/venv/bin/pytmtop" --once x.pytm >/dev/null
  "$VPY" -c "import pytm._attach, pytm.attach; print('installed pytm attach:', pytm.attach.pytm_dir())"
  "$VPY" -c "import importlib.metadata as m; e = [e for e in m.entry_points(group='pytest11') if e.name == 'pytm']; assert e and e[0].value == 'pytm.pytest_plugin', e; print('pytest plugin registered:', e[0].value)"
}

if [ "$BARE" != "--bare" ]; then
  checks
  exit 0
fi

# Nothing installed may name the libraries it was linked with statically.
site=$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
"$VPY" -m pip install -q --disable-pip-version-check --no-index "$WHEEL"
for f in "$site"/pytm/*.so "$WORK/venv/bin/pytmtop"; do
  if ldd "$f" | grep -E 'liblz4|libncurses|libtinfo'; then
    echo "wheel_check: $f still needs a shared library it should carry" >&2
    exit 1
  fi
done
"$VPY" -m pip uninstall -q -y pytm

export -f checks
export VPY WHEEL WORK
unshare -m bash -c '
  set -e
  mount -t tmpfs pytm-no-headers /usr/include
  n=0
  for lib in /usr/lib/*/liblz4.so* /usr/lib/*/libncursesw.so* /usr/lib/*/libtinfo.so*; do
    [ -f "$lib" ] && [ ! -L "$lib" ] || continue
    mount --bind /dev/null "$lib"; n=$((n + 1))
  done
  echo "wheel_check: bare machine: /usr/include empty, $n shared libraries hidden"
  checks
'
