#!/usr/bin/env bash
# tests/sanitize.sh
#
# 1. asan preset (CMakePresets.json, build/asan): ASan + UBSan, Debug,
#    -fno-sanitize-recover=all. Builds everything and runs the C unit
#    tests (CTest label "unit").
# 2. tsan preset (build/tsan): ThreadSanitizer; C unit tests only (the
#    multi-threaded arena tests are the point).
# 3. The Python integration tests (tests/python) with the ASan+UBSan
#    build of pytm._recorder loaded into the normal, uninstrumented
#    interpreter: LD_PRELOAD of gcc's libasan (it must come first in the
#    process), ASAN_OPTIONS=detect_leaks=0 (CPython keeps its arenas and
#    interned objects at exit, which LSan would report).
#
# Prints a summary and exits non-zero if any step fails.
# Environment:
#   PYTM_SANITIZE_STEPS   subset of "asan tsan python" (default: all)
#   PYTM_SANITIZE_PYTEST  extra pytest arguments (e.g. "-k 'not load'")
#   PYTM_JOBS             build parallelism (default 2)
#   PYTM_SANITIZE_BUILD   parent of the build dirs (default <repo>/build,
#                         i.e. the presets' build/asan and build/tsan)
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
jobs=${PYTM_JOBS:-2}
steps=${PYTM_SANITIZE_STEPS:-asan tsan python}
py=${PYTHON:-python3}
broot=${PYTM_SANITIZE_BUILD:-$root/build}

failed=0
summary=()

note() { summary+=("$1"); echo "-- $1"; }

# build PRESET: configure + build with the preset (binaryDir build/PRESET).
build() {
    local preset=$1 dir=$broot/$1
    mkdir -p "$dir"
    echo "== configure + build preset $preset in $dir"
    (cd "$root" && cmake --preset "$preset" -B "$dir") >"$dir/pytm-configure.log" 2>&1 \
        || { tail -30 "$dir/pytm-configure.log"; return 1; }
    cmake --build "$dir" -j"$jobs" >"$dir/pytm-build.log" 2>&1 \
        || { grep -E 'error|Error' "$dir/pytm-build.log" | head -30; return 1; }
}

# unit PRESET: the cmocka programs under that build's sanitizer.
unit() {
    local preset=$1 dir=$broot/$1 out
    out=$(ctest --test-dir "$dir" -L unit --output-on-failure 2>&1)
    local rc=$?
    echo "$out" | grep -E 'tests passed|tests failed|Failed|\*\*\*|ERROR: |SUMMARY: ' | head -40
    return $rc
}

for s in $steps; do
    case $s in
    asan | tsan)
        if ! build "$s"; then
            note "$s: BUILD FAILED"
            failed=1
            continue
        fi
        if [ "$s" = tsan ]; then
            export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
        else
            export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
            export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
        fi
        if unit "$s"; then
            note "$s: C unit tests passed"
        else
            note "$s: C UNIT TESTS FAILED"
            failed=1
        fi
        ;;
    python)
        dir=$broot/asan
        # incremental: a no-op when the asan step just built it
        build asan || { note "python+asan: BUILD FAILED"; failed=1; continue; }
        if ! ls "$dir"/python/pytm/_recorder*.so >/dev/null 2>&1; then
            note "python+asan: extension not built (PYTM_BUILD_EXTENSION?)"
            failed=1
            continue
        fi
        libasan=$(gcc -print-file-name=libasan.so)
        [ -e "$libasan" ] || { note "python+asan: libasan.so not found"; failed=1; continue; }
        echo "== pytest tests/python with the ASan+UBSan extension"
        # shellcheck disable=SC2086
        env LD_PRELOAD="$libasan" \
            ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            PYTHONPATH="$dir/python" PYTM_BUILD_DIR="$dir" \
            PYTM_LOAD_SECONDS=${PYTM_LOAD_SECONDS:-3} \
            "$py" -m pytest -q -p no:cacheprovider \
            ${PYTM_SANITIZE_PYTEST:-} "$here/python" 2>&1 | tail -30
        if [ "${PIPESTATUS[0]}" = 0 ]; then
            note "python+asan: integration tests passed"
        else
            note "python+asan: INTEGRATION TESTS FAILED"
            failed=1
        fi
        ;;
    *)
        note "unknown step $s"
        failed=1
        ;;
    esac
done

echo "== sanitize summary"
for line in "${summary[@]}"; do
    echo "   $line"
done
if [ $failed -ne 0 ]; then
    echo "SANITIZE: FAILED"
    exit 1
fi
echo "SANITIZE: OK"
