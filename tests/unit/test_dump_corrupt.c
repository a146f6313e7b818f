/* test_dump_corrupt: the .pytm decoder rejects every malformed input
 * with the right PYTM_E_* code and a message, leaves the output empty,
 * and never allocates by an unchecked count.
 *
 * Allocation bound: this program is linked with -Wl,--wrap=malloc,
 * calloc,realloc (see test_dump.cmake), so every allocation made by the
 * test and by the statically linked pytm_shm objects goes through the
 * __wrap_ functions below, which record the largest request. (Inside
 * liblz4.so, LZ4F's own bounded context buffers are not seen.) */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dump.h"
#include "dump_testlib.h"
#include "le.h"
#include "pytm/dump_format.h"
#include "pytm_error.h"
#include "snap.h"

/* Largest single request seen since the last reset. Protected by: the
 * test is single-threaded. */
static size_t max_alloc;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

void *
__wrap_malloc(size_t n)
{
    if (n > max_alloc)
        max_alloc = n;
    return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
    size_t t = size && n > SIZE_MAX / size ? SIZE_MAX : n * size;
    if (t > max_alloc)
        max_alloc = t;
    return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
    if (n > max_alloc)
        max_alloc = n;
    return __real_realloc(p, n);
}

struct fx {
    struct pytm_snap in, out;
    uint8_t *img, *img2; /* valid small dump; edited copy */
    size_t len, len2;
    struct pytm_dump_error err;
    struct dt_dump dt; /* img split into parts */
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f || dt_build_small(&f->in) != 0 ||
        pytm_dump_write_mem(&f->in, (void **)&f->img, &f->len, NULL) != 0 ||
        dt_parse(f->img, f->len, &f->dt) != 0)
        return -1;
    pytm_snap_init(&f->out);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    pytm_snap_free(&f->in);
    pytm_snap_free(&f->out);
    free(f->img);
    free(f->img2);
    dt_free(&f->dt);
    free(f);
    return 0;
}

static void
assert_empty(const struct pytm_snap *s)
{
    static const struct pytm_snap empty;
    assert_memory_equal(s, &empty, sizeof(empty));
}

/* Decodes b[0, len) and requires failure `code` with `needle` (if any)
 * in the message, and an empty output. */
static void
expect(struct fx *f, const uint8_t *b, size_t len, int code,
       const char *needle)
{
    memset(&f->out, 0x5a, sizeof(f->out)); /* "initialised or not" */
    int rc = pytm_dump_read_mem(b, len, &f->out, &f->err);
    if (rc != code || (needle && !strstr(f->err.msg, needle)))
        fail_msg("expected %s with \"%s\", got %s: %s",
                 pytm_error_name(code), needle ? needle : "",
                 pytm_error_name(rc), f->err.msg);
    assert_int_equal(f->err.code, code);
    assert_true(f->err.msg[0] != '\0');
    assert_non_null(memchr(f->err.msg, '\0', sizeof(f->err.msg)));
    assert_null(strchr(f->err.msg, '\n'));
    assert_empty(&f->out);
}

/* Serialises f->dt into f->img2 and expects failure. */
static void
expect_dt(struct fx *f, int code, const char *needle)
{
    free(f->img2);
    assert_int_equal(dt_build(&f->dt, &f->img2, &f->len2), 0);
    expect(f, f->img2, f->len2, code, needle);
}

/* A copy of the valid image in f->img2 for hand edits. */
static uint8_t *
copy_img(struct fx *f)
{
    free(f->img2);
    f->img2 = malloc(f->len + 64);
    assert_non_null(f->img2);
    memcpy(f->img2, f->img, f->len);
    f->len2 = f->len;
    return f->img2;
}

static uint8_t *
entry_of(uint8_t *img, int i)
{
    return img + PYTM_DUMP_HEADER_SIZE + (size_t)i * PYTM_DUMP_ENTRY_SIZE;
}

/* Back to the valid small dump's sections. */
static void
reset_dt(struct fx *f)
{
    dt_free(&f->dt);
    assert_int_equal(dt_parse(f->img, f->len, &f->dt), 0);
}

