#include "dump_testlib.h"

#include <inttypes.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "le.h"
#include "pytm/dump_format.h"
#include "pytm_error.h"

#define TRY(x)                \
    do {                      \
        int rc_ = (x);        \
        if (rc_)              \
            return rc_;       \
    } while (0)

int
dt_build_small(struct pytm_snap *s)
{
    static const char *const str[] = {
        "demo.py",
        "/usr/lib/python3.11/json/__init__.py",
        "m\xc3\xb3" "dulo_\xc3\xbc\xe2\x82\xac.py", /* módulo_ü€.py */
        "<frozen importlib._bootstrap>",
        "", /* an empty string */
    };
    static const char odd[] = {'\x01', '\xff', '\0', 'x', '\x7f', '\x80'};
    pytm_snap_init(s);
    s->meta.pid = 4242;
    s->meta.start_realtime_ns = UINT64_C(1700000000123456789);
    s->meta.taken_realtime_ns = UINT64_C(1700000042987654321);
    s->meta.sample_interval = 4096;
    s->meta.nframe = 3;
    s->meta.flags = PYTM_SNAP_EXITED;
    s->meta.cmdline = strdup("python3 demo.py --size 10 \xce\xbb");
    if (!s->meta.cmdline)
        return -1;
    s->totals = (struct pytm_snap_totals){
        .traced_current = 123456, .traced_peak = 999999,
        .n_allocs = 1000000, .n_samples = 321, .n_frees = 200,
        .n_dropped = 3, .live_samples = 121, .clear_epoch = 2,
    };
    uint32_t idx, f[6];
    for (size_t i = 0; i < sizeof(str) / sizeof(str[0]); i++)
        TRY(pytm_snap_add_string(s, str[i], strlen(str[i]), &idx));
    TRY(pytm_snap_add_string(s, odd, sizeof(odd), &idx));
    TRY(pytm_snap_add_frame(s, 0, 12, &f[0]));
    TRY(pytm_snap_add_frame(s, 1, 321, &f[1]));
    TRY(pytm_snap_add_frame(s, 2, 0, &f[2]));
    TRY(pytm_snap_add_frame(s, 3, UINT32_MAX, &f[3]));
    TRY(pytm_snap_add_frame(s, 5, 7, &f[4]));
    uint32_t tb0[] = {f[0], f[1], f[2]};
    uint32_t tb2[] = {f[3], f[0]};
    uint32_t tb3[] = {f[4]};
    TRY(pytm_snap_add_tb(s, tb0, 3, 57, &idx)); /* cut-off stack */
    TRY(pytm_snap_add_tb(s, NULL, 0, 0, &idx)); /* no Python frame */
    TRY(pytm_snap_add_tb(s, tb2, 2, 2, &idx));
    TRY(pytm_snap_add_tb(s, tb3, 1, 1, &idx));
    s->tbs[0].alloc_size = UINT64_MAX;
    s->tbs[0].alloc_count = 77;
    s->tbs[0].alloc_samples = 5;
    s->tbs[1].alloc_size = 8192;
    s->tbs[3].alloc_count = 1;
    struct pytm_snap_trace t[] = {
        {.size = 64, .est_size = 4096, .est_count = 64, .tb = 0},
        {.size = 100000, .est_size = 100000, .est_count = 1, .tb = 0},
        {.size = 4096, .est_size = 4096, .est_count = 1, .tb = 2,
         .domain = 7},
        {.size = 1, .est_size = 4096, .est_count = 4096, .tb = 1},
        {.size = UINT64_MAX, .est_size = INT64_MIN, .est_count = 0,
         .tb = 3, .domain = UINT32_MAX},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        TRY(pytm_snap_add_trace(s, &t[i]));
    pytm_snap_aggregate_traces(s);
    s->tbs[2].size = -5; /* a transient negative aggregate */
    return pytm_snap_validate(s);
}

static uint64_t
xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

int
dt_add_threads(struct pytm_snap *s)
{
    if (s->n_tbs < 2 || s->n_strings < 1)
        return PYTM_E_INVAL;
    s->n_threads = 2;
    s->threads = calloc(2, sizeof *s->threads);
    s->n_splits = 3;
    s->splits = calloc(3, sizeof *s->splits);
    if (!s->threads || !s->splits)
        return PYTM_E_NOMEM;
    s->threads[0] = (struct pytm_snap_thread){
        .tid = 4242, .ident = UINT64_MAX, .py_name = 0};
    strcpy(s->threads[0].os_name, "python3");
    s->threads[1] = (struct pytm_snap_thread){
        .tid = -1, .ident = 7, .py_name = PYTM_SNAP_NO_NAME};
    strcpy(s->threads[1].os_name, "worker-0123456"); /* 14 bytes */
    /* tb 0 split between thread 1 and "unknown", tb 1 all thread 2 */
    s->splits[0] = (struct pytm_snap_split){
        .tb = 0, .thread = 1, .size = s->tbs[0].size - 1, .count = 1,
        .samples = 1, .alloc_size = UINT64_MAX, .alloc_count = 3,
        .alloc_samples = 2};
    s->splits[1] = (struct pytm_snap_split){.tb = 0, .thread = 0, .size = 1};
    s->splits[2] = (struct pytm_snap_split){
        .tb = 1, .thread = 2, .size = s->tbs[1].size, .count = -2,
        .samples = INT64_MIN};
    s->totals.threads_unknown = 3;
    s->totals.stacks_folded = UINT64_MAX;
    return 0;
}

int
dt_build_big(struct pytm_snap *s, uint64_t n)
{
    pytm_snap_init(s);
    s->meta.pid = 777;
    s->meta.sample_interval = 1;
    s->meta.nframe = 8;
    s->meta.flags = PYTM_SNAP_HAS_TRACES;
    s->meta.cmdline = strdup("python3 big.py");
    if (!s->meta.cmdline)
        return -1;
    enum { NFILE = 40, NFRAME = 2000, NTB = 500, DEPTH = 6 };
    char name[64];
    uint32_t idx;
    for (int i = 0; i < NFILE; i++) {
        int len = snprintf(name, sizeof(name), "/srv/app/pkg%d/module_%d.py",
                           i % 7, i);
        TRY(pytm_snap_add_string(s, name, (size_t)len, &idx));
    }
    uint64_t x = 88172645463325252u; /* xorshift: reproducible */
#define NEXT() xorshift(&x)
    for (int i = 0; i < NFRAME; i++) {
        uint32_t file = (uint32_t)(NEXT() % NFILE);
        TRY(pytm_snap_add_frame(s, file, (uint32_t)(NEXT() % 3000 + 1),
                                &idx));
    }
    for (int i = 0; i < NTB; i++) {
        uint32_t ids[DEPTH];
        uint32_t d = (uint32_t)(NEXT() % DEPTH) + 1;
        for (uint32_t k = 0; k < d; k++)
            ids[k] = (uint32_t)(NEXT() % NFRAME);
        TRY(pytm_snap_add_tb(s, ids, d, d + (uint32_t)(NEXT() % 3), &idx));
    }
    s->traces = malloc((size_t)n * sizeof(*s->traces));
    if (!s->traces)
        return -1;
    static const uint64_t sizes[] = {16, 24, 32, 48, 56, 64, 72, 96,
                                     128, 256, 512, 1024, 4096, 33};
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = NEXT();
        uint64_t sz = sizes[r % 14];
        if (sz == 33)
            sz = 1 + (r >> 8) % 100000;
        s->traces[i] = (struct pytm_snap_trace){
            .size = sz, .est_size = (int64_t)sz, .est_count = 1,
            .tb = (uint32_t)((r >> 32) % NTB), .domain = 0};
    }
#undef NEXT
    s->n_traces = n;
    pytm_snap_aggregate_traces(s);
    for (uint32_t i = 0; i < s->n_tbs; i++) {
        s->tbs[i].alloc_size = (uint64_t)s->tbs[i].size * 3;
        s->tbs[i].alloc_count = (uint64_t)s->tbs[i].count * 3;
        s->tbs[i].alloc_samples = (uint64_t)s->tbs[i].samples * 3;
        s->totals.traced_current += s->tbs[i].size;
    }
    s->totals.traced_peak = s->totals.traced_current * 2;
    s->totals.n_allocs = s->totals.n_samples = n * 3;
    s->totals.n_frees = n * 2;
    s->totals.live_samples = n;
    return pytm_snap_validate(s);
}

