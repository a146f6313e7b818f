/* dump/dump_write: the .pytm encoder (format: docs/dump-format.md).
 *
 * Each section payload is encoded into a scratch buffer, compressed as
 * one LZ4 frame straight into the output buffer, and described by a
 * table entry; the header and table are filled in last, CRC included.
 * Nothing is written to disk until the whole image exists in memory, and
 * then it goes through a temporary file + fsync + rename (dump_file.c).
 *
 * ENCODING of the varint sections (columnar: a column of one field for
 * every entry, then the next column; LZ4 then squeezes the constant
 * columns, e.g. est_count in exact mode, to almost nothing):
 *
 *   TRACES, exact mode, two traces of 64 and 4096 bytes on tbs 3 and 3:
 *     count       02
 *     size        40 | 80 20            varint 64 | varint 4096
 *     est_size    00 | 00               zigzag(est_size - size)
 *     est_count   00 | 00               zigzag(est_count - 1)
 *     tb          06 | 00               zigzag(tb - previous tb)
 *     domain      00 | 00               varint
 *   = 12 bytes raw for 2 traces; about 3 bytes/trace once compressed.
 */
#include "dump.h"

#include <inttypes.h>
#include <lz4frame.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "pytm/dump_format.h"
#include "pytm_error.h"

struct buf {
    uint8_t *p;
    size_t len, cap;
};

/* Everything the encoder carries between sections. */
struct enc {
    struct buf out;   /* header + table + stored sections */
    struct buf raw;   /* scratch: the payload being encoded */
    uint32_t n_sections;
    uint8_t table[PYTM_DUMP_MAX_SECTIONS * PYTM_DUMP_ENTRY_SIZE];
    struct pytm_dump_error *err;
};

