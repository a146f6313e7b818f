/* dump/dump_sections: decoding the payload of each known section into a
 * struct pytm_snap (step 5 of the specification in dump_read.c; the
 * payload layouts are documented in dump_write.c). */
#include "dump_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "pytm_error.h"
#include "snap.h"

/* A read position inside one section's decompressed payload. */
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

/* The six aggregate columns of a traceback or a split. */
#define AGG_COLUMNS(what, arr)                                         \
    TB_COLUMN(what " size", (arr)[i].size = pytm_le_unzigzag(v))       \
    TB_COLUMN(what " count", (arr)[i].count = pytm_le_unzigzag(v))     \
    TB_COLUMN(what " samples", (arr)[i].samples = pytm_le_unzigzag(v)) \
    TB_COLUMN(what " alloc_size", (arr)[i].alloc_size = v)             \
    TB_COLUMN(what " alloc_count", (arr)[i].alloc_count = v)           \
    TB_COLUMN(what " alloc_samples", (arr)[i].alloc_samples = v)

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
    AGG_COLUMNS("tb", t)
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

/* THREADS (v1.1): identities, their pthread names, splits, counters.
 * Hostile input: every index is checked against the tables it names. */
static int
decode_threads(struct cur *c, struct pytm_snap *s)
{
    uint64_t n = 0, v = 0;
    int rc = get_count(c, PYTM_DUMP_MAX_THREADS, PYTM_DUMP_THREAD_COLUMNS,
                       &n);
    if (rc || (rc = alloc_array(c, (void **)&s->threads, n,
                                sizeof(*s->threads))))
        return rc;
    s->n_threads = (uint32_t)n;
    struct pytm_snap_thread *t = s->threads;
    TB_COLUMN("thread tid", int64_t tid = pytm_le_unzigzag(v);
              if (tid < INT32_MIN || tid > INT32_MAX) return index_fail(
                  c, "tid", i, tid, INT32_MAX, "allowed");
              t[i].tid = tid)
    TB_COLUMN("thread ident", t[i].ident = v)
    TB_COLUMN("thread py_name", if (v > s->n_strings) return index_fail(
                  c, "py_name", i, (int64_t)v - 1, s->n_strings, "strings");
              t[i].py_name = v ? (uint32_t)(v - 1) : PYTM_SNAP_NO_NAME)
    uint64_t name_bytes = 0;
    TB_COLUMN("thread os_name length", if (v > PYTM_DUMP_MAX_OS_NAME)
                  return index_fail(c, "os_name length", i, (int64_t)v,
                                    PYTM_DUMP_MAX_OS_NAME, "allowed");
              t[i].os_name[PYTM_DUMP_MAX_OS_NAME] = (char)v;
              name_bytes += v)
    if (name_bytes > (uint64_t)(c->end - c->p))
        return cfail(c, PYTM_E_DUMPCORRUPT, "declares %" PRIu64 " bytes of "
                     "thread names, but only %zu remain", name_bytes,
                     (size_t)(c->end - c->p));
    for (uint64_t i = 0; i < n; i++) {
        size_t len = (size_t)(unsigned char)t[i].os_name[PYTM_DUMP_MAX_OS_NAME];
        memset(t[i].os_name, 0, sizeof t[i].os_name);
        if (memchr(c->p, 0, len))
            return cfail(c, PYTM_E_DUMPCORRUPT, "thread %" PRIu64 " has a "
                         "NUL byte inside its name", i);
        memcpy(t[i].os_name, c->p, len);
        c->p += len;
    }
    uint64_t m = 0;
    rc = get_count(c, PYTM_DUMP_MAX_SPLITS, PYTM_DUMP_SPLIT_COLUMNS, &m);
    if (rc || (rc = alloc_array(c, (void **)&s->splits, m,
                                sizeof(*s->splits))))
        return rc;
    s->n_splits = m;
    struct pytm_snap_split *sp = s->splits;
    n = m; /* TB_COLUMN's count */
    int64_t prev = 0;
    TB_COLUMN("split tb", int64_t tb = prev + pytm_le_unzigzag(v);
              if (tb < 0 || tb >= (int64_t)s->n_tbs) return index_fail(
                  c, "tb", i, tb, s->n_tbs, "tracebacks");
              sp[i].tb = (uint32_t)tb; prev = tb)
    TB_COLUMN("split thread", if (v > s->n_threads) return index_fail(
                  c, "thread", i, (int64_t)v, s->n_threads, "threads");
              sp[i].thread = (uint32_t)v)
    AGG_COLUMNS("split", sp)
    if ((rc = get(c, &s->totals.threads_unknown, "threads_unknown", 0))
        || (rc = get(c, &s->totals.stacks_folded, "stacks_folded", 0)))
        return rc;
    return finish(c);
}
#undef AGG_COLUMNS
#undef TB_COLUMN

typedef int (*decode_fn)(struct cur *, struct pytm_snap *);

int
pytm_dump_decode_sections_(struct dec *d, struct pytm_snap *s)
{
    static const decode_fn fns[PYTM_DUMP_SEC_MAX_KNOWN + 1] = {
        [PYTM_DUMP_SEC_META] = decode_meta,
        [PYTM_DUMP_SEC_TOTALS] = decode_totals,
        [PYTM_DUMP_SEC_STRINGS] = decode_strings,
        [PYTM_DUMP_SEC_FRAMES] = decode_frames,
        [PYTM_DUMP_SEC_FRAME_IDS] = decode_frame_ids,
        [PYTM_DUMP_SEC_TRACEBACKS] = decode_tbs,
        [PYTM_DUMP_SEC_TRACES] = decode_traces,
        [PYTM_DUMP_SEC_THREADS] = decode_threads,
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
                continue;
        }
        if (id == PYTM_DUMP_SEC_THREADS && !d->have[id])
            continue; /* optional: a v1.0 file, or no per-thread figures */
        uint8_t *raw = NULL;
        int rc = pytm_dump_inflate_(d, id, &raw);
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