#define DIFF(cond, ...)                          \
    do {                                         \
        if (cond) {                              \
            snprintf(why, cap, __VA_ARGS__);     \
            return 1;                            \
        }                                        \
    } while (0)

/* n_field rows of arr compared bytewise (their structs have no padding
 * the builders leave unset: calloc'd). */
#define DIFF_ROWS(n_field, arr, what)                                    \
    do {                                                                 \
        DIFF(a->n_field != b->n_field, "n_" what "s %" PRIu64 " vs %"    \
             PRIu64, (uint64_t)a->n_field, (uint64_t)b->n_field);        \
        for (uint64_t i = 0; i < a->n_field; i++)                        \
            DIFF(memcmp(&a->arr[i], &b->arr[i], sizeof(a->arr[i])) != 0, \
                 what " %" PRIu64 " differs", i);                        \
    } while (0)

int
dt_snap_diff(const struct pytm_snap *a, const struct pytm_snap *b,
             char *why, size_t cap)
{
    const struct pytm_snap_meta *ma = &a->meta, *mb = &b->meta;
    DIFF(ma->pid != mb->pid || ma->start_realtime_ns != mb->start_realtime_ns
             || ma->taken_realtime_ns != mb->taken_realtime_ns
             || ma->sample_interval != mb->sample_interval
             || ma->nframe != mb->nframe || ma->flags != mb->flags,
         "meta differs");
    DIFF(strcmp(ma->cmdline ? ma->cmdline : "", mb->cmdline ? mb->cmdline
                                                              : "") != 0,
         "cmdline differs");
    DIFF(memcmp(&a->totals, &b->totals, sizeof(a->totals)) != 0,
         "totals differ");
    DIFF(a->n_strings != b->n_strings, "n_strings %u vs %u", a->n_strings,
         b->n_strings);
    for (uint32_t i = 0; i < a->n_strings; i++)
        DIFF(a->str_len[i] != b->str_len[i] ||
                 memcmp(pytm_snap_string(a, i), pytm_snap_string(b, i),
                        a->str_len[i]) != 0 ||
                 pytm_snap_string(b, i)[b->str_len[i]] != '\0',
             "string %u differs", i);
    DIFF(a->n_frames != b->n_frames, "n_frames differs");
    for (uint32_t i = 0; i < a->n_frames; i++)
        DIFF(a->frames[i].filename != b->frames[i].filename ||
                 a->frames[i].lineno != b->frames[i].lineno,
             "frame %u differs", i);
    DIFF(a->n_frame_ids != b->n_frame_ids, "n_frame_ids differs");
    for (uint32_t i = 0; i < a->n_frame_ids; i++)
        DIFF(a->frame_ids[i] != b->frame_ids[i], "frame id %u differs", i);
    DIFF(a->n_tbs != b->n_tbs, "n_tbs differs");
    for (uint32_t i = 0; i < a->n_tbs; i++)
        DIFF(memcmp(&a->tbs[i], &b->tbs[i], sizeof(a->tbs[i])) != 0,
             "tb %u differs", i);
    DIFF_ROWS(n_traces, traces, "trace");
    DIFF_ROWS(n_threads, threads, "thread");
    DIFF_ROWS(n_splits, splits, "split");
    return 0;
}