/* The encoder's errors name no file offset. */
static int __attribute__((format(printf, 4, 5)))
fail(struct pytm_dump_error *err, int code, int section, const char *fmt,
     ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->section = section;
        err->offset = 0;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

static int
buf_reserve(struct buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return PYTM_E_NOMEM;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return PYTM_E_NOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Appends one column of n varints; value(i) is the expression. */
#define PUT_COLUMN(e, n, value)                                          \
    do {                                                                 \
        if ((n) > SIZE_MAX / PYTM_DUMP_VARINT_MAX ||                     \
            buf_reserve(&(e)->raw, (size_t)(n) * PYTM_DUMP_VARINT_MAX))  \
            return PYTM_E_NOMEM;                                         \
        uint8_t *w_ = (e)->raw.p + (e)->raw.len;                         \
        for (uint64_t i = 0; i < (n); i++)                               \
            w_ += pytm_le_put_varint(w_, (value));                       \
        (e)->raw.len = (size_t)(w_ - (e)->raw.p);                        \
    } while (0)

/* The six aggregate columns of a traceback or a split (arr[i] has the
 * fields of struct pytm_snap_tb's live and cumulative aggregates). */
#define PUT_AGGREGATES(e, n, arr)                        \
    do {                                                 \
        PUT_COLUMN(e, n, pytm_le_zigzag((arr)[i].size)); \
        PUT_COLUMN(e, n, pytm_le_zigzag((arr)[i].count)); \
        PUT_COLUMN(e, n, pytm_le_zigzag((arr)[i].samples)); \
        PUT_COLUMN(e, n, (arr)[i].alloc_size);           \
        PUT_COLUMN(e, n, (arr)[i].alloc_count);          \
        PUT_COLUMN(e, n, (arr)[i].alloc_samples);        \
    } while (0)

static int
put_count(struct enc *e, uint64_t n)
{
    PUT_COLUMN(e, 1, n);
    return 0;
}

static int
encode_meta(struct enc *e, const struct pytm_snap *s)
{
    const char *cmd = s->meta.cmdline ? s->meta.cmdline : "";
    size_t len = strlen(cmd);
    if (len > PYTM_DUMP_MAX_CMDLINE)
        return fail(e->err, PYTM_E_TOOBIG, PYTM_DUMP_SEC_META,
                    "cmdline is %zu bytes, more than the %u allowed", len,
                    (unsigned)PYTM_DUMP_MAX_CMDLINE);
    if (buf_reserve(&e->raw, PYTM_DUMP_META_FIXED_SIZE + len))
        return PYTM_E_NOMEM;
    uint8_t *p = e->raw.p;
    pytm_le_put64(p + PYTM_DUMP_META_PID, (uint64_t)s->meta.pid);
    pytm_le_put64(p + PYTM_DUMP_META_START_NS, s->meta.start_realtime_ns);
    pytm_le_put64(p + PYTM_DUMP_META_TAKEN_NS, s->meta.taken_realtime_ns);
    pytm_le_put64(p + PYTM_DUMP_META_INTERVAL, s->meta.sample_interval);
    pytm_le_put32(p + PYTM_DUMP_META_NFRAME, s->meta.nframe);
    pytm_le_put32(p + PYTM_DUMP_META_FLAGS, s->meta.flags);
    pytm_le_put32(p + PYTM_DUMP_META_CMDLINE_LEN, (uint32_t)len);
    memcpy(p + PYTM_DUMP_META_CMDLINE, cmd, len);
    e->raw.len = PYTM_DUMP_META_FIXED_SIZE + len;
    return 0;
}

static int
encode_totals(struct enc *e, const struct pytm_snap *s)
{
    const struct pytm_snap_totals *t = &s->totals;
    const uint64_t v[PYTM_DUMP_TOTALS_FIELDS] = {
        (uint64_t)t->traced_current, (uint64_t)t->traced_peak,
        t->n_allocs, t->n_samples, t->n_frees, t->n_dropped,
        t->live_samples, t->clear_epoch,
    };
    if (buf_reserve(&e->raw, PYTM_DUMP_TOTALS_SIZE))
        return PYTM_E_NOMEM;
    for (unsigned i = 0; i < PYTM_DUMP_TOTALS_FIELDS; i++)
        pytm_le_put64(e->raw.p + 8 * i, v[i]);
    e->raw.len = PYTM_DUMP_TOTALS_SIZE;
    return 0;
}

static int
encode_strings(struct enc *e, const struct pytm_snap *s)
{
    uint64_t n = s->n_strings, total = 0;
    if (n > PYTM_DUMP_MAX_STRINGS)
        return fail(e->err, PYTM_E_TOOBIG, PYTM_DUMP_SEC_STRINGS,
                    "%" PRIu64 " strings, more than the %u allowed", n,
                    (unsigned)PYTM_DUMP_MAX_STRINGS);
    for (uint64_t i = 0; i < n; i++) {
        if (s->str_len[i] > PYTM_DUMP_MAX_STRING_LEN)
            return fail(e->err, PYTM_E_TOOBIG, PYTM_DUMP_SEC_STRINGS,
                        "string %" PRIu64 " is %u bytes, more than the %u "
                        "allowed", i, s->str_len[i],
                        (unsigned)PYTM_DUMP_MAX_STRING_LEN);
        total += s->str_len[i];
    }
    if (put_count(e, n))
        return PYTM_E_NOMEM;
    PUT_COLUMN(e, n, s->str_len[i]);
    if (total > PYTM_DUMP_MAX_RAW_SIZE || buf_reserve(&e->raw, total))
        return total > PYTM_DUMP_MAX_RAW_SIZE
                   ? fail(e->err, PYTM_E_TOOBIG, PYTM_DUMP_SEC_STRINGS,
                          "strings hold %" PRIu64 " bytes, more than a "
                          "section may", total)
                   : PYTM_E_NOMEM;
    for (uint64_t i = 0; i < n; i++) {
        memcpy(e->raw.p + e->raw.len, s->str_pool + s->str_off[i],
               s->str_len[i]);
        e->raw.len += s->str_len[i];
    }
    return 0;
}

static int
encode_frames(struct enc *e, const struct pytm_snap *s)
{
    uint64_t n = s->n_frames;
    if (n > PYTM_DUMP_MAX_FRAMES)
        return fail(e->err, PYTM_E_TOOBIG, PYTM_DUMP_SEC_FRAMES,
                    "%" PRIu64 " frames, more than the %u allowed", n,
                    (unsigned)PYTM_DUMP_MAX_FRAMES);
    if (put_count(e, n))
        return PYTM_E_NOMEM;
    PUT_COLUMN(e, n, s->frames[i].filename);
    PUT_COLUMN(e, n, s->frames[i].lineno);
    return 0;
}

static int
encode_frame_ids(struct enc *e, const struct pytm_snap *s)
{
    uint64_t n = s->n_frame_ids;
    if (n > PYTM_DUMP_MAX_FRAME_IDS)
        return fail(e->err, PYTM_E_TOOBIG, PYTM_DUMP_SEC_FRAME_IDS,
                    "%" PRIu64 " frame ids, more than the %u allowed", n,
                    (unsigned)PYTM_DUMP_MAX_FRAME_IDS);
    if (put_count(e, n))
        return PYTM_E_NOMEM;
    PUT_COLUMN(e, n,
               pytm_le_zigzag((int64_t)s->frame_ids[i] -
                              (i ? (int64_t)s->frame_ids[i - 1] : 0)));
    return 0;
}

static int
encode_tbs(struct enc *e, const struct pytm_snap *s)
{
    const struct pytm_snap_tb *t = s->tbs;
    uint64_t n = s->n_tbs;
    if (n > PYTM_DUMP_MAX_TBS)
        return fail(e->err, PYTM_E_TOOBIG, PYTM_DUMP_SEC_TRACEBACKS,
                    "%" PRIu64 " tracebacks, more than the %u allowed", n,
                    (unsigned)PYTM_DUMP_MAX_TBS);
    if (put_count(e, n))
        return PYTM_E_NOMEM;
    PUT_COLUMN(e, n, t[i].nframe);
    /* frames_at relative to where the previous list ended: usually 0 */
    PUT_COLUMN(e, n,
               pytm_le_zigzag((int64_t)t[i].frames_at -
                              (i ? (int64_t)t[i - 1].frames_at +
                                       t[i - 1].nframe
                                 : 0)));
    PUT_COLUMN(e, n,
               pytm_le_zigzag((int64_t)t[i].total_nframe - t[i].nframe));
    PUT_AGGREGATES(e, n, t);
    return 0;
}

static int
encode_traces(struct enc *e, const struct pytm_snap *s)
{
    const struct pytm_snap_trace *t = s->traces;
    uint64_t n = s->n_traces;
    if (n > PYTM_DUMP_MAX_TRACES)
        return fail(e->err, PYTM_E_TOOBIG, PYTM_DUMP_SEC_TRACES,
                    "%" PRIu64 " traces, more than the %" PRIu64 " allowed",
                    n, PYTM_DUMP_MAX_TRACES);
    if (put_count(e, n))
        return PYTM_E_NOMEM;
    PUT_COLUMN(e, n, t[i].size);
    PUT_COLUMN(e, n, pytm_le_zigzag((int64_t)((uint64_t)t[i].est_size -
                                              t[i].size)));
    PUT_COLUMN(e, n, pytm_le_zigzag((int64_t)((uint64_t)t[i].est_count -
                                              1u)));
    PUT_COLUMN(e, n,
               pytm_le_zigzag((int64_t)t[i].tb -
                              (i ? (int64_t)t[i - 1].tb : 0)));
    PUT_COLUMN(e, n, t[i].domain);
    return 0;
}

/* THREADS (v1.1, docs/dump-format.md): the identities, their pthread
 * names' bytes, the splits, then the two per-thread counters. */
static int
encode_threads(struct enc *e, const struct pytm_snap *s)
{
    const struct pytm_snap_thread *t = s->threads;
    const struct pytm_snap_split *p = s->splits;
    uint64_t n = s->n_threads, m = s->n_splits;
    if (n > PYTM_DUMP_MAX_THREADS || m > PYTM_DUMP_MAX_SPLITS)
        return fail(e->err, PYTM_E_TOOBIG, PYTM_DUMP_SEC_THREADS,
                    "%" PRIu64 " threads / %" PRIu64 " splits, more than "
                    "the %u / %" PRIu64 " allowed", n, m,
                    PYTM_DUMP_MAX_THREADS, PYTM_DUMP_MAX_SPLITS);
    if (put_count(e, n))
        return PYTM_E_NOMEM;
    PUT_COLUMN(e, n, pytm_le_zigzag(t[i].tid));
    PUT_COLUMN(e, n, t[i].ident);
    PUT_COLUMN(e, n,
               t[i].py_name == PYTM_SNAP_NO_NAME ? 0u
                                                 : (uint64_t)t[i].py_name + 1);
    PUT_COLUMN(e, n, strnlen(t[i].os_name, PYTM_DUMP_MAX_OS_NAME));
    for (uint64_t i = 0; i < n; i++) {
        size_t len = strnlen(t[i].os_name, PYTM_DUMP_MAX_OS_NAME);
        if (buf_reserve(&e->raw, len))
            return PYTM_E_NOMEM;
        memcpy(e->raw.p + e->raw.len, t[i].os_name, len);
        e->raw.len += len;
    }
    if (put_count(e, m))
        return PYTM_E_NOMEM;
    PUT_COLUMN(e, m,
               pytm_le_zigzag((int64_t)p[i].tb -
                              (i ? (int64_t)p[i - 1].tb : 0)));
    PUT_COLUMN(e, m, p[i].thread);
    PUT_AGGREGATES(e, m, p);
    if (put_count(e, s->totals.threads_unknown)
        || put_count(e, s->totals.stacks_folded))
        return PYTM_E_NOMEM;
    return 0;
}

/* Compresses e->raw as section `id` onto the end of e->out. */
static int
add_section(struct enc *e, uint32_t id)
{
    if (e->raw.len > PYTM_DUMP_MAX_RAW_SIZE)
        return fail(e->err, PYTM_E_TOOBIG, (int)id,
                    "section '%s' is %zu bytes, more than the %" PRIu64
                    " allowed", pytm_dump_section_name(id), e->raw.len,
                    PYTM_DUMP_MAX_RAW_SIZE);
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max256KB;
    prefs.frameInfo.blockMode = LZ4F_blockLinked;
    prefs.frameInfo.contentSize = e->raw.len;
    size_t bound = LZ4F_compressFrameBound(e->raw.len, &prefs);
    if (buf_reserve(&e->out, bound))
        return PYTM_E_NOMEM;
    uint8_t *dst = e->out.p + e->out.len;
    size_t stored = LZ4F_compressFrame(dst, bound, e->raw.p, e->raw.len,
                                       &prefs);
    if (LZ4F_isError(stored))
        return fail(e->err, PYTM_E_LZ4, (int)id,
                    "compressing section '%s': %s",
                    pytm_dump_section_name(id), LZ4F_getErrorName(stored));
    uint8_t *ent = e->table + (size_t)e->n_sections * PYTM_DUMP_ENTRY_SIZE;
    memset(ent, 0, PYTM_DUMP_ENTRY_SIZE);
    pytm_le_put32(ent + PYTM_DUMP_ENT_ID, id);
    pytm_le_put16(ent + PYTM_DUMP_ENT_CODEC, PYTM_DUMP_CODEC_LZ4F);
    pytm_le_put64(ent + PYTM_DUMP_ENT_OFFSET, e->out.len);
    pytm_le_put64(ent + PYTM_DUMP_ENT_STORED_SIZE, stored);
    pytm_le_put64(ent + PYTM_DUMP_ENT_RAW_SIZE, e->raw.len);
    pytm_le_put32(ent + PYTM_DUMP_ENT_CRC, pytm_dump_crc32(0, dst, stored));
    e->n_sections++;
    e->out.len += stored;
    e->raw.len = 0;
    return 0;
}

typedef int (*encode_fn)(struct enc *, const struct pytm_snap *);

static int
encode_all(struct enc *e, const struct pytm_snap *s)
{
    static const struct {
        uint32_t id;
        encode_fn fn;
    } order[] = {
        {PYTM_DUMP_SEC_META, encode_meta},
        {PYTM_DUMP_SEC_TOTALS, encode_totals},
        {PYTM_DUMP_SEC_STRINGS, encode_strings},
        {PYTM_DUMP_SEC_FRAMES, encode_frames},
        {PYTM_DUMP_SEC_FRAME_IDS, encode_frame_ids},
        {PYTM_DUMP_SEC_TRACEBACKS, encode_tbs},
        {PYTM_DUMP_SEC_TRACES, encode_traces},
        {PYTM_DUMP_SEC_THREADS, encode_threads},
    };
    size_t table = PYTM_DUMP_MAX_SECTIONS * PYTM_DUMP_ENTRY_SIZE;
    int rc = buf_reserve(&e->out, PYTM_DUMP_HEADER_SIZE + table);
    if (rc)
        return rc;
    e->n_sections = 0;
    /* the optional sections, each written only when it has content */
    bool traces = s->meta.flags & PYTM_SNAP_HAS_TRACES;
    bool threads = s->n_threads != 0 || s->n_splits != 0
                   || s->totals.threads_unknown != 0
                   || s->totals.stacks_folded != 0;
    size_t n_all = sizeof(order) / sizeof(order[0]);
    size_t n = n_all - !traces - !threads;
    /* the table's final size is known up front: sections follow it */
    e->out.len = PYTM_DUMP_HEADER_SIZE + n * PYTM_DUMP_ENTRY_SIZE;
    for (size_t i = 0; i < n_all; i++) {
        if ((order[i].id == PYTM_DUMP_SEC_TRACES && !traces)
            || (order[i].id == PYTM_DUMP_SEC_THREADS && !threads))
            continue;
        if ((rc = order[i].fn(e, s)) || (rc = add_section(e, order[i].id)))
            return rc;
    }
    uint8_t *h = e->out.p;
    memset(h, 0, PYTM_DUMP_HEADER_SIZE);
    memcpy(h + PYTM_DUMP_HDR_MAGIC, PYTM_DUMP_MAGIC, PYTM_DUMP_MAGIC_SIZE);
    pytm_le_put32(h + PYTM_DUMP_HDR_ENDIAN, PYTM_DUMP_ENDIAN_TAG);
    pytm_le_put16(h + PYTM_DUMP_HDR_MAJOR, PYTM_DUMP_VERSION_MAJOR);
    /* v1.0 unless the file needs v1.1 (a `threads` section) */
    pytm_le_put16(h + PYTM_DUMP_HDR_MINOR,
                  threads ? PYTM_DUMP_MINOR_THREADS : 0u);
    pytm_le_put32(h + PYTM_DUMP_HDR_HEADER_SIZE, PYTM_DUMP_HEADER_SIZE);
    pytm_le_put32(h + PYTM_DUMP_HDR_FLAGS, 0);
    pytm_le_put64(h + PYTM_DUMP_HDR_FILE_SIZE, e->out.len);
    pytm_le_put32(h + PYTM_DUMP_HDR_N_SECTIONS, e->n_sections);
    pytm_le_put32(h + PYTM_DUMP_HDR_ENTRY_SIZE, PYTM_DUMP_ENTRY_SIZE);
    size_t tlen = (size_t)e->n_sections * PYTM_DUMP_ENTRY_SIZE;
    memcpy(h + PYTM_DUMP_HEADER_SIZE, e->table, tlen);
    pytm_le_put32(h + PYTM_DUMP_HDR_CRC,
                  pytm_dump_crc32(0, h, PYTM_DUMP_HEADER_SIZE + tlen));
    return 0;
}

int
pytm_dump_write_mem(const struct pytm_snap *s, void **out, size_t *out_len,
                    struct pytm_dump_error *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
    if (!out || !out_len)
        return fail(err, PYTM_E_INVAL, 0, "NULL output pointer");
    *out = NULL;
    *out_len = 0;
    if (!s || pytm_snap_validate(s) != 0)
        return fail(err, PYTM_E_INVAL, 0,
                    "snapshot fails pytm_snap_validate, not written");
    struct enc *e = calloc(1, sizeof(*e));
    if (!e)
        return fail(err, PYTM_E_NOMEM, 0, "out of memory");
    e->err = err;
    int rc = encode_all(e, s);
    free(e->raw.p);
    if (rc) {
        free(e->out.p);
        free(e);
        if (rc == PYTM_E_NOMEM)
            return fail(err, rc, 0, "out of memory while encoding");
        return rc; /* message already set */
    }
    uint8_t *p = realloc(e->out.p, e->out.len); /* shrink; may fail */
    *out = p ? p : e->out.p;
    *out_len = e->out.len;
    free(e);
    return 0;
}
