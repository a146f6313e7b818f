/* dump/dump_read: the .pytm decoder (format: docs/dump-format.md).
 *
 * SPECIFICATION OF WHAT THE DECODER CHECKS (every dump is hostile)
 *  1. magic, endian tag (byte-swapped -> FORMAT), major version, header
 *     size, flags, table size; the header+table CRC-32.
 *  2. every table entry: codec, flags, offset/size inside the declared
 *     file size and after the table, no overlap (v1.0 files: sections
 *     tile the file exactly), raw size <= cap and <= LZ4's expansion
 *     bound of the stored size, no duplicate ids, required ids present.
 *  3. the input holds the declared file size (else TRUNCATED, naming the
 *     first cut section) and nothing after it.
 *  4. each section: CRC-32 of the stored bytes, then LZ4 into a buffer of
 *     exactly raw_size bytes (never more), which must be filled exactly.
 *  5. each payload: every count <= its hard cap (TOOBIG) and <= the bytes
 *     left (each entry costs >= 1 byte per column), every varint inside
 *     the payload, every index below the table it points into, no bytes
 *     left over (unless the file's minor version is newer than ours).
 * Allocation therefore never exceeds a small multiple of the input size.
 * Known-section payload layouts are documented in dump_write.c.
 */
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4frame.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "le.h"
#include "pytm/dump_format.h"
#include "pytm_error.h"

/* CRC-32, four bits at a time (16-entry table; ~0.4 GB/s). */
static const uint32_t crc_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
    0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t
pytm_dump_crc32(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return ~crc;
}

const char *
pytm_dump_section_name(uint32_t id)
{
    switch (id) {
#define SEC_NAME(name, num, str, req) \
    case num:                         \
        return str;
        PYTM_DUMP_SECTIONS(SEC_NAME)
#undef SEC_NAME
    }
    return "unknown";
}

struct sec {
    uint32_t id;
    uint16_t codec, flags;
    uint64_t offset, stored, raw;
    uint32_t crc;
    uint64_t entry_at; /* file offset of its table entry */
};

struct dec {
    const uint8_t *buf;
    size_t len;
    unsigned flags;
    bool newer; /* file minor > ours: skip what we do not know */
    struct sec known[PYTM_DUMP_SEC_MAX_KNOWN + 1];
    bool have[PYTM_DUMP_SEC_MAX_KNOWN + 1];
    LZ4F_dctx *dctx;
    struct pytm_dump_error *err;
};

static int
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

static int
fail(struct dec *d, int code, int section, uint64_t off, const char *fmt,
     ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(d->err, code, section, off, "", fmt, ap);
    va_end(ap);
    return code;
}

/* ---- container: header and section table ---- */