int
dt_parse(const uint8_t *buf, size_t len, struct dt_dump *d)
{
    memset(d, 0, sizeof(*d));
    if (len < PYTM_DUMP_HEADER_SIZE)
        return -1;
    d->major = pytm_le_get16(buf + PYTM_DUMP_HDR_MAJOR);
    d->minor = pytm_le_get16(buf + PYTM_DUMP_HDR_MINOR);
    d->flags = pytm_le_get32(buf + PYTM_DUMP_HDR_FLAGS);
    d->n = pytm_le_get32(buf + PYTM_DUMP_HDR_N_SECTIONS);
    if (d->n > DT_MAX_SECTIONS)
        return -1;
    for (uint32_t i = 0; i < d->n; i++) {
        const uint8_t *e =
            buf + PYTM_DUMP_HEADER_SIZE + i * PYTM_DUMP_ENTRY_SIZE;
        struct dt_section *s = &d->sec[i];
        uint64_t off = pytm_le_get64(e + PYTM_DUMP_ENT_OFFSET);
        s->id = pytm_le_get32(e + PYTM_DUMP_ENT_ID);
        s->codec = pytm_le_get16(e + PYTM_DUMP_ENT_CODEC);
        s->flags = pytm_le_get16(e + PYTM_DUMP_ENT_FLAGS);
        s->stored_len = pytm_le_get64(e + PYTM_DUMP_ENT_STORED_SIZE);
        s->raw_size = pytm_le_get64(e + PYTM_DUMP_ENT_RAW_SIZE);
        s->crc = pytm_le_get32(e + PYTM_DUMP_ENT_CRC);
        if (off > len || s->stored_len > len - off)
            return -1;
        s->stored = malloc(s->stored_len ? s->stored_len : 1);
        if (!s->stored)
            return -1;
        memcpy(s->stored, buf + off, s->stored_len);
    }
    return 0;
}

