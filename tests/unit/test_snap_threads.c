/* Unit tests for model/snap_threads: per-thread tbs of one stack merge
 * into one (sums, traces remapped), splits keep the parts, totals by
 * thread, the filter, hostile figures (wrapping sums, thread out of
 * range). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/pytm_error.h"
#include "model/snap.h"
#include "model/snap_threads.h"

/* tb0 = [a.py:1] thread 1, tb1 = [a.py:1] thread 2 (same stack), tb2 =
 * [a.py:2] thread 2; two named threads. */
static void
build(struct pytm_snap *s, uint16_t *thread)
{
    uint32_t sa, sn, f1, f2, t;
    pytm_snap_init(s);
    assert_int_equal(pytm_snap_add_string(s, "a.py", 4, &sa), 0);
    assert_int_equal(pytm_snap_add_string(s, "beta", 4, &sn), 0);
    assert_int_equal(pytm_snap_add_frame(s, sa, 1, &f1), 0);
    assert_int_equal(pytm_snap_add_frame(s, sa, 2, &f2), 0);
    assert_int_equal(pytm_snap_add_tb(s, &f1, 1, 1, &t), 0);
    s->tbs[t].size = 100;
    s->tbs[t].count = 1;
    assert_int_equal(pytm_snap_add_tb(s, &f1, 1, 1, &t), 0);
    s->tbs[t].size = 300;
    s->tbs[t].count = 3;
    assert_int_equal(pytm_snap_add_tb(s, &f2, 1, 1, &t), 0);
    s->tbs[t].size = 7;
    s->tbs[t].count = 1;
    s->threads = calloc(2, sizeof *s->threads);
    s->n_threads = 2;
    strcpy(s->threads[0].os_name, "os-alpha");
    s->threads[0].py_name = PYTM_SNAP_NO_NAME;
    s->threads[1].py_name = sn;
    thread[0] = 1;
    thread[1] = 2;
    thread[2] = 2;
}

static void
test_merge_and_totals(void **state)
{
    (void)state;
    struct pytm_snap s;
    uint16_t th[3];
    build(&s, th);
    assert_int_equal(pytm_snap_threads_split(&s, th), 0);
    assert_int_equal(pytm_snap_validate(&s), 0);
    assert_int_equal(s.n_tbs, 2);
    assert_int_equal(s.tbs[0].size, 400);
    assert_int_equal(s.tbs[0].count, 4);
    assert_int_equal(s.tbs[1].size, 7);
    assert_int_equal(s.n_splits, 3);
    assert_int_equal(s.splits[1].tb, 0);
    assert_int_equal(s.splits[2].tb, 1);
    struct pytm_snap_thread_total t[3];
    pytm_snap_threads_totals(&s, t);
    assert_int_equal(t[0].size, 0);
    assert_int_equal(t[1].size, 100);
    assert_int_equal(t[2].size, 307);
    assert_string_equal(pytm_snap_thread_name(&s, 1), "os-alpha");
    assert_string_equal(pytm_snap_thread_name(&s, 2), "beta");
    assert_string_equal(pytm_snap_thread_name(&s, 0), "<unknown>");
    assert_int_equal(pytm_snap_threads_filter(&s, 2), 0);
    assert_int_equal(s.tbs[0].size, 300);
    assert_int_equal(s.tbs[1].size, 7);
    assert_int_equal(pytm_snap_validate(&s), 0);
    pytm_snap_free(&s);
}

/* GIVEN split figures that do not cover the tbs (a filtered copy zeroes
 * them) WHEN totalled THEN the rest goes to "unknown": the sum over
 * threads is the sum over tbs. */
static void
test_totals_remainder_is_unknown(void **state)
{
    (void)state;
    struct pytm_snap s;
    uint16_t th[3];
    build(&s, th);
    assert_int_equal(pytm_snap_threads_split(&s, th), 0);
    s.splits[1].size = s.splits[1].count = 0; /* thread 2's 300 */
    struct pytm_snap_thread_total t[3];
    pytm_snap_threads_totals(&s, t);
    assert_int_equal(t[0].size, 300);
    assert_int_equal(t[0].count, 3);
    assert_int_equal(t[1].size, 100);
    assert_int_equal(t[2].size, 7);
    for (uint64_t i = 0; i < s.n_splits; i++)
        s.splits[i].size = s.splits[i].count = 0;
    pytm_snap_threads_totals(&s, t);
    assert_int_equal(t[0].size, 407);
    assert_int_equal(t[1].size + t[2].size, 0);
    pytm_snap_free(&s);
}

static void
test_hostile(void **state)
{
    (void)state;
    struct pytm_snap s;
    uint16_t th[3];
    build(&s, th);
    th[1] = 3; /* > n_threads */
    assert_int_equal(pytm_snap_threads_split(&s, th), PYTM_E_CORRUPT);
    assert_int_equal(s.n_tbs, 3); /* unchanged */
    th[1] = 2;
    s.tbs[0].size = INT64_MAX;
    s.tbs[1].size = INT64_MAX; /* the sum wraps instead of UB */
    assert_int_equal(pytm_snap_threads_split(&s, th), 0);
    assert_int_equal(s.tbs[0].size, -2);
    pytm_snap_free(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_and_totals),
        cmocka_unit_test(test_totals_remainder_is_unknown),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