/* Replaces a section's payload by `n` varints. */
static void
set_varints(struct fx *f, uint32_t id, const uint64_t *v, size_t n)
{
    uint8_t raw[256];
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += pytm_le_put_varint(raw + len, v[i]);
    assert_int_equal(dt_set_raw(&f->dt, dt_find(&f->dt, id), raw, len), 0);
}

static void
test_zero_length(void **state)
{
    struct fx *f = *state;
    expect(f, f->img, 0, PYTM_E_TRUNCATED, "empty");
    expect(f, NULL, 0, PYTM_E_TRUNCATED, "empty");
    assert_int_equal(pytm_dump_read_mem(f->img, f->len, &f->out, NULL), 0);
}

static void
test_every_prefix_truncated(void **state)
{
    struct fx *f = *state;
    for (size_t n = 0; n < f->len; n++) {
        uint8_t *b = malloc(n ? n : 1); /* exact size: ASan/valgrind see
                                           any read past the end */
        memcpy(b, f->img, n);
        expect(f, b, n, PYTM_E_TRUNCATED, "truncated");
        free(b);
    }
    print_message("%zu prefixes rejected as TRUNCATED\n", f->len);
}

static void
test_every_bit_flip(void **state)
{
    struct fx *f = *state;
    int by_code[32] = {0}, salvaged = 0;
    uint8_t *b = malloc(f->len);
    for (size_t i = 0; i < f->len * 8; i++) {
        memcpy(b, f->img, f->len);
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
        memset(&f->out, 0, sizeof(f->out));
        int rc = pytm_dump_read_mem(b, f->len, &f->out, &f->err);
        if (rc == 0)
            fail_msg("flip of bit %zu accepted", i);
        assert_true(f->err.msg[0] != '\0');
        assert_empty(&f->out);
        by_code[-rc < 32 ? -rc : 0]++;
        /* without checksums: anything but a crash; valid if accepted */
        rc = pytm_dump_read_mem_flags(b, f->len, PYTM_DUMP_READ_NO_CHECKSUM,
                                      &f->out, &f->err);
        if (rc == 0) {
            assert_int_equal(pytm_snap_validate(&f->out), 0);
            salvaged++;
        } else {
            assert_empty(&f->out);
        }
        pytm_snap_free(&f->out);
    }
    free(b);
    for (int c = 0; c < 32; c++)
        if (by_code[c])
            print_message("bit flips -> %-11s %d\n", pytm_error_name(-c),
                          by_code[c]);
    print_message("without checksums %d of %zu flips decode\n", salvaged,
                  f->len * 8);
}

static void
test_bad_magic(void **state)
{
    struct fx *f = *state;
    uint8_t *b = copy_img(f);
    b[7] = 'X';
    expect(f, b, f->len2, PYTM_E_FORMAT, "not a pytm dump");
    const char *text = "hello, this is not a dump at all\n";
    expect(f, (const uint8_t *)text, strlen(text), PYTM_E_FORMAT,
           "not a pytm dump");
    expect(f, (const uint8_t *)"PYX", 3, PYTM_E_FORMAT, "not a pytm dump");
    expect(f, (const uint8_t *)"PYT", 3, PYTM_E_TRUNCATED, "truncated");
}

static void
test_wrong_major(void **state)
{
    struct fx *f = *state;
    uint8_t *b = copy_img(f);
    pytm_le_put16(b + PYTM_DUMP_HDR_MAJOR, 2);
    dt_fix_header_crc(b, f->len2);
    expect(f, b, f->len2, PYTM_E_DUMPVER, "version 2.0 is not supported");
    pytm_le_put16(b + PYTM_DUMP_HDR_MAJOR, 0);
    pytm_le_put16(b + PYTM_DUMP_HDR_MINOR, 9);
    expect(f, b, f->len2, PYTM_E_DUMPVER, "version 0.9");
    /* the version is read before the CRC: a future header may differ */
    expect(f, b, PYTM_DUMP_HDR_MINOR + 2, PYTM_E_DUMPVER, "0.9");
}

