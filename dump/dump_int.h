/* dump/dump_int: what the codec's files share. Not part of the dump
 * API: only dump/dump_*.c include it.
 *   dump_read.c       the decoder's entry point (and its specification)
 *   dump_container.c  steps 1-3: header, section table, checksums
 *   dump_lz4.c        step 4: one section's LZ4 frame, bounded
 *   dump_sections.c   step 5: section payloads -> struct pytm_snap
 *   dump_write.c      the encoder (payload layouts, worked example)
 *   dump_file.c       reading a file whole; the atomic write
 *   dump_crc.c        the CRC-32 and section names (both directions)
 */
#ifndef PYTM_DUMP_INT_H
#define PYTM_DUMP_INT_H

#include <lz4frame.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dump.h"
#include "pytm/dump_format.h"

/* One section table entry, as read (checked by dump_container.c). */
struct sec {
    uint32_t id;
    uint16_t codec, flags;
    uint64_t offset, stored, raw;
    uint32_t crc;
    uint64_t entry_at; /* file offset of its table entry */
};

/* The decoder of one input: the bytes, the read flags, the table entries
 * of the known sections, the LZ4 context, where errors go. */
struct dec {
    const uint8_t *buf;
    size_t len;
    unsigned flags;
    bool newer; /* file minor > ours: skip what we do not know */
    unsigned minor; /* the file's minor version */
    struct sec known[PYTM_DUMP_SEC_MAX_KNOWN + 1];
    bool have[PYTM_DUMP_SEC_MAX_KNOWN + 1];
    LZ4F_dctx *dctx;
    struct pytm_dump_error *err;
};

/* Error writers of both directions: vfail fills *err (when non-NULL)
 * with code, section, offset and the message prefix + fmt; fail does so
 * for a decoder. Both return code. */
static inline int
vfail(struct pytm_dump_error *err, int code, int section, uint64_t off,
      const char *prefix, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        err->section = section;
        err->offset = off;
        int n = snprintf(err->msg, sizeof(err->msg), "%s", prefix);
        if (n < 0 || (size_t)n >= sizeof(err->msg))
            n = 0;
        vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
    }
    return code;
}

static inline int __attribute__((format(printf, 5, 6)))
fail(struct dec *d, int code, int section, uint64_t off, const char *fmt,
     ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(d->err, code, section, off, "", fmt, ap);
    va_end(ap);
    return code;
}

/* Steps 1-3 of the specification in dump_read.c: checks the header, the
 * section table and every checksum, and fills d->known / d->have.
 * 0 or a PYTM_E_* with d->err filled. dump_container.c. */
int pytm_dump_parse_container_(struct dec *d);

/* Step 4: decompresses known section `id` into a new buffer of exactly
 * its raw size (malloc'd, at least 1 byte; caller frees). 0 or PYTM_E_*.
 * d needs an LZ4 context (d->dctx). dump_lz4.c. */
int pytm_dump_inflate_(struct dec *d, uint32_t id, uint8_t **out);

/* Step 5: decodes every known section of a checked container into *s
 * and validates the result. 0 or PYTM_E_* (then *s may hold partial
 * data: the caller frees it). dump_sections.c. */
int pytm_dump_decode_sections_(struct dec *d, struct pytm_snap *s);

#endif /* PYTM_DUMP_INT_H */