static int
check_header(struct dec *d, uint64_t *table_end, uint32_t *n_sec,
             uint32_t *ent_size)
{
    const uint8_t *b = d->buf;
    size_t len = d->len;
    size_t m = len < PYTM_DUMP_MAGIC_SIZE ? len : PYTM_DUMP_MAGIC_SIZE;
    if (memcmp(b, PYTM_DUMP_MAGIC, m) != 0)
        return fail(d, PYTM_E_FORMAT, 0, 0,
                    "not a pytm dump: the file does not start with "
                    "\"PYTMDUMP\"");
    if (len >= PYTM_DUMP_HDR_ENDIAN + 4) {
        uint32_t tag = pytm_le_get32(b + PYTM_DUMP_HDR_ENDIAN);
        if (tag == PYTM_DUMP_ENDIAN_TAG_SWAPPED)
            return fail(d, PYTM_E_FORMAT, 0, PYTM_DUMP_HDR_ENDIAN,
                        "byte-swapped header: endian tag reads 0x%08" PRIx32
                        ", expected 0x%08x (written big-endian? pytm dumps "
                        "are little-endian)", tag, PYTM_DUMP_ENDIAN_TAG);
        if (tag != PYTM_DUMP_ENDIAN_TAG)
            return fail(d, PYTM_E_DUMPCORRUPT, 0, PYTM_DUMP_HDR_ENDIAN,
                        "bad endian tag 0x%08" PRIx32 ", expected 0x%08x",
                        tag, PYTM_DUMP_ENDIAN_TAG);
    }
    if (len >= PYTM_DUMP_HDR_MINOR + 2) {
        unsigned major = pytm_le_get16(b + PYTM_DUMP_HDR_MAJOR);
        unsigned minor = pytm_le_get16(b + PYTM_DUMP_HDR_MINOR);
        if (major != PYTM_DUMP_VERSION_MAJOR)
            return fail(d, PYTM_E_DUMPVER, 0, PYTM_DUMP_HDR_MAJOR,
                        "dump format version %u.%u is not supported: this "
                        "reader reads %u.x", major, minor,
                        PYTM_DUMP_VERSION_MAJOR);
        d->newer = minor > PYTM_DUMP_VERSION_MINOR;
    }
    if (len < PYTM_DUMP_HEADER_SIZE)
        return fail(d, PYTM_E_TRUNCATED, 0, len,
                    "truncated: file is %zu bytes, a pytm dump header "
                    "needs %u", len, PYTM_DUMP_HEADER_SIZE);
    uint32_t hsize = pytm_le_get32(b + PYTM_DUMP_HDR_HEADER_SIZE);
    uint32_t flags = pytm_le_get32(b + PYTM_DUMP_HDR_FLAGS);
    uint32_t esize = pytm_le_get32(b + PYTM_DUMP_HDR_ENTRY_SIZE);
    uint32_t nsec = pytm_le_get32(b + PYTM_DUMP_HDR_N_SECTIONS);
    if (hsize < PYTM_DUMP_HEADER_SIZE || hsize > PYTM_DUMP_MAX_HEADER_SIZE ||
        (!d->newer && hsize != PYTM_DUMP_HEADER_SIZE))
        return fail(d, PYTM_E_DUMPCORRUPT, 0, PYTM_DUMP_HDR_HEADER_SIZE,
                    "header size %" PRIu32 " is invalid (v1.0: %u)", hsize,
                    PYTM_DUMP_HEADER_SIZE);
    if (esize < PYTM_DUMP_ENTRY_SIZE || esize > PYTM_DUMP_MAX_ENTRY_SIZE ||
        (!d->newer && esize != PYTM_DUMP_ENTRY_SIZE))
        return fail(d, PYTM_E_DUMPCORRUPT, 0, PYTM_DUMP_HDR_ENTRY_SIZE,
                    "section entry size %" PRIu32 " is invalid (v1.0: %u)",
                    esize, PYTM_DUMP_ENTRY_SIZE);
    if (flags & PYTM_DUMP_FLAGS_INCOMPAT_MASK & ~PYTM_DUMP_FLAGS_KNOWN)
        return fail(d, PYTM_E_DUMPVER, 0, PYTM_DUMP_HDR_FLAGS,
                    "dump uses incompatible feature flags 0x%04" PRIx32
                    " that this reader does not know", flags & 0xffffu);
    if (!d->newer && ((flags & ~PYTM_DUMP_FLAGS_KNOWN) ||
                      pytm_le_get32(b + PYTM_DUMP_HDR_RESERVED)))
        return fail(d, PYTM_E_DUMPCORRUPT, 0, PYTM_DUMP_HDR_FLAGS,
                    "unknown header flags or reserved bits set in a v1.0 "
                    "file");
    if (nsec > PYTM_DUMP_MAX_SECTIONS)
        return fail(d, PYTM_E_TOOBIG, 0, PYTM_DUMP_HDR_N_SECTIONS,
                    "header declares %" PRIu32 " sections, more than the "
                    "%u allowed", nsec, PYTM_DUMP_MAX_SECTIONS);
    uint64_t tend = (uint64_t)hsize + (uint64_t)nsec * esize;
    if (len < tend)
        return fail(d, PYTM_E_TRUNCATED, 0, len,
                    "truncated: the section table ends at byte %" PRIu64
                    ", file has %zu", tend, len);
    static const uint8_t zero[4];
    uint32_t crc = pytm_dump_crc32(0, b, PYTM_DUMP_HDR_CRC);
    crc = pytm_dump_crc32(crc, zero, 4);
    crc = pytm_dump_crc32(crc, b + PYTM_DUMP_HDR_CRC + 4,
                          tend - PYTM_DUMP_HDR_CRC - 4);
    uint32_t want = pytm_le_get32(b + PYTM_DUMP_HDR_CRC);
    if (crc != want && !(d->flags & PYTM_DUMP_READ_NO_CHECKSUM))
        return fail(d, PYTM_E_DUMPCORRUPT, 0, PYTM_DUMP_HDR_CRC,
                    "header checksum mismatch: stored 0x%08" PRIx32
                    ", computed 0x%08" PRIx32, want, crc);
    *table_end = tend;
    *n_sec = nsec;
    *ent_size = esize;
    return 0;
}