static void
test_byte_swapped_header(void **state)
{
    struct fx *f = *state;
    uint8_t *b = copy_img(f);
    static const struct {
        unsigned off, size;
    } fields[] = {
        {PYTM_DUMP_HDR_ENDIAN, 4}, {PYTM_DUMP_HDR_MAJOR, 2},
        {PYTM_DUMP_HDR_MINOR, 2}, {PYTM_DUMP_HDR_HEADER_SIZE, 4},
        {PYTM_DUMP_HDR_FLAGS, 4}, {PYTM_DUMP_HDR_FILE_SIZE, 8},
        {PYTM_DUMP_HDR_N_SECTIONS, 4}, {PYTM_DUMP_HDR_ENTRY_SIZE, 4},
        {PYTM_DUMP_HDR_CRC, 4}, {PYTM_DUMP_HDR_RESERVED, 4},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        for (unsigned k = 0; k < fields[i].size / 2; k++) {
            uint8_t *p = b + fields[i].off;
            uint8_t t = p[k];
            p[k] = p[fields[i].size - 1 - k];
            p[fields[i].size - 1 - k] = t;
        }
    expect(f, b, f->len2, PYTM_E_FORMAT, "byte-swapped header");
    assert_int_equal(f->err.offset, PYTM_DUMP_HDR_ENDIAN);
    /* any other tag is corruption */
    b = copy_img(f);
    pytm_le_put32(b + PYTM_DUMP_HDR_ENDIAN, 0x01020305);
    expect(f, b, f->len2, PYTM_E_DUMPCORRUPT, "endian tag");
}

static void
test_checksums(void **state)
{
    struct fx *f = *state;
    uint8_t *b = copy_img(f);
    b[PYTM_DUMP_HDR_FILE_SIZE] ^= 0x40;
    expect(f, b, f->len2, PYTM_E_DUMPCORRUPT, "header checksum mismatch");
    b = copy_img(f);
    b[f->len2 - 3] ^= 1; /* inside the last section */
    expect(f, b, f->len2, PYTM_E_DUMPCORRUPT, "checksum mismatch");
    assert_non_null(strstr(f->err.msg, "section 'traces'"));
}

static void
test_oversized_counts(void **state)
{
    struct fx *f = *state;
    const size_t bound = 64 * 1024; /* the small dump is < 1 KiB */
    uint64_t frames[] = {UINT32_MAX, 0, 0, 0, 0};
    set_varints(f, PYTM_DUMP_SEC_FRAMES, frames, 5);
    max_alloc = 0;
    expect_dt(f, PYTM_E_TOOBIG, "section 'frames' declares 4294967295 "
                                "entries, more than the 67108864 allowed");
    assert_int_equal(f->err.section, PYTM_DUMP_SEC_FRAMES);
    /* count under the cap but more than the bytes present */
    frames[0] = 50000000;
    set_varints(f, PYTM_DUMP_SEC_FRAMES, frames, 5);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "hold at most 2");
    reset_dt(f);
    uint64_t strings[] = {PYTM_DUMP_MAX_STRINGS - 1, 1, 1, 'a'};
    set_varints(f, PYTM_DUMP_SEC_STRINGS, strings, 4);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "section 'strings' declares");
    reset_dt(f);
    uint64_t big_str[] = {1, UINT64_C(1) << 30};
    set_varints(f, PYTM_DUMP_SEC_STRINGS, big_str, 2);
    expect_dt(f, PYTM_E_TOOBIG, "string 0 declares 1073741824 bytes");
    reset_dt(f);
    uint64_t traces[] = {UINT64_C(1) << 40, 1, 1, 1, 1, 1};
    set_varints(f, PYTM_DUMP_SEC_TRACES, traces, 6);
    expect_dt(f, PYTM_E_TOOBIG, "more than the 268435456 allowed");
    assert_true(max_alloc < bound);
    reset_dt(f);

    /* table sizes: a huge raw size, and one LZ4 could not produce */
    int ti = dt_find(&f->dt, PYTM_DUMP_SEC_TRACES);
    uint64_t saved = f->dt.sec[ti].raw_size;
    f->dt.sec[ti].raw_size = UINT64_C(1) << 40;
    expect_dt(f, PYTM_E_TOOBIG, "more than the 4294967296 allowed");
    f->dt.sec[ti].raw_size = UINT64_C(100) << 20;
    expect_dt(f, PYTM_E_DUMPCORRUPT, "more than LZ4 can expand");
    f->dt.sec[ti].raw_size = saved;
    assert_true(max_alloc < bound);

    /* header counts */
    uint8_t *b = copy_img(f);
    pytm_le_put32(b + PYTM_DUMP_HDR_N_SECTIONS, 1000);
    dt_fix_header_crc(b, f->len2);
    expect(f, b, f->len2, PYTM_E_TOOBIG, "1000 sections");
    b = copy_img(f);
    pytm_le_put64(b + PYTM_DUMP_HDR_FILE_SIZE, UINT64_MAX);
    dt_fix_header_crc(b, f->len2);
    expect(f, b, f->len2, PYTM_E_TOOBIG, "file");

    /* meta cmdline length */
    int mi = dt_find(&f->dt, PYTM_DUMP_SEC_META);
    size_t rl;
    uint8_t *raw = dt_raw(&f->dt, mi, &rl);
    assert_non_null(raw);
    pytm_le_put32(raw + PYTM_DUMP_META_CMDLINE_LEN, 0xfffffff0u);
    assert_int_equal(dt_set_raw(&f->dt, mi, raw, rl), 0);
    expect_dt(f, PYTM_E_TOOBIG, "cmdline");
    pytm_le_put32(raw + PYTM_DUMP_META_CMDLINE_LEN, 1000);
    assert_int_equal(dt_set_raw(&f->dt, mi, raw, rl), 0);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "1000-byte cmdline");
    free(raw);
    assert_true(max_alloc < bound);
    print_message("largest allocation while rejecting: %zu bytes\n",
                  max_alloc);
}

