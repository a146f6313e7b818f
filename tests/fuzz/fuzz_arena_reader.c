/* libFuzzer harness for the arena reader (shm/reader*.c).
 *
 *   cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DPYTM_BUILD_FUZZERS=ON
 *   cmake --build build/fuzz --target fuzz_arena_reader
 *   mkdir -p /tmp/carena && build/fuzz/tests/fuzz/fuzz_arena_reader \
 *       /tmp/carena tests/fuzz/corpus_arena -max_total_time=60
 * or simply tests/fuzz/run.sh (both fuzzers, corpus, regressions).
 *
 * The reader attaches to a file by path (it mmaps it, so it cannot read
 * from memory): every input is written to one file in a private temp
 * directory, then opened, snapshotted, validated and closed exactly as
 * pytmtop does. Oracles besides the sanitizers:
 *  - open fails with a negative PYTM_E_* and leaves *out NULL;
 *  - a snapshot either succeeds and passes pytm_snap_validate, or fails
 *    with a negative code and leaves the snapshot empty;
 *  - the identity accessors and liveness never crash.
 * The seed corpus tests/fuzz/corpus_arena/ holds real arenas written by
 * shm/arena.c and compacted (tests/fuzz/gen_arena_corpus.c). A crash
 * found here is kept as tests/fuzz/regressions/arena-<name>, replayed
 * by run.sh.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pytm_error.h"
#include "reader.h"
#include "snap.h"

/* The scratch file; set once by the first call (libFuzzer runs the
 * target on one thread). */
static char g_dir[64];
static char g_path[96];

static void
check(int cond)
{
    if (!cond)
        abort();
}

static void
remove_scratch(void)
{
    unlink(g_path);
    rmdir(g_dir);
}

/* A tmpfs directory like the one arenas live in: /dev/shm by default
 * (a file rewrite per input costs ~1 ms on ext4, ~10 us on tmpfs), or
 * $PYTM_FUZZ_TMPDIR. The name avoids the "pytm-" prefix so that
 * pytmtop --list never looks at it. */
static void
make_scratch(void)
{
    const char *base = getenv("PYTM_FUZZ_TMPDIR");
    if (!base || strlen(base) > 40)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/pytmfuzz-XXXXXX", base);
    check(mkdtemp(g_dir) != NULL);
    snprintf(g_path, sizeof g_path, "%s/arena", g_dir);
    atexit(remove_scratch);
}

static void
write_input(const uint8_t *data, size_t size)
{
    int fd = open(g_path, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW, 0600);
    check(fd >= 0);
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        check(w > 0);
        done += (size_t)w;
    }
    check(close(fd) == 0);
}

static void
read_arena(struct pytm_reader *r)
{
    static const struct pytm_snap empty;
    check(pytm_reader_pid(r) > 0);
    check(pytm_reader_path(r) != NULL);
    (void)pytm_reader_arena_size(r);
    (void)pytm_reader_sample_interval(r);
    (void)pytm_reader_nframe(r);
    enum pytm_reader_liveness l = pytm_reader_liveness(r);
    check(l == PYTM_LIVE_RUNNING || l == PYTM_LIVE_STOPPED
          || l == PYTM_LIVE_EXITED);

    struct pytm_snap s;
    pytm_snap_init(&s);
    /* twice: the second call frees and refills the first result */
    for (int i = 0; i < 2; i++) {
        int rc = pytm_reader_snap(r, &s);
        if (rc == 0) {
            check(pytm_snap_validate(&s) == 0);
        } else {
            check(rc < 0);
            check(memcmp(&s, &empty, sizeof s) == 0);
        }
    }
    pytm_snap_free(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_path[0] == '\0')
        make_scratch();
    write_input(data, size);
    struct pytm_reader *r = (struct pytm_reader *)&r; /* must be reset */
    int rc = pytm_reader_open_path(g_path, &r);
    if (rc != 0) {
        check(rc < 0 && r == NULL);
        return 0;
    }
    check(r != NULL);
    read_arena(r);
    pytm_reader_close(r);
    return 0;
}