static int
check_entry(struct dec *d, struct sec *s, uint64_t fsize, uint64_t prev_end)
{
    const char *name = pytm_dump_section_name(s->id);
    int id = (int)s->id;
    bool known = s->id >= 1 && s->id <= PYTM_DUMP_SEC_MAX_KNOWN;
    if (!known && (s->flags & PYTM_DUMP_SECFLAG_MUST_UNDERSTAND))
        return fail(d, PYTM_E_DUMPVER, id, s->entry_at,
                    "section id %" PRIu32 " is unknown to this reader and "
                    "marked must-understand", s->id);
    if (known && s->codec != PYTM_DUMP_CODEC_LZ4F)
        return fail(d, s->codec > PYTM_DUMP_CODEC_LZ4F && d->newer
                           ? PYTM_E_DUMPVER : PYTM_E_DUMPCORRUPT,
                    id, s->entry_at + PYTM_DUMP_ENT_CODEC,
                    "section '%s' uses codec %u, this reader knows only %u "
                    "(LZ4 frame)", name, s->codec, PYTM_DUMP_CODEC_LZ4F);
    if (!d->newer && (s->flags & ~PYTM_DUMP_SECFLAG_MUST_UNDERSTAND ||
                      !known))
        return fail(d, PYTM_E_DUMPCORRUPT, id, s->entry_at,
                    "section id %" PRIu32 " / flags 0x%x not defined in a "
                    "v1.0 file", s->id, s->flags);
    if (s->offset < prev_end || (!d->newer && s->offset != prev_end) ||
        s->offset > fsize || s->stored > fsize - s->offset)
        return fail(d, PYTM_E_DUMPCORRUPT, id,
                    s->entry_at + PYTM_DUMP_ENT_OFFSET,
                    "section '%s' at offset %" PRIu64 " size %" PRIu64
                    " is outside the file (%" PRIu64 " bytes, data from %"
                    PRIu64 ") or overlaps its neighbour", name, s->offset,
                    s->stored, fsize, prev_end);
    if (s->raw > PYTM_DUMP_MAX_RAW_SIZE)
        return fail(d, PYTM_E_TOOBIG, id,
                    s->entry_at + PYTM_DUMP_ENT_RAW_SIZE,
                    "section '%s' declares %" PRIu64 " bytes decompressed, "
                    "more than the %" PRIu64 " allowed", name, s->raw,
                    PYTM_DUMP_MAX_RAW_SIZE);
    if (s->raw > s->stored * PYTM_DUMP_MAX_RATIO + PYTM_DUMP_RATIO_SLACK)
        return fail(d, PYTM_E_DUMPCORRUPT, id,
                    s->entry_at + PYTM_DUMP_ENT_RAW_SIZE,
                    "section '%s' declares %" PRIu64 " bytes decompressed "
                    "from %" PRIu64 " stored, more than LZ4 can expand",
                    name, s->raw, s->stored);
    if (known && d->have[s->id])
        return fail(d, PYTM_E_DUMPCORRUPT, id, s->entry_at,
                    "section '%s' appears twice", name);
    return 0;
}

static int
check_crc(struct dec *d, const struct sec *s)
{
    if (d->flags & PYTM_DUMP_READ_NO_CHECKSUM)
        return 0;
    uint32_t crc = pytm_dump_crc32(0, d->buf + s->offset, s->stored);
    if (crc != s->crc)
        return fail(d, PYTM_E_DUMPCORRUPT, (int)s->id, s->offset,
                    "section '%s' checksum mismatch: stored 0x%08" PRIx32
                    ", computed 0x%08" PRIx32,
                    pytm_dump_section_name(s->id), s->crc, crc);
    return 0;
}