static void
test_section_sizes_lying(void **state)
{
    struct fx *f = *state;
    int last = (int)f->dt.n - 1;
    assert_int_equal(f->dt.sec[last].id, PYTM_DUMP_SEC_TRACES);
    /* the table promises 100 more bytes of 'traces' than the file has */
    uint8_t *b = copy_img(f), *e = entry_of(b, last);
    pytm_le_put64(e + PYTM_DUMP_ENT_STORED_SIZE,
                  pytm_le_get64(e + PYTM_DUMP_ENT_STORED_SIZE) + 100);
    pytm_le_put64(b + PYTM_DUMP_HDR_FILE_SIZE, f->len2 + 100);
    dt_fix_header_crc(b, f->len2);
    expect(f, b, f->len2, PYTM_E_TRUNCATED, "of section 'traces'");
    /* a section overlapping its neighbour */
    b = copy_img(f);
    e = entry_of(b, 2);
    pytm_le_put64(e + PYTM_DUMP_ENT_STORED_SIZE,
                  pytm_le_get64(e + PYTM_DUMP_ENT_STORED_SIZE) + 1);
    dt_fix_header_crc(b, f->len2);
    expect(f, b, f->len2, PYTM_E_DUMPCORRUPT, "overlaps");
    /* raw size one too big / one too small */
    b = copy_img(f);
    e = entry_of(b, 2);
    uint64_t raw = pytm_le_get64(e + PYTM_DUMP_ENT_RAW_SIZE);
    pytm_le_put64(e + PYTM_DUMP_ENT_RAW_SIZE, raw + 1);
    dt_fix_header_crc(b, f->len2);
    expect(f, b, f->len2, PYTM_E_DUMPCORRUPT, "decompressed to");
    pytm_le_put64(e + PYTM_DUMP_ENT_RAW_SIZE, raw - 1);
    dt_fix_header_crc(b, f->len2);
    expect(f, b, f->len2, PYTM_E_DUMPCORRUPT, "more than the");
    /* a frame cut short (its end mark dropped), checksum recomputed */
    struct dt_section *s = &f->dt.sec[3];
    s->stored_len -= 4;
    s->crc = pytm_dump_crc32(0, s->stored, s->stored_len);
    expect_dt(f, PYTM_E_LZ4, "ends early");
    /* bytes that are not an LZ4 frame at all */
    memset(s->stored, 0xee, s->stored_len);
    s->crc = pytm_dump_crc32(0, s->stored, s->stored_len);
    expect_dt(f, PYTM_E_LZ4, "does not decompress");
}

