/* libFuzzer harness for the .pytm decoder (dump/dump_read.c).
 *
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DPYTM_BUILD_FUZZERS=ON
 *   cmake --build build-fuzz --target fuzz_dump
 *   mkdir -p /tmp/cdump && build-fuzz/tests/fuzz/fuzz_dump /tmp/cdump \
 *       tests/fuzz/corpus_dump -max_total_time=60
 *
 * Every input is decoded twice: with checksums (the production path,
 * where almost every mutation dies at a CRC) and with
 * PYTM_DUMP_READ_NO_CHECKSUM (so mutations reach the LZ4 frames and the
 * payload decoders). Oracles besides the sanitizers:
 *  - a failure returns a negative code, fills a one-line message and
 *    leaves the snapshot empty;
 *  - a success passes pytm_snap_validate, and re-encoding it and
 *    decoding that again must succeed and re-encode to the same bytes
 *    (the writer is deterministic).
 * A crash found here is kept as tests/fuzz/regressions/dump-<name>,
 * which test_dump replays.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "snap.h"

static void
check(int cond)
{
    if (!cond)
        abort();
}

static void
round_trip(const struct pytm_snap *s)
{
    void *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    struct pytm_snap again;
    check(pytm_dump_write_mem(s, &a, &alen, NULL) == 0);
    check(pytm_dump_read_mem(a, alen, &again, NULL) == 0);
    check(pytm_dump_write_mem(&again, &b, &blen, NULL) == 0);
    check(alen == blen && memcmp(a, b, alen) == 0);
    pytm_snap_free(&again);
    free(a);
    free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct pytm_snap empty;
    for (unsigned flags = 0; flags <= PYTM_DUMP_READ_NO_CHECKSUM; flags++) {
        struct pytm_snap s;
        struct pytm_dump_error err;
        int rc = pytm_dump_read_mem_flags(data, size, flags, &s, &err);
        if (rc == 0) {
            check(pytm_snap_validate(&s) == 0);
            round_trip(&s);
            pytm_snap_free(&s);
        } else {
            check(rc < 0 && err.code == rc && err.msg[0] != '\0');
            check(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
            check(memcmp(&s, &empty, sizeof(s)) == 0);
        }
    }
    return 0;
}