static int
parse_container(struct dec *d)
{
    uint64_t tend = 0;
    uint32_t nsec = 0, esize = 0;
    int rc = check_header(d, &tend, &nsec, &esize);
    if (rc)
        return rc;
    const uint8_t *b = d->buf;
    uint64_t fsize = pytm_le_get64(b + PYTM_DUMP_HDR_FILE_SIZE);
    if (fsize > PYTM_DUMP_MAX_FILE_SIZE)
        return fail(d, PYTM_E_TOOBIG, 0, PYTM_DUMP_HDR_FILE_SIZE,
                    "header declares a %" PRIu64 "-byte file, more than the "
                    "%" PRIu64 " allowed", fsize, PYTM_DUMP_MAX_FILE_SIZE);
    if (fsize < tend)
        return fail(d, PYTM_E_DUMPCORRUPT, 0, PYTM_DUMP_HDR_FILE_SIZE,
                    "header declares a %" PRIu64 "-byte file, smaller than "
                    "its own section table (%" PRIu64 ")", fsize, tend);
    struct sec all[PYTM_DUMP_MAX_SECTIONS];
    uint64_t end = tend;
    for (uint32_t i = 0; i < nsec; i++) {
        /* the table ends at tend; the header before it may be longer
         * than ours in a newer minor */
        const uint8_t *e = b + (size_t)(tend - (uint64_t)(nsec - i) * esize);
        struct sec *s = &all[i];
        s->entry_at = (uint64_t)(e - b);
        s->id = pytm_le_get32(e + PYTM_DUMP_ENT_ID);
        s->codec = pytm_le_get16(e + PYTM_DUMP_ENT_CODEC);
        s->flags = pytm_le_get16(e + PYTM_DUMP_ENT_FLAGS);
        s->offset = pytm_le_get64(e + PYTM_DUMP_ENT_OFFSET);
        s->stored = pytm_le_get64(e + PYTM_DUMP_ENT_STORED_SIZE);
        s->raw = pytm_le_get64(e + PYTM_DUMP_ENT_RAW_SIZE);
        s->crc = pytm_le_get32(e + PYTM_DUMP_ENT_CRC);
        if (!d->newer && pytm_le_get32(e + PYTM_DUMP_ENT_RESERVED))
            return fail(d, PYTM_E_DUMPCORRUPT, (int)s->id, s->entry_at,
                        "reserved bits set in table entry %" PRIu32, i);
        if ((rc = check_entry(d, s, fsize, end)))
            return rc;
        if (s->id >= 1 && s->id <= PYTM_DUMP_SEC_MAX_KNOWN) {
            d->known[s->id] = *s;
            d->have[s->id] = true;
        }
        end = s->offset + s->stored;
    }
    if (!d->newer && end != fsize)
        return fail(d, PYTM_E_DUMPCORRUPT, 0, PYTM_DUMP_HDR_FILE_SIZE,
                    "sections end at byte %" PRIu64 " but the header "
                    "declares a %" PRIu64 "-byte file", end, fsize);
    if (d->len < fsize) {
        for (uint32_t i = 0; i < nsec; i++) {
            const struct sec *s = &all[i];
            if (s->offset + s->stored > d->len)
                return fail(d, PYTM_E_TRUNCATED, (int)s->id, d->len,
                            "truncated: header says %" PRIu64 " bytes of "
                            "section '%s' at offset %" PRIu64 ", file has "
                            "%" PRIu64, s->stored,
                            pytm_dump_section_name(s->id), s->offset,
                            d->len > s->offset ? d->len - s->offset : 0);
        }
        return fail(d, PYTM_E_TRUNCATED, 0, d->len,
                    "truncated: header says the file is %" PRIu64
                    " bytes, it has %zu", fsize, d->len);
    }
    if (d->len > fsize)
        return fail(d, PYTM_E_DUMPCORRUPT, 0, fsize,
                    "%" PRIu64 " unexpected bytes after the declared end "
                    "of the dump (byte %" PRIu64 ")", d->len - fsize, fsize);
#define SEC_REQUIRED(name, num, str, req)                                 \
    if (req && !d->have[num])                                             \
        return fail(d, PYTM_E_DUMPCORRUPT, num, PYTM_DUMP_HDR_N_SECTIONS, \
                    "missing required section '%s'", str);
    PYTM_DUMP_SECTIONS(SEC_REQUIRED)
#undef SEC_REQUIRED
    for (uint32_t i = 0; i < nsec; i++)
        if ((rc = check_crc(d, &all[i])))
            return rc;
    return 0;
}

/* Decompresses known section `id` into a new buffer of exactly its raw
 * size (malloc'd, at least 1 byte; caller frees). */
static int
inflate(struct dec *d, uint32_t id, uint8_t **out)
{
    const struct sec *s = &d->known[id];
    const char *name = pytm_dump_section_name(id);
    uint8_t *raw = malloc(s->raw ? (size_t)s->raw : 1);
    if (!raw)
        return fail(d, PYTM_E_NOMEM, (int)id, s->offset,
                    "out of memory for %" PRIu64 " bytes of section '%s'",
                    s->raw, name);
    LZ4F_decompressOptions_t opt;
    memset(&opt, 0, sizeof(opt));
    opt.stableDst = 1; /* raw stays put for the whole frame */
    opt.skipChecksums = (d->flags & PYTM_DUMP_READ_NO_CHECKSUM) ? 1 : 0;
    LZ4F_resetDecompressionContext(d->dctx);
    const uint8_t *src = d->buf + s->offset;
    size_t src_left = (size_t)s->stored, done = 0;
    for (;;) {
        size_t dst_n = (size_t)s->raw - done, src_n = src_left;
        size_t r = LZ4F_decompress(d->dctx, raw + done, &dst_n, src, &src_n,
                                   &opt);
        if (LZ4F_isError(r)) {
            free(raw);
            return fail(d, PYTM_E_LZ4, (int)id, s->offset,
                        "section '%s' does not decompress: %s", name,
                        LZ4F_getErrorName(r));
        }
        done += dst_n;
        src += src_n;
        src_left -= src_n;
        if (r == 0)
            break; /* frame complete */
        if (dst_n == 0 && src_n == 0) {
            free(raw);
            if (done == s->raw && src_left > 0)
                return fail(d, PYTM_E_DUMPCORRUPT, (int)id, s->offset,
                            "section '%s' decompresses to more than the %"
                            PRIu64 " bytes its table entry declares", name,
                            s->raw);
            return fail(d, PYTM_E_LZ4, (int)id, s->offset,
                        "section '%s': LZ4 frame ends early (%" PRIu64
                        " stored bytes)", name, s->stored);
        }
    }
    if (src_left != 0 || done != s->raw) {
        free(raw);
        return fail(d, PYTM_E_DUMPCORRUPT, (int)id, s->offset,
                    "section '%s' decompressed to %zu bytes using %" PRIu64
                    " of %" PRIu64 " stored; the table declares %" PRIu64
                    " and %" PRIu64, name, done, s->stored - src_left,
                    s->stored, s->raw, s->stored);
    }
    *out = raw;
    return 0;
}