static void
test_bad_references(void **state)
{
    struct fx *f = *state;
    uint64_t frames[] = {1, 99, 1};
    set_varints(f, PYTM_DUMP_SEC_FRAMES, frames, 3);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "filename 99, but there are 6 strings");
    reset_dt(f);
    uint64_t ids[] = {2, 0, pytm_le_zigzag(5)}; /* frames 0, 5: no 5 */
    set_varints(f, PYTM_DUMP_SEC_FRAME_IDS, ids, 3);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "frame id 5, but there are 5 frames");
    reset_dt(f);
    uint64_t tbs[] = {1, 3, pytm_le_zigzag(5), 0, 0, 0, 0, 0, 0, 0};
    set_varints(f, PYTM_DUMP_SEC_TRACEBACKS, tbs, 10);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "lists frames [5, +3)");
    reset_dt(f);
    uint64_t traces[] = {1, 8, 0, 0, pytm_le_zigzag(4), 0};
    set_varints(f, PYTM_DUMP_SEC_TRACES, traces, 6);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "tb 4, but there are 4 tracebacks");
    /* a varint running off the end of its payload */
    uint64_t cut[] = {1, 8, 0, 0, 0};
    set_varints(f, PYTM_DUMP_SEC_TRACES, cut, 5);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "hold at most 0");
    uint8_t overlong[] = {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0x7f, 0, 0, 0, 0};
    assert_int_equal(dt_set_raw(&f->dt, dt_find(&f->dt,
                                                PYTM_DUMP_SEC_TRACES),
                                overlong, sizeof(overlong)), 0);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "oversized varint for trace size 0");
}

/* GIVEN the small dump with per-thread figures (a v1.1 `threads`
 * section) WHEN each of its references points outside its table, a
 * name is too long or holds a NUL, or the section sits in a v1.0 file
 * THEN the reader refuses it, naming the field. */
