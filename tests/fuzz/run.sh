#!/usr/bin/env bash
# tests/fuzz/run.sh [BUILD_DIR] [SECONDS]
#
# Builds both libFuzzer harnesses (fuzz_arena_reader, fuzz_dump) with
# clang + ASan + UBSan in BUILD_DIR (default <repo>/build/fuzz), replays
# every file of tests/fuzz/regressions/ (arena-* through the arena
# reader, dump-* through the dump decoder), then fuzzes each harness for
# SECONDS (default 20, or $PYTM_FUZZ_SECONDS) starting from a scratch
# copy of its seed corpus (the checked-in corpus is never modified).
#
# Prints executions and exec/s per fuzzer. Exits non-zero if anything
# crashed; each crash input is copied to
# tests/fuzz/regressions/<arena|dump>-crash-<sha1> so that it is replayed
# from then on (fix the bug, keep the file).
#
# Long run (e.g. overnight, 2 jobs):
#   PYTM_FUZZ_SECONDS=28800 tests/fuzz/run.sh
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/fuzz}
secs=${2:-${PYTM_FUZZ_SECONDS:-20}}
jobs=${PYTM_FUZZ_JOBS:-2}
regdir=$here/regressions

command -v clang >/dev/null || { echo "run.sh: clang not found" >&2; exit 2; }

mkdir -p "$build"
echo "== configure + build fuzzers in $build"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYTM_BUILD_FUZZERS=ON \
    -DPYTM_BUILD_EXTENSION=OFF -DPYTM_BUILD_TUI=OFF -DBUILD_TESTING=OFF \
    >"$build/pytm-configure.log" 2>&1 \
    || { cat "$build/pytm-configure.log"; echo "run.sh: configure failed" >&2; exit 2; }
cmake --build "$build" -j"$jobs" --target fuzz_arena_reader fuzz_dump \
    >"$build/pytm-build.log" 2>&1 \
    || { cat "$build/pytm-build.log"; echo "run.sh: build failed" >&2; exit 2; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/pytm-fuzzrun-XXXXXX")
# fuzz_arena_reader rewrites one file per input: keep it on tmpfs, in a
# directory of ours so that a crash leaves nothing behind in /dev/shm.
shmtmp=$(mktemp -d /dev/shm/pytmfuzz-run-XXXXXX 2>/dev/null || mktemp -d "$scratch/shm-XXXXXX")
export PYTM_FUZZ_TMPDIR=$shmtmp
trap 'rm -rf "$scratch" "$shmtmp"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
summary=()

# keep_crashes KIND DIR: copies libFuzzer artifacts into regressions/.
keep_crashes() {
    local kind=$1 dir=$2 f sum
    for f in "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-*; do
        [ -e "$f" ] || continue
        sum=$(sha1sum "$f" | cut -c1-16)
        cp "$f" "$regdir/$kind-crash-$sum"
        echo "   new regression: tests/fuzz/regressions/$kind-crash-$sum"
    done
}

# replay KIND BIN: runs each regressions/KIND-* file once.
replay() {
    local kind=$1 bin=$2 files=()
    for f in "$regdir/$kind"-*; do
        [ -e "$f" ] && files+=("$f")
    done
    if [ ${#files[@]} -eq 0 ]; then
        summary+=("$kind: no regression files")
        return
    fi
    if "$bin" -runs=1 "${files[@]}" >"$scratch/$kind-replay.log" 2>&1; then
        summary+=("$kind: ${#files[@]} regression file(s) replayed OK")
    else
        tail -40 "$scratch/$kind-replay.log"
        summary+=("$kind: REGRESSION REPLAY FAILED")
        failed=1
    fi
}

# fuzz KIND BIN CORPUS: fuzzes for $secs seconds from a scratch corpus.
fuzz() {
    local kind=$1 bin=$2 corpus=$3
    local work=$scratch/$kind log
    mkdir -p "$work/corpus" "$work/artifacts"
    cp "$corpus"/* "$work/corpus/"
    log=$scratch/$kind-fuzz.log
    echo "== fuzz $kind for ${secs}s (seed files: $(ls "$corpus" | wc -l))"
    "$bin" "$work/corpus" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" >"$log" 2>&1
    local rc=$?
    local execs eps
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    if [ $rc -ne 0 ] || ls "$work/artifacts" | grep -q .; then
        grep -E 'ERROR|SUMMARY|==[0-9]+==|deadly|runtime error' "$log" | head -20
        keep_crashes "$kind" "$work/artifacts"
        summary+=("$kind: CRASH (rc=$rc) after ${execs:-?} executions")
        failed=1
    else
        summary+=("$kind: ${execs:-?} executions, ${eps:-?} exec/s, corpus $(ls "$work/corpus" | wc -l) files, no crash")
    fi
}

arena_bin=$build/tests/fuzz/fuzz_arena_reader
dump_bin=$build/tests/fuzz/fuzz_dump

echo "== replay regressions"
replay arena "$arena_bin"
replay dump "$dump_bin"
fuzz arena "$arena_bin" "$here/corpus_arena"
fuzz dump "$dump_bin" "$here/corpus_dump"

echo "== fuzz summary"
for line in "${summary[@]}"; do
    echo "   $line"
done
if [ $failed -ne 0 ]; then
    echo "FUZZ: FAILED"
    exit 1
fi
echo "FUZZ: OK"