/* ---- payloads ---- */

struct cur {
    struct dec *d;
    uint32_t id;
    const uint8_t *base, *p, *end;
};

static int
cfail(struct cur *c, int code, const char *fmt, ...)
{
    char prefix[48];
    snprintf(prefix, sizeof(prefix), "section '%s' ",
             pytm_dump_section_name(c->id));
    va_list ap;
    va_start(ap, fmt);
    vfail(c->d->err, code, (int)c->id, c->d->known[c->id].offset, prefix,
          fmt, ap);
    va_end(ap);
    return code;
}

static inline int
get(struct cur *c, uint64_t *v, const char *what, uint64_t i)
{
    if (__builtin_expect(pytm_le_get_varint(&c->p, c->end, v) == 0, 1))
        return 0;
    return cfail(c, PYTM_E_DUMPCORRUPT,
                 "has a cut-off or oversized varint for %s %" PRIu64
                 " at payload byte %zu", what, i, (size_t)(c->p - c->base));
}

static int
get_count(struct cur *c, uint64_t cap, unsigned columns, uint64_t *n)
{
    int rc = get(c, n, "the entry count", 0);
    if (rc)
        return rc;
    if (*n > cap)
        return cfail(c, PYTM_E_TOOBIG,
                     "declares %" PRIu64 " entries, more than the %" PRIu64
                     " allowed", *n, cap);
    size_t left = (size_t)(c->end - c->p);
    if (*n > left / columns)
        return cfail(c, PYTM_E_DUMPCORRUPT,
                     "declares %" PRIu64 " entries, but its %zu remaining "
                     "bytes hold at most %zu", *n, left, left / columns);
    return 0;
}

static int
index_fail(struct cur *c, const char *what, uint64_t i, int64_t v,
           uint64_t limit, const char *table)
{
    return cfail(c, PYTM_E_DUMPCORRUPT,
                 "entry %" PRIu64 " has %s %" PRId64 ", but there are %"
                 PRIu64 " %s", i, what, v, limit, table);
}

static int
finish(struct cur *c)
{
    if (c->p != c->end && !c->d->newer)
        return cfail(c, PYTM_E_DUMPCORRUPT,
                     "has %zu unexpected bytes after its last field",
                     (size_t)(c->end - c->p));
    return 0;
}

static int
alloc_array(struct cur *c, void **p, uint64_t n, size_t size)
{
    *p = NULL;
    if (n == 0)
        return 0;
    *p = calloc((size_t)n, size);
    if (!*p)
        return cfail(c, PYTM_E_NOMEM, "needs %" PRIu64 " x %zu bytes: out "
                     "of memory", n, size);
    return 0;
}

static int
decode_meta(struct cur *c, struct pytm_snap *s)
{
    if (c->end - c->p < PYTM_DUMP_META_FIXED_SIZE)
        return cfail(c, PYTM_E_DUMPCORRUPT, "is %zu bytes, needs at least %u",
                     (size_t)(c->end - c->p), PYTM_DUMP_META_FIXED_SIZE);
    const uint8_t *p = c->p;
    uint32_t len = pytm_le_get32(p + PYTM_DUMP_META_CMDLINE_LEN);
    if (len > PYTM_DUMP_MAX_CMDLINE)
        return cfail(c, PYTM_E_TOOBIG, "declares a %" PRIu32 "-byte cmdline,"
                     " more than the %u allowed", len,
                     (unsigned)PYTM_DUMP_MAX_CMDLINE);
    if ((size_t)(c->end - p) - PYTM_DUMP_META_FIXED_SIZE < len)
        return cfail(c, PYTM_E_DUMPCORRUPT, "declares a %" PRIu32 "-byte "
                     "cmdline but holds only %zu bytes after its fixed "
                     "fields", len,
                     (size_t)(c->end - p) - PYTM_DUMP_META_FIXED_SIZE);
    const uint8_t *cmd = p + PYTM_DUMP_META_CMDLINE;
    if (memchr(cmd, 0, len))
        return cfail(c, PYTM_E_DUMPCORRUPT, "has a NUL byte inside cmdline");
    s->meta.cmdline = malloc((size_t)len + 1);
    if (!s->meta.cmdline)
        return cfail(c, PYTM_E_NOMEM, "cmdline: out of memory");
    memcpy(s->meta.cmdline, cmd, len);
    s->meta.cmdline[len] = '\0';
    s->meta.pid = (int64_t)pytm_le_get64(p + PYTM_DUMP_META_PID);
    s->meta.start_realtime_ns = pytm_le_get64(p + PYTM_DUMP_META_START_NS);
    s->meta.taken_realtime_ns = pytm_le_get64(p + PYTM_DUMP_META_TAKEN_NS);
    s->meta.sample_interval = pytm_le_get64(p + PYTM_DUMP_META_INTERVAL);
    s->meta.nframe = pytm_le_get32(p + PYTM_DUMP_META_NFRAME);
    s->meta.flags = pytm_le_get32(p + PYTM_DUMP_META_FLAGS);
    c->p = cmd + len;
    return finish(c);
}