static void
test_bad_thread_section(void **state)
{
    struct fx *f = *state;
    assert_int_equal(dt_add_threads(&f->in), 0);
    free(f->img);
    f->img = NULL;
    assert_int_equal(pytm_dump_write_mem(&f->in, (void **)&f->img, &f->len,
                                         NULL), 0);
    reset_dt(f);
    /* a valid section of our own first: 1 thread, 1 split, counters */
    uint64_t ok[] = {1, 0, 0, 0, 1, 'a', 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    set_varints(f, PYTM_DUMP_SEC_THREADS, ok, 17);
    free(f->img2);
    assert_int_equal(dt_build(&f->dt, &f->img2, &f->len2), 0);
    assert_int_equal(pytm_dump_read_mem(f->img2, f->len2, &f->out, &f->err),
                     0);
    assert_string_equal(f->out.threads[0].os_name, "a");
    pytm_snap_free(&f->out);
    struct {
        uint64_t v[17];
        size_t n;
        const char *needle;
    } bad[] = {
        {{PYTM_DUMP_MAX_THREADS + 1}, 1, "more than the 65534 allowed"},
        {{1, pytm_le_zigzag((int64_t)INT32_MAX + 1)}, 2, "tid 2147483648"},
        {{1, 0, 0, 7, 0}, 5, "py_name 6, but there are 6 strings"},
        {{1, 0, 0, 0, 16}, 5, "os_name length 16"},
        {{1, 0, 0, 0, 3, 'a', 'b'}, 7, "bytes of thread names"},
        {{1, 0, 0, 0, 2, 'a', 0, 0}, 8, "NUL byte inside its name"},
        {{1, 0, 0, 0, 0, 1, pytm_le_zigzag(4), 0, 0, 0, 0, 0, 0, 0, 0, 0},
         16, "tb 4, but there are 4 tracebacks"},
        {{1, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0}, 16,
         "thread 2, but there are 1 threads"},
        {{1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0}, 14, "threads_unknown"},
        {{1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0}, 15, "stacks_folded"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        set_varints(f, PYTM_DUMP_SEC_THREADS, bad[i].v, bad[i].n);
        expect_dt(f, i == 0 ? PYTM_E_TOOBIG : PYTM_E_DUMPCORRUPT,
                  bad[i].needle);
    }
    reset_dt(f);
    f->dt.minor = 0;
    expect_dt(f, PYTM_E_DUMPCORRUPT, "section 'threads' in a v1.0 file");
}

static void
test_structure(void **state)
{
    struct fx *f = *state;
    struct dt_dump *d = &f->dt;
    /* trailing bytes after a valid dump */
    uint8_t *b = copy_img(f);
    memset(b + f->len2, 0, 7);
    expect(f, b, f->len2 + 7, PYTM_E_DUMPCORRUPT, "7 unexpected bytes");
    /* unknown incompatible header flag */
    b = copy_img(f);
    pytm_le_put32(b + PYTM_DUMP_HDR_FLAGS, 0x4);
    dt_fix_header_crc(b, f->len2);
    expect(f, b, f->len2, PYTM_E_DUMPVER, "incompatible feature flags");
    /* unknown codec on a known section */
    b = copy_img(f);
    pytm_le_put16(entry_of(b, 0) + PYTM_DUMP_ENT_CODEC, 9);
    dt_fix_header_crc(b, f->len2);
    expect(f, b, f->len2, PYTM_E_DUMPCORRUPT, "codec 9");
    /* a section present twice */
    struct dt_section frames = d->sec[dt_find(d, PYTM_DUMP_SEC_FRAMES)];
    d->sec[d->n] = frames;
    d->sec[d->n].stored = malloc(frames.stored_len);
    memcpy(d->sec[d->n].stored, frames.stored, frames.stored_len);
    d->n++;
    expect_dt(f, PYTM_E_DUMPCORRUPT, "section 'frames' appears twice");
    /* a required section missing: drop the duplicate and the original */
    d->n--;
    free(d->sec[d->n].stored);
    int fi = dt_find(d, PYTM_DUMP_SEC_FRAMES);
    free(d->sec[fi].stored);
    memmove(&d->sec[fi], &d->sec[fi + 1],
            (d->n - (uint32_t)fi - 1) * sizeof(d->sec[0]));
    d->n--;
    expect_dt(f, PYTM_E_DUMPCORRUPT, "missing required section 'frames'");
    /* traces present, HAS_TRACES not set in meta */
    reset_dt(f);
    int mi = dt_find(d, PYTM_DUMP_SEC_META);
    size_t rl;
    uint8_t *raw = dt_raw(d, mi, &rl);
    assert_non_null(raw);
    pytm_le_put32(raw + PYTM_DUMP_META_FLAGS, PYTM_SNAP_EXITED);
    assert_int_equal(dt_set_raw(d, mi, raw, rl), 0);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "lack HAS_TRACES");
    /* ... and the other way round */
    pytm_le_put32(raw + PYTM_DUMP_META_FLAGS, PYTM_SNAP_HAS_TRACES);
    assert_int_equal(dt_set_raw(d, mi, raw, rl), 0);
    d->n--; /* traces is last */
    free(d->sec[d->n].stored);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "missing section 'traces'");
    /* cmdline with a NUL; trailing bytes in a v1.0 section */
    raw[PYTM_DUMP_META_CMDLINE + 1] = '\0';
    assert_int_equal(dt_set_raw(d, mi, raw, rl), 0);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "NUL byte inside cmdline");
    free(raw);
    reset_dt(f);
    uint8_t totals[PYTM_DUMP_TOTALS_SIZE + 1] = {0};
    assert_int_equal(dt_set_raw(d, dt_find(d, PYTM_DUMP_SEC_TOTALS), totals,
                                sizeof(totals)), 0);
    expect_dt(f, PYTM_E_DUMPCORRUPT, "1 unexpected bytes");
}

static void
test_read_file_errors(void **state)
{
    struct fx *f = *state;
    assert_int_equal(pytm_dump_read("/nonexistent/x.pytm", &f->out, &f->err),
                     PYTM_E_IO);
    assert_non_null(strstr(f->err.msg, "No such file"));
    assert_int_equal(pytm_dump_read("/tmp", &f->out, &f->err), PYTM_E_IO);
    assert_non_null(strstr(f->err.msg, "not a regular file"));
    assert_int_equal(pytm_dump_read("/dev/null", &f->out, &f->err),
                     PYTM_E_IO);
    assert_empty(&f->out);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_zero_length),       T(test_every_prefix_truncated),
        T(test_every_bit_flip),    T(test_bad_magic),
        T(test_wrong_major),       T(test_byte_swapped_header),
        T(test_checksums),         T(test_oversized_counts),
        T(test_section_sizes_lying), T(test_bad_references),
        T(test_bad_thread_section), T(test_structure),
        T(test_read_file_errors),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
