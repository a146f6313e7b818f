/* Helpers shared by test_dump and test_dump_corrupt: known snapshots, a
 * field-by-field comparer, and a small editor for the dump container
 * that the corruption tests use to craft files whose checksums are
 * right, so that the check under test (not a CRC) is what fires.
 * The editor follows docs/dump-format.md independently of the decoder.
 */
#ifndef PYTM_TEST_DUMP_TESTLIB_H
#define PYTM_TEST_DUMP_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "snap.h"

/* A small snapshot exercising every field: UTF-8 and odd-byte strings
 * (one with an embedded NUL), a traceback with nframe 0, a truncated
 * stack, negative transient aggregates, sampled traces. 0 or PYTM_E_*. */
int dt_build_small(struct pytm_snap *s);

/* Adds per-thread figures to s (dt_build_small's: >= 2 tbs, >= 1
 * string): 2 threads (one named by string 0, one with a 14-byte
 * pthread name and a negative tid), 3 splits, the two counters set.
 * 0 or PYTM_E_*. */
int dt_add_threads(struct pytm_snap *s);

/* n exact-mode traces over a few hundred tracebacks. */
int dt_build_big(struct pytm_snap *s, uint64_t n);

/* 0 when a and b hold the same snapshot; otherwise 1 and a description
 * of the first difference in why[cap]. */
int dt_snap_diff(const struct pytm_snap *a, const struct pytm_snap *b,
                 char *why, size_t cap);

/* ---- container editor ---- */
#define DT_MAX_SECTIONS 16

struct dt_section {
    uint32_t id;
    uint16_t codec, flags;
    uint8_t *stored; /* owned */
    size_t stored_len;
    uint64_t raw_size;
    uint32_t crc;
};

struct dt_dump {
    uint16_t major, minor;
    uint32_t flags;
    uint32_t n;
    struct dt_section sec[DT_MAX_SECTIONS];
};

/* Splits a well-formed dump (writer output) into its parts. 0 or -1. */
int dt_parse(const uint8_t *buf, size_t len, struct dt_dump *d);

/* Serialises d: offsets, file size and the header CRC are recomputed;
 * each section's raw_size and crc are written as stored in d.
 * *out is malloc'd. 0 or -1. */
int dt_build(const struct dt_dump *d, uint8_t **out, size_t *len);

void dt_free(struct dt_dump *d);

/* Index of the first section with this id, or -1. */
int dt_find(const struct dt_dump *d, uint32_t id);

/* Decompresses section i into a malloc'd buffer. NULL on failure. */
uint8_t *dt_raw(const struct dt_dump *d, int i, size_t *len);

/* Replaces section i's payload: compresses raw as an LZ4 frame and sets
 * stored, raw_size and crc to match. 0 or -1. */
int dt_set_raw(struct dt_dump *d, int i, const void *raw, size_t len);

/* Recomputes the header CRC of an image in place (after a hand edit of
 * a header or table field). */
void dt_fix_header_crc(uint8_t *buf, size_t len);

#endif
