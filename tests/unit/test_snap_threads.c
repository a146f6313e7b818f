/* Unit tests for model/snap_threads: per-thread tbs of one stack merge
 * into one (sums, traces remapped), splits keep the parts, totals by
 * thread, the filter, hostile figures (wrapping sums, thread out of
 * range). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "model/pytm_error.h"
#include "model/snap.h"
#include "model/snap_threads.h"

#include "snap_testlib.h"

static void
test_merge_and_totals(void **state)
{
    (void)state;
    struct pytm_snap s;
    uint16_t th[3];
    st_build_two_threads(&s, th);
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
    st_build_two_threads(&s, th);
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
    st_build_two_threads(&s, th);
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
