/* Unit tests for model/snap: builders (and their growth, also on arrays
 * allocated by someone else), validate (each invariant broken once,
 * with an intact control before every break), copy, aggregate_traces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/pytm_error.h"
#include "model/snap.h"

/* setup() builds: strings "a.py" "b.py"; frames a.py:1, b.py:2;
 * tbs t0 = [f1, f0] total 3, t1 = [] total 0; traces (t0, 100, 1),
 * (t0, 50, 1), (t1, 4096, 2); cmdline "prog". */
struct fixture {
    struct pytm_snap s;
};

static int
build(struct pytm_snap *s)
{
    uint32_t i, fr[2];
    const struct pytm_snap_trace tr[3] = {
        {100, 100, 1, 0, 0}, {50, 50, 1, 0, 0}, {4096, 4096, 2, 1, 0}};
    int rc = pytm_snap_add_string(s, "a.py", 4, &i)
             | pytm_snap_add_string(s, "b.pyXX", 4, &i)
             | pytm_snap_add_frame(s, 0, 1, &fr[0])
             | pytm_snap_add_frame(s, 1, 2, &fr[1]);
    const uint32_t ids[2] = {fr[1], fr[0]};
    rc |= pytm_snap_add_tb(s, ids, 2, 3, &i) | pytm_snap_add_tb(s, NULL, 0, 0, &i);
    for (int k = 0; k < 3; k++)
        rc |= pytm_snap_add_trace(s, &tr[k]);
    s->meta.cmdline = strdup("prog");
    return rc == 0 && s->meta.cmdline ? 0 : -1;
}

static int
setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof *f);
    if (!f)
        return -1;
    pytm_snap_init(&f->s);
    if (build(&f->s) != 0)
        return -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    pytm_snap_free(&f->s);
    test_free(f);
    return 0;
}

static void
test_builders(void **state)
{
    struct fixture *f = *state;
    struct pytm_snap *s = &f->s;
    assert_int_equal(pytm_snap_validate(s), 0);
    assert_int_equal(s->n_strings, 2);
    assert_string_equal(pytm_snap_string(s, 1), "b.py");
    assert_int_equal(s->str_len[1], 4);
    assert_int_equal(s->n_frames, 2);
    assert_int_equal(s->frames[1].lineno, 2);
    assert_int_equal(s->n_tbs, 2);
    assert_int_equal(s->tbs[0].frames_at, 0);
    assert_int_equal(s->tbs[0].nframe, 2);
    assert_int_equal(s->tbs[0].total_nframe, 3);
    assert_int_equal(s->frame_ids[0], 1);
    assert_int_equal(s->tbs[1].frames_at, 2);
    assert_int_equal(s->tbs[1].nframe, 0);
    assert_int_equal(s->n_traces, 3);
    assert_true(s->meta.flags & PYTM_SNAP_HAS_TRACES);

    /* growth: many appends keep every earlier entry */
    char buf[32];
    for (uint32_t k = 0; k < 20000; k++) {
        uint32_t si, fi, ti;
        int n = snprintf(buf, sizeof buf, "file%u.py", k);
        assert_int_equal(pytm_snap_add_string(s, buf, (size_t)n, &si), 0);
        assert_int_equal(si, k + 2);
        assert_int_equal(pytm_snap_add_frame(s, si, k, &fi), 0);
        assert_int_equal(fi, k + 2);
        uint32_t ids[3] = {fi, 0, 1};
        assert_int_equal(pytm_snap_add_tb(s, ids, 1 + k % 3, 9, &ti), 0);
        assert_int_equal(ti, k + 2);
    }
    assert_int_equal(pytm_snap_validate(s), 0);
    for (uint32_t k = 0; k < 20000; k += 997) {
        snprintf(buf, sizeof buf, "file%u.py", k);
        assert_string_equal(pytm_snap_string(s, s->frames[k + 2].filename), buf);
        assert_int_equal(s->frame_ids[s->tbs[k + 2].frames_at], k + 2);
    }
    assert_string_equal(pytm_snap_string(s, 0), "a.py");

    /* bad arguments change nothing */
    uint32_t n_before = s->n_strings;
    assert_int_equal(pytm_snap_add_string(s, NULL, 3, NULL), PYTM_E_INVAL);
    assert_int_equal(pytm_snap_add_tb(s, NULL, 2, 2, NULL), PYTM_E_INVAL);
    assert_int_equal(s->n_strings, n_before);
}