int
dt_build(const struct dt_dump *d, uint8_t **out, size_t *len)
{
    size_t total = PYTM_DUMP_HEADER_SIZE + d->n * PYTM_DUMP_ENTRY_SIZE;
    for (uint32_t i = 0; i < d->n; i++)
        total += d->sec[i].stored_len;
    uint8_t *b = calloc(1, total);
    if (!b)
        return -1;
    memcpy(b, PYTM_DUMP_MAGIC, PYTM_DUMP_MAGIC_SIZE);
    pytm_le_put32(b + PYTM_DUMP_HDR_ENDIAN, PYTM_DUMP_ENDIAN_TAG);
    pytm_le_put16(b + PYTM_DUMP_HDR_MAJOR, d->major);
    pytm_le_put16(b + PYTM_DUMP_HDR_MINOR, d->minor);
    pytm_le_put32(b + PYTM_DUMP_HDR_HEADER_SIZE, PYTM_DUMP_HEADER_SIZE);
    pytm_le_put32(b + PYTM_DUMP_HDR_FLAGS, d->flags);
    pytm_le_put64(b + PYTM_DUMP_HDR_FILE_SIZE, total);
    pytm_le_put32(b + PYTM_DUMP_HDR_N_SECTIONS, d->n);
    pytm_le_put32(b + PYTM_DUMP_HDR_ENTRY_SIZE, PYTM_DUMP_ENTRY_SIZE);
    size_t off = PYTM_DUMP_HEADER_SIZE + d->n * PYTM_DUMP_ENTRY_SIZE;
    for (uint32_t i = 0; i < d->n; i++) {
        const struct dt_section *s = &d->sec[i];
        uint8_t *e = b + PYTM_DUMP_HEADER_SIZE + i * PYTM_DUMP_ENTRY_SIZE;
        pytm_le_put32(e + PYTM_DUMP_ENT_ID, s->id);
        pytm_le_put16(e + PYTM_DUMP_ENT_CODEC, s->codec);
        pytm_le_put16(e + PYTM_DUMP_ENT_FLAGS, s->flags);
        pytm_le_put64(e + PYTM_DUMP_ENT_OFFSET, off);
        pytm_le_put64(e + PYTM_DUMP_ENT_STORED_SIZE, s->stored_len);
        pytm_le_put64(e + PYTM_DUMP_ENT_RAW_SIZE, s->raw_size);
        pytm_le_put32(e + PYTM_DUMP_ENT_CRC, s->crc);
        memcpy(b + off, s->stored, s->stored_len);
        off += s->stored_len;
    }
    dt_fix_header_crc(b, total);
    *out = b;
    *len = total;
    return 0;
}

void
dt_free(struct dt_dump *d)
{
    for (uint32_t i = 0; i < d->n; i++)
        free(d->sec[i].stored);
    memset(d, 0, sizeof(*d));
}

int
dt_find(const struct dt_dump *d, uint32_t id)
{
    for (uint32_t i = 0; i < d->n; i++)
        if (d->sec[i].id == id)
            return (int)i;
    return -1;
}

uint8_t *
dt_raw(const struct dt_dump *d, int i, size_t *len)
{
    const struct dt_section *s = &d->sec[i];
    uint8_t *raw = malloc(s->raw_size ? s->raw_size : 1);
    LZ4F_dctx *ctx;
    if (!raw || LZ4F_isError(LZ4F_createDecompressionContext(&ctx,
                                                            LZ4F_VERSION))) {
        free(raw);
        return NULL;
    }
    size_t dst = s->raw_size, src = s->stored_len;
    size_t r = LZ4F_decompress(ctx, raw, &dst, s->stored, &src, NULL);
    LZ4F_freeDecompressionContext(ctx);
    if (r != 0 || dst != s->raw_size) {
        free(raw);
        return NULL;
    }
    *len = dst;
    return raw;
}

int
dt_set_raw(struct dt_dump *d, int i, const void *raw, size_t len)
{
    struct dt_section *s = &d->sec[i];
    size_t cap = LZ4F_compressFrameBound(len, NULL);
    uint8_t *p = malloc(cap);
    if (!p)
        return -1;
    size_t n = LZ4F_compressFrame(p, cap, raw, len, NULL);
    if (LZ4F_isError(n)) {
        free(p);
        return -1;
    }
    free(s->stored);
    s->stored = p;
    s->stored_len = n;
    s->raw_size = len;
    s->crc = pytm_dump_crc32(0, p, n);
    return 0;
}

void
dt_fix_header_crc(uint8_t *b, size_t len)
{
    if (len < PYTM_DUMP_HEADER_SIZE)
        return;
    uint64_t end = PYTM_DUMP_HEADER_SIZE +
                   (uint64_t)pytm_le_get32(b + PYTM_DUMP_HDR_N_SECTIONS) *
                       PYTM_DUMP_ENTRY_SIZE;
    if (end > len)
        end = len;
    pytm_le_put32(b + PYTM_DUMP_HDR_CRC, 0);
    pytm_le_put32(b + PYTM_DUMP_HDR_CRC, pytm_dump_crc32(0, b, end));
}
