/* dump/dump_container: the container of a .pytm file -- header, section
 * table, checksums: steps 1-3 of the specification in dump_read.c. */
#include "dump_int.h"

#include <inttypes.h>
#include <string.h>

#include "le.h"
#include "pytm_error.h"

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
        d->minor = minor;
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
    if (s->id == PYTM_DUMP_SEC_THREADS && d->minor < PYTM_DUMP_MINOR_THREADS)
        return fail(d, PYTM_E_DUMPCORRUPT, id, s->entry_at,
                    "section 'threads' in a v1.%u file (defined from v1.%u)",
                    d->minor, PYTM_DUMP_MINOR_THREADS);
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

int
pytm_dump_parse_container_(struct dec *d)
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