/* Arrays allocated with exact sizes (as the arena reader and the dump
 * decoder do), then appended to: the builders must grow them. */
static void
test_builders_on_exact_arrays(void **state)
{
    (void)state;
    struct pytm_snap s;
    pytm_snap_init(&s);
    s.str_pool = malloc(5);
    memcpy(s.str_pool, "x.py", 5);
    s.str_pool_size = 5;
    s.str_off = calloc(1, sizeof *s.str_off);
    s.str_len = malloc(sizeof *s.str_len);
    s.str_len[0] = 4;
    s.n_strings = 1;
    s.frames = calloc(1, sizeof *s.frames);
    s.n_frames = 1;
    s.frame_ids = calloc(1, sizeof *s.frame_ids);
    s.n_frame_ids = 1;
    s.tbs = calloc(1, sizeof *s.tbs);
    s.tbs[0].nframe = 1;
    s.n_tbs = 1;
    for (int k = 0; k < 100; k++) {
        uint32_t si, fi, ti;
        assert_int_equal(pytm_snap_add_string(&s, "more.py", 7, &si), 0);
        assert_int_equal(pytm_snap_add_frame(&s, si, 1, &fi), 0);
        assert_int_equal(pytm_snap_add_tb(&s, &fi, 1, 1, &ti), 0);
    }
    assert_int_equal(pytm_snap_validate(&s), 0);
    assert_string_equal(pytm_snap_string(&s, 0), "x.py");
    assert_string_equal(pytm_snap_string(&s, 100), "more.py");
    assert_int_equal(s.n_frame_ids, 101);
    pytm_snap_free(&s);
}

/* One broken invariant per case; `undo` restores the fixture. */
static void
test_validate_rejects(void **state)
{
    struct fixture *f = *state;
    struct pytm_snap *s = &f->s;
    assert_int_equal(pytm_snap_validate(NULL), PYTM_E_INVAL);
#define BROKEN(stmt_break, stmt_undo)                                     \
    do {                                                                  \
        assert_int_equal(pytm_snap_validate(s), 0);                       \
        stmt_break;                                                       \
        assert_int_equal(pytm_snap_validate(s), PYTM_E_CORRUPT);          \
        stmt_undo;                                                        \
    } while (0)
    uint64_t off = s->str_off[1];
    BROKEN(s->str_off[1] = s->str_pool_size, s->str_off[1] = off);
    BROKEN(s->str_off[1] = UINT64_MAX - 1, s->str_off[1] = off);
    BROKEN(s->str_len[1] = 5, s->str_len[1] = 4);      /* NUL at wrong byte */
    BROKEN(s->str_len[1] = UINT32_MAX, s->str_len[1] = 4);
    BROKEN(s->str_pool[off + 4] = 'X', s->str_pool[off + 4] = '\0');
    uint64_t pool = s->str_pool_size;
    BROKEN(s->str_pool_size = off + 4, s->str_pool_size = pool); /* NUL out */
    BROKEN(s->frames[1].filename = 2, s->frames[1].filename = 1);
    BROKEN(s->frame_ids[1] = 2, s->frame_ids[1] = 0);
    BROKEN(s->tbs[0].nframe = 3, s->tbs[0].nframe = 2);
    BROKEN(s->tbs[1].frames_at = 3, s->tbs[1].frames_at = 2);
    BROKEN((s->tbs[1].frames_at = UINT32_MAX, s->tbs[1].nframe = UINT32_MAX),
           (s->tbs[1].frames_at = 2, s->tbs[1].nframe = 0));
    BROKEN(s->traces[2].tb = 2, s->traces[2].tb = 1);
    BROKEN(s->meta.flags &= ~PYTM_SNAP_HAS_TRACES,
           s->meta.flags |= PYTM_SNAP_HAS_TRACES);
    struct pytm_snap_frame *frames = s->frames;
    BROKEN(s->frames = NULL, s->frames = frames);
    char *p = s->str_pool;
    BROKEN(s->str_pool = NULL, s->str_pool = p);
    struct pytm_snap_tb *tbs = s->tbs;
    BROKEN(s->tbs = NULL, s->tbs = tbs);
#undef BROKEN
    assert_int_equal(pytm_snap_validate(s), 0);

    struct pytm_snap empty;
    pytm_snap_init(&empty);
    assert_int_equal(pytm_snap_validate(&empty), 0);
}

