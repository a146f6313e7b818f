#!/usr/bin/env bash
# tests/valgrind.sh [BUILD_DIR]
#
# Builds the C unit tests (no Python extension) in BUILD_DIR (default
# <repo>/build/valgrind) and runs every cmocka program (CTest label
# "unit") under
#   valgrind --error-exitcode=1 --leak-check=full
#            --errors-for-leak-kinds=definite --child-silent-after-fork=yes
# two at a time. Any invalid read/write, use of uninitialised memory,
# bad free or definitely-lost block fails the run.
#
# Why "definite" only: several tests fork() children that _exit() with a
# status the parent checks; valgrind's leak check runs in those children
# too and would count the fixture still held at _exit() as "possibly
# lost" and replace the child's exit status. Definite leaks are still
# errors in parent and children.
#
# PYTM_SKIP_SLOW=1 is exported: tests that read it may skip their
# million-iteration timing cases (10-50x slower under valgrind).
# Extra configure arguments: $PYTM_VALGRIND_CMAKE_ARGS.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build/valgrind}
jobs=${PYTM_JOBS:-2}

command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not found" >&2; exit 2; }
mkdir -p "$build"
echo "== configure + build C tests in $build"
# shellcheck disable=SC2086
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPYTM_BUILD_EXTENSION=OFF ${PYTM_VALGRIND_CMAKE_ARGS:-} \
    >"$build/pytm-configure.log" 2>&1 \
    || { cat "$build/pytm-configure.log"; echo "valgrind.sh: configure failed" >&2; exit 2; }
cmake --build "$build" -j"$jobs" >"$build/pytm-build.log" 2>&1 \
    || { tail -40 "$build/pytm-build.log"; echo "valgrind.sh: build failed" >&2; exit 2; }

# The unit test programs, from CTest itself (label "unit"), without
# bench_model_check: a benchmark in --check mode whose model code
# test_model already covers (minutes of 100k-traceback sorts under
# memcheck would add nothing).
mapfile -t progs < <(ctest --test-dir "$build" -L unit -E '^bench_model_check$' \
    --show-only=json-v1 \
    | python3 -c 'import json,sys
for t in json.load(sys.stdin)["tests"]:
    print(t["command"][0])')
if [ ${#progs[@]} -eq 0 ]; then
    echo "valgrind.sh: no unit tests found" >&2
    exit 2
fi

logs=$build/valgrind-logs
rm -rf "$logs"
mkdir -p "$logs"
export PYTM_SKIP_SLOW=1

run_one() {
    local prog=$1 logs=$2 name start rc
    name=$(basename "$prog")
    start=$(date +%s)
    (cd "$(dirname "$prog")" && valgrind -q --error-exitcode=1 \
        --leak-check=full --errors-for-leak-kinds=definite \
        --child-silent-after-fork=yes \
        "$prog") >"$logs/$name.log" 2>&1
    rc=$?
    echo "$name $rc $(( $(date +%s) - start ))" >"$logs/$name.rc"
}
export -f run_one

echo "== valgrind on ${#progs[@]} programs ($jobs at a time)"
printf '%s\n' "${progs[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1" "$2"' _ {} "$logs"

failed=0
echo "== valgrind summary"
for prog in "${progs[@]}"; do
    name=$(basename "$prog")
    if [ ! -f "$logs/$name.rc" ]; then
        echo "   $name: DID NOT RUN"
        failed=1
        continue
    fi
    read -r _ rc secs <"$logs/$name.rc"
    if [ "$rc" = 0 ]; then
        echo "   $name: OK (${secs}s)"
    else
        echo "   $name: FAILED rc=$rc (${secs}s), log $logs/$name.log"
        grep -E '==[0-9]+==|FAILED|ERROR' "$logs/$name.log" | head -30 | sed 's/^/      /'
        failed=1
    fi
done
if [ $failed -ne 0 ]; then
    echo "VALGRIND: FAILED"
    exit 1
fi
echo "VALGRIND: OK"