static int
decode_totals(struct cur *c, struct pytm_snap *s)
{
    if (c->end - c->p < PYTM_DUMP_TOTALS_SIZE)
        return cfail(c, PYTM_E_DUMPCORRUPT, "is %zu bytes, needs %u",
                     (size_t)(c->end - c->p), PYTM_DUMP_TOTALS_SIZE);
    uint64_t v[PYTM_DUMP_TOTALS_FIELDS];
    for (unsigned i = 0; i < PYTM_DUMP_TOTALS_FIELDS; i++)
        v[i] = pytm_le_get64(c->p + 8 * i);
    struct pytm_snap_totals *t = &s->totals;
    t->traced_current = (int64_t)v[0];
    t->traced_peak = (int64_t)v[1];
    t->n_allocs = v[2];
    t->n_samples = v[3];
    t->n_frees = v[4];
    t->n_dropped = v[5];
    t->live_samples = v[6];
    t->clear_epoch = v[7];
    c->p += PYTM_DUMP_TOTALS_SIZE;
    return finish(c);
}

static int
decode_strings(struct cur *c, struct pytm_snap *s)
{
    uint64_t n = 0, v = 0, total = 0;
    int rc = get_count(c, PYTM_DUMP_MAX_STRINGS, 1, &n);
    if (rc || (rc = alloc_array(c, (void **)&s->str_off, n, 8)) ||
        (rc = alloc_array(c, (void **)&s->str_len, n, 4)))
        return rc;
    s->n_strings = (uint32_t)n;
    for (uint64_t i = 0; i < n; i++) {
        if ((rc = get(c, &v, "string length", i)))
            return rc;
        if (v > PYTM_DUMP_MAX_STRING_LEN)
            return cfail(c, PYTM_E_TOOBIG, "string %" PRIu64 " declares %"
                         PRIu64 " bytes, more than the %u allowed", i, v,
                         (unsigned)PYTM_DUMP_MAX_STRING_LEN);
        s->str_len[i] = (uint32_t)v;
        s->str_off[i] = total + i; /* each string is followed by a NUL */
        total += v;
    }
    size_t left = (size_t)(c->end - c->p);
    if (total > left)
        return cfail(c, PYTM_E_DUMPCORRUPT, "declares %" PRIu64 " bytes of "
                     "string data, but only %zu remain", total, left);
    s->str_pool_size = total + n;
    if (s->str_pool_size && !(s->str_pool = malloc(s->str_pool_size)))
        return cfail(c, PYTM_E_NOMEM, "pool: out of memory");
    for (uint64_t i = 0; i < n; i++) {
        memcpy(s->str_pool + s->str_off[i], c->p, s->str_len[i]);
        s->str_pool[s->str_off[i] + s->str_len[i]] = '\0';
        c->p += s->str_len[i];
    }
    return finish(c);
}

static int
decode_frames(struct cur *c, struct pytm_snap *s)
{
    uint64_t n = 0, v = 0;
    int rc = get_count(c, PYTM_DUMP_MAX_FRAMES, PYTM_DUMP_FRAMES_COLUMNS, &n);
    if (rc || (rc = alloc_array(c, (void **)&s->frames, n,
                                sizeof(*s->frames))))
        return rc;
    s->n_frames = (uint32_t)n;
    for (uint64_t i = 0; i < n; i++) {
        if ((rc = get(c, &v, "frame filename", i)))
            return rc;
        if (v >= s->n_strings)
            return index_fail(c, "filename", i, (int64_t)v, s->n_strings,
                              "strings");
        s->frames[i].filename = (uint32_t)v;
    }
    for (uint64_t i = 0; i < n; i++) {
        if ((rc = get(c, &v, "frame lineno", i)))
            return rc;
        if (v > UINT32_MAX)
            return cfail(c, PYTM_E_DUMPCORRUPT, "entry %" PRIu64 " has "
                         "lineno %" PRIu64 ", more than 32 bits", i, v);
        s->frames[i].lineno = (uint32_t)v;
    }
    return finish(c);
}