static void
test_copy(void **state)
{
    struct fixture *f = *state;
    struct pytm_snap d;
    memset(&d, 0xA5, sizeof d); /* need not be initialised */
    assert_int_equal(pytm_snap_copy(&d, &f->s), 0);
    assert_int_equal(pytm_snap_validate(&d), 0);
    assert_ptr_not_equal(d.str_pool, f->s.str_pool);
    assert_ptr_not_equal(d.tbs, f->s.tbs);
    assert_ptr_not_equal(d.meta.cmdline, f->s.meta.cmdline);
    assert_string_equal(d.meta.cmdline, "prog");
    assert_int_equal(d.n_traces, 3);
    assert_int_equal(d.meta.flags, f->s.meta.flags);
    assert_memory_equal(d.frame_ids, f->s.frame_ids,
                        f->s.n_frame_ids * sizeof *d.frame_ids);
    /* deep: changing the source does not reach the copy */
    f->s.str_pool[0] = 'z';
    f->s.tbs[0].size = 777;
    f->s.traces[0].est_size = 1;
    assert_string_equal(pytm_snap_string(&d, 0), "a.py");
    assert_int_equal(d.tbs[0].size, 0);
    assert_int_equal(d.traces[0].est_size, 100);
    /* a copy can be appended to */
    uint32_t i;
    assert_int_equal(pytm_snap_add_string(&d, "c.py", 4, &i), 0);
    assert_int_equal(i, 2);
    pytm_snap_free(&d);
    pytm_snap_free(&d); /* safe twice */
    assert_null(d.str_pool);

    struct pytm_snap e;
    pytm_snap_init(&e);
    assert_int_equal(pytm_snap_copy(&d, &e), 0); /* empty copies */
    assert_int_equal(pytm_snap_validate(&d), 0);
    assert_null(d.meta.cmdline);
    pytm_snap_free(&d);
    pytm_snap_free(NULL);
}

static void
test_aggregate_traces(void **state)
{
    struct fixture *f = *state;
    struct pytm_snap *s = &f->s;
    s->tbs[0].size = 999; /* stale values are replaced, not added to */
    s->tbs[1].samples = -3;
    s->tbs[0].alloc_size = 12345;
    pytm_snap_aggregate_traces(s);
    assert_int_equal(s->tbs[0].size, 150);
    assert_int_equal(s->tbs[0].count, 2);
    assert_int_equal(s->tbs[0].samples, 2);
    assert_int_equal(s->tbs[1].size, 4096);
    assert_int_equal(s->tbs[1].count, 2);
    assert_int_equal(s->tbs[1].samples, 1);
    assert_int_equal(s->tbs[0].alloc_size, 12345); /* cumulative kept */

    /* an out-of-range trace (unvalidated input) is skipped, no overrun */
    s->traces[1].tb = 7;
    pytm_snap_aggregate_traces(s);
    assert_int_equal(s->tbs[0].size, 100);
    assert_int_equal(s->tbs[0].samples, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_builders),
        T(test_builders_on_exact_arrays),
        T(test_validate_rejects),
        T(test_copy),
        T(test_aggregate_traces),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