static int
decode_frame_ids(struct cur *c, struct pytm_snap *s)
{
    uint64_t n = 0, v = 0;
    int rc = get_count(c, PYTM_DUMP_MAX_FRAME_IDS, 1, &n);
    if (rc || (rc = alloc_array(c, (void **)&s->frame_ids, n, 4)))
        return rc;
    s->n_frame_ids = (uint32_t)n;
    int64_t prev = 0;
    for (uint64_t i = 0; i < n; i++) {
        if ((rc = get(c, &v, "frame id", i)))
            return rc;
        int64_t id = prev + pytm_le_unzigzag(v); /* |delta| < 2^63 */
        if (id < 0 || id >= (int64_t)s->n_frames)
            return index_fail(c, "frame id", i, id, s->n_frames, "frames");
        s->frame_ids[i] = (uint32_t)id;
        prev = id;
    }
    return finish(c);
}

/* Reads column `what` of n tracebacks: value v of entry i -> `store`. */
#define TB_COLUMN(what, store)                              \
    for (uint64_t i = 0; i < n; i++) {                      \
        if ((rc = get(c, &v, what, i)))                     \
            return rc;                                      \
        store;                                              \
    }

static int
decode_tbs(struct cur *c, struct pytm_snap *s)
{
    uint64_t n = 0, v = 0;
    int rc = get_count(c, PYTM_DUMP_MAX_TBS, PYTM_DUMP_TB_COLUMNS, &n);
    if (rc || (rc = alloc_array(c, (void **)&s->tbs, n, sizeof(*s->tbs))))
        return rc;
    s->n_tbs = (uint32_t)n;
    struct pytm_snap_tb *t = s->tbs;
    TB_COLUMN("tb nframe", if (v > UINT32_MAX) return index_fail(
                  c, "nframe", i, (int64_t)v, UINT32_MAX, "allowed");
              t[i].nframe = (uint32_t)v)
    int64_t next = 0; /* where the previous frame list ended */
    TB_COLUMN("tb frames_at", int64_t at = next + pytm_le_unzigzag(v);
              if (at < 0 || at > (int64_t)s->n_frame_ids ||
                  t[i].nframe > s->n_frame_ids - (uint64_t)at)
                  return cfail(c, PYTM_E_DUMPCORRUPT, "entry %" PRIu64
                               " lists frames [%" PRId64 ", +%" PRIu32
                               "), outside the %" PRIu32 " frame ids", i,
                               at, t[i].nframe, s->n_frame_ids);
              t[i].frames_at = (uint32_t)at; next = at + t[i].nframe)
    TB_COLUMN("tb total_nframe", int64_t tot =
                  (int64_t)t[i].nframe + pytm_le_unzigzag(v);
              if (tot < 0 || tot > UINT32_MAX) return index_fail(
                  c, "total_nframe", i, tot, UINT32_MAX, "allowed");
              t[i].total_nframe = (uint32_t)tot)
    TB_COLUMN("tb size", t[i].size = pytm_le_unzigzag(v))
    TB_COLUMN("tb count", t[i].count = pytm_le_unzigzag(v))
    TB_COLUMN("tb samples", t[i].samples = pytm_le_unzigzag(v))
    TB_COLUMN("tb alloc_size", t[i].alloc_size = v)
    TB_COLUMN("tb alloc_count", t[i].alloc_count = v)
    TB_COLUMN("tb alloc_samples", t[i].alloc_samples = v)
    return finish(c);
}

static int
decode_traces(struct cur *c, struct pytm_snap *s)
{
    uint64_t n = 0, v = 0;
    int rc = get_count(c, PYTM_DUMP_MAX_TRACES, PYTM_DUMP_TRACES_COLUMNS, &n);
    if (rc || (rc = alloc_array(c, (void **)&s->traces, n,
                                sizeof(*s->traces))))
        return rc;
    s->n_traces = n;
    struct pytm_snap_trace *t = s->traces;
    TB_COLUMN("trace size", t[i].size = v)
    TB_COLUMN("trace est_size",
              t[i].est_size = (int64_t)(t[i].size +
                                        (uint64_t)pytm_le_unzigzag(v)))
    TB_COLUMN("trace est_count",
              t[i].est_count = (int64_t)(1u + (uint64_t)pytm_le_unzigzag(v)))
    int64_t prev = 0;
    TB_COLUMN("trace tb", int64_t tb = prev + pytm_le_unzigzag(v);
              if (tb < 0 || tb >= (int64_t)s->n_tbs) return index_fail(
                  c, "tb", i, tb, s->n_tbs, "tracebacks");
              t[i].tb = (uint32_t)tb; prev = tb)
    TB_COLUMN("trace domain", if (v > UINT32_MAX) return index_fail(
                  c, "domain", i, (int64_t)v, UINT32_MAX, "allowed");
              t[i].domain = (uint32_t)v)
    return finish(c);
}
#undef TB_COLUMN

typedef int (*decode_fn)(struct cur *, struct pytm_snap *);

static int
decode_all(struct dec *d, struct pytm_snap *s)
{
    static const decode_fn fns[PYTM_DUMP_SEC_MAX_KNOWN + 1] = {
        [PYTM_DUMP_SEC_META] = decode_meta,
        [PYTM_DUMP_SEC_TOTALS] = decode_totals,
        [PYTM_DUMP_SEC_STRINGS] = decode_strings,
        [PYTM_DUMP_SEC_FRAMES] = decode_frames,
        [PYTM_DUMP_SEC_FRAME_IDS] = decode_frame_ids,
        [PYTM_DUMP_SEC_TRACEBACKS] = decode_tbs,
        [PYTM_DUMP_SEC_TRACES] = decode_traces,
    };
    for (uint32_t id = 1; id <= PYTM_DUMP_SEC_MAX_KNOWN; id++) {
        if (id == PYTM_DUMP_SEC_TRACES) {
            bool want = s->meta.flags & PYTM_SNAP_HAS_TRACES;
            if (want != d->have[id])
                return fail(d, PYTM_E_DUMPCORRUPT, (int)id,
                            PYTM_DUMP_HDR_N_SECTIONS,
                            want ? "missing section 'traces' although meta "
                                   "flags include HAS_TRACES"
                                 : "section 'traces' present although meta "
                                   "flags lack HAS_TRACES");
            if (!want)
                break;
        }
        uint8_t *raw = NULL;
        int rc = inflate(d, id, &raw);
        if (rc)
            return rc;
        struct cur c = {d, id, raw, raw, raw + d->known[id].raw};
        rc = fns[id](&c, s);
        free(raw);
        if (rc)
            return rc;
    }
    if (pytm_snap_validate(s) != 0)
        return fail(d, PYTM_E_DUMPCORRUPT, 0, 0,
                    "decoded snapshot fails pytm_snap_validate");
    return 0;
}

int
pytm_dump_read_mem_flags(const void *buf, size_t len, unsigned flags,
                         struct pytm_snap *out, struct pytm_dump_error *err)
{
    struct dec d;
    memset(&d, 0, sizeof(d));
    d.buf = buf;
    d.len = buf ? len : 0;
    d.flags = flags;
    d.err = err;
    if (err)
        memset(err, 0, sizeof(*err));
    if (!out)
        return fail(&d, PYTM_E_INVAL, 0, 0, "NULL output snapshot");
    pytm_snap_init(out);
    if (d.len == 0)
        return fail(&d, PYTM_E_TRUNCATED, 0, 0,
                    "truncated: file is empty (0 bytes)");
    int rc = parse_container(&d);
    if (rc)
        return rc;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d.dctx, LZ4F_VERSION)))
        return fail(&d, PYTM_E_NOMEM, 0, 0, "cannot create LZ4 context");
    rc = decode_all(&d, out);
    LZ4F_freeDecompressionContext(d.dctx);
    if (rc)
        pytm_snap_free(out);
    return rc;
}

int
pytm_dump_read_mem(const void *buf, size_t len, struct pytm_snap *out,
                   struct pytm_dump_error *err)
{
    return pytm_dump_read_mem_flags(buf, len, 0, out, err);
}

/* Reads all of fd (at most cap bytes) into a new buffer. */
static int
slurp(struct dec *d, const char *path, int fd, uint8_t **out, size_t *out_len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return fail(d, PYTM_E_IO, 0, 0, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return fail(d, PYTM_E_IO, 0, 0, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > PYTM_DUMP_MAX_FILE_SIZE)
        return fail(d, PYTM_E_TOOBIG, 0, 0, "%s: %lld bytes, more than "
                    "the %" PRIu64 " allowed", path,
                    (long long)st.st_size, PYTM_DUMP_MAX_FILE_SIZE);
    size_t cap = (size_t)st.st_size, len = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return fail(d, PYTM_E_NOMEM, 0, 0, "%s: out of memory", path);
    while (len < cap) { /* a file that shrinks meanwhile reads short */
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int saved = errno;
            free(buf);
            fail(d, PYTM_E_IO, 0, len, "%s: %s", path, strerror(saved));
            errno = saved;
            return PYTM_E_IO;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int
pytm_dump_read(const char *path, struct pytm_snap *out,
               struct pytm_dump_error *err)
{
    struct dec d = {.err = err};
    if (err)
        memset(err, 0, sizeof(*err));
    if (out)
        pytm_snap_init(out);
    if (!path || !out)
        return fail(&d, PYTM_E_INVAL, 0, 0, "NULL path or snapshot");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int saved = errno;
        fail(&d, PYTM_E_IO, 0, 0, "%s: %s", path, strerror(saved));
        errno = saved;
        return PYTM_E_IO;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = slurp(&d, path, fd, &buf, &len);
    int saved = errno;
    close(fd);
    errno = saved;
    if (rc)
        return rc;
    rc = pytm_dump_read_mem(buf, len, out, err);
    free(buf);
    return rc;
}
