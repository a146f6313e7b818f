/* Unit tests for model/thread_rows: rows of the threads taking part
 * (and only "<unknown>" without thread data), the diff joined by (tid,
 * ident) with base-only threads appended, every sort order, lookup by
 * identity, duplicate identities in a hostile base. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "model/pytm_error.h"
#include "model/snap.h"
#include "model/snap_threads.h"
#include "model/thread_rows.h"

#include "snap_testlib.h"

struct fixture {
    struct pytm_snap cur;  /* a.py:1 t1 100 B/1, a.py:1 t2 300 B/3,
                              a.py:2 t2 7 B/1 */
    struct pytm_snap base;
    struct pytm_thread_rows rows;
};

/* st_build_two_threads' snapshot, split by thread (or, without
 * `threads`, with no thread data), validated. */
static void
build(struct pytm_snap *s, bool threads)
{
    uint16_t th[3];
    st_build_two_threads(s, threads ? th : NULL);
    if (threads)
        assert_int_equal(pytm_snap_threads_split(s, th), 0);
    assert_int_equal(pytm_snap_validate(s), 0);
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    build(&f->cur, true);
    pytm_snap_init(&f->base);
    pytm_thread_rows_init(&f->rows);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    pytm_thread_rows_free(&f->rows);
    pytm_snap_free(&f->cur);
    pytm_snap_free(&f->base);
    free(f);
    return 0;
}

static void
test_rows_by_thread(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(pytm_thread_rows_build(&f->rows, &f->cur, NULL), 0);
    /* <unknown> holds nothing here: no row for it */
    assert_int_equal(f->rows.n_rows, 2);
    assert_false(f->rows.diffed);
    const struct pytm_thread_row *r = f->rows.rows;
    assert_string_equal(r[0].name, "beta");
    assert_int_equal(r[0].thread, 2);
    assert_int_equal(r[0].tid, 22);
    assert_int_equal(r[0].ident, 0x2200);
    assert_int_equal(r[0].size, 307);
    assert_int_equal(r[0].count, 4);
    assert_int_equal(r[0].size_diff, 307);
    assert_string_equal(r[1].name, "os-alpha");
    assert_int_equal(r[1].size, 100);
    assert_int_equal(f->rows.total_size, 407);
    assert_int_equal(f->rows.total_count, 5);
}

static void
test_no_thread_data_is_unknown(void **state)
{
    struct fixture *f = *state;
    struct pytm_snap s;
    build(&s, false); /* a dump or arena without thread data */
    assert_int_equal(pytm_thread_rows_build(&f->rows, &s, NULL), 0);
    assert_int_equal(f->rows.n_rows, 1);
    assert_string_equal(f->rows.rows[0].name, "<unknown>");
    assert_int_equal(f->rows.rows[0].thread, 0);
    assert_int_equal(f->rows.rows[0].tid, 0);
    assert_int_equal(f->rows.rows[0].size, 407);
    assert_int_equal(f->rows.total_size, 407);
    pytm_thread_rows_free(&f->rows);
    pytm_snap_free(&s);
}

static void
test_diff_joins_by_identity(void **state)
{
    struct fixture *f = *state;
    /* base: only os-alpha's figures, and its threads in the other order
     * (another session's indices) */
    assert_int_equal(pytm_snap_copy(&f->base, &f->cur), 0);
    assert_int_equal(pytm_snap_threads_filter(&f->base, 1), 0);
    struct pytm_snap_thread tmp = f->base.threads[0];
    f->base.threads[0] = f->base.threads[1];
    f->base.threads[1] = tmp;
    for (uint64_t i = 0; i < f->base.n_splits; i++)
        f->base.splits[i].thread = 3 - f->base.splits[i].thread;
    assert_int_equal(pytm_snap_validate(&f->base), 0);
    /* os-alpha had 60 B: its split and its stack's aggregate, which
     * must agree (what no split covers counts as "<unknown>") */
    f->base.tbs[f->base.splits[0].tb].size -= f->base.splits[0].size - 60;
    f->base.splits[0].size = 60;

    assert_int_equal(pytm_thread_rows_build(&f->rows, &f->cur, &f->base), 0);
    assert_true(f->rows.diffed);
    assert_int_equal(f->rows.n_rows, 2);
    assert_string_equal(f->rows.rows[0].name, "beta");
    assert_int_equal(f->rows.rows[0].size_diff, 307);
    assert_string_equal(f->rows.rows[1].name, "os-alpha");
    assert_int_equal(f->rows.rows[1].size_diff, 40);
    assert_int_equal(f->rows.rows[1].count_diff, 0);

    /* reversed: beta is only in the base */
    assert_int_equal(pytm_thread_rows_build(&f->rows, &f->base, &f->cur), 0);
    assert_int_equal(f->rows.n_rows, 2);
    const struct pytm_thread_row *b = &f->rows.rows[1];
    assert_string_equal(b->name, "beta");
    assert_int_equal(b->flags, PYTM_THREAD_ROW_BASE);
    assert_int_equal(b->size, 0);
    assert_int_equal(b->size_diff, -307);
    assert_int_equal(b->count_diff, -4);
    assert_int_equal(f->rows.rows[0].size_diff, -40);
    assert_int_equal(pytm_thread_rows_sort(&f->rows, PYTM_MODEL_SORT_COMPARE, true), 0);
    assert_string_equal(f->rows.rows[0].name, "beta");
    assert_int_equal(pytm_thread_rows_sort(&f->rows, PYTM_MODEL_SORT_SIZE_DIFF, false), 0);
    assert_string_equal(f->rows.rows[0].name, "beta");
    assert_int_equal(pytm_thread_rows_sort(&f->rows, PYTM_MODEL_SORT_COUNT_DIFF, true), 0);
    assert_string_equal(f->rows.rows[0].name, "os-alpha");
}

static void
test_orders(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(pytm_thread_rows_build(&f->rows, &f->cur, NULL), 0);
    const struct pytm_thread_row *r = f->rows.rows;
    assert_int_equal(pytm_thread_rows_sort(&f->rows, PYTM_MODEL_SORT_SIZE, false), 0);
    assert_string_equal(r[0].name, "os-alpha");
    assert_int_equal(pytm_thread_rows_sort(&f->rows, PYTM_MODEL_SORT_COUNT, true), 0);
    assert_string_equal(r[0].name, "beta");
    /* avg: os-alpha 100 B per block, beta 76.75 */
    assert_int_equal(pytm_thread_rows_sort(&f->rows, PYTM_MODEL_SORT_AVG, true), 0);
    assert_string_equal(r[0].name, "os-alpha");
    assert_int_equal(pytm_thread_rows_sort(&f->rows, PYTM_MODEL_SORT_LOCATION, false), 0);
    assert_string_equal(r[0].name, "beta");
    assert_int_equal(pytm_thread_rows_sort(&f->rows, PYTM_MODEL_SORT_LOCATION, true), 0);
    assert_string_equal(r[0].name, "os-alpha");
    assert_int_equal(pytm_thread_rows_sort(&f->rows, PYTM_MODEL_N_SORTS, true),
                     PYTM_E_INVAL);
    assert_string_equal(r[0].name, "os-alpha"); /* unchanged */
}

static void
test_find_and_hostile_base(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(pytm_thread_rows_find(&f->cur, 22, 0x2200), 2);
    assert_int_equal(pytm_thread_rows_find(&f->cur, 11, 0x1100), 1);
    assert_int_equal(pytm_thread_rows_find(&f->cur, 0, 0), 0);
    assert_int_equal(pytm_thread_rows_find(&f->cur, 22, 0x1100),
                     PYTM_THREAD_ROWS_NONE);
    /* a base whose two threads claim one identity: the first joins, the
     * second shows as base-only; nothing is counted twice */
    assert_int_equal(pytm_snap_copy(&f->base, &f->cur), 0);
    f->base.threads[1].tid = 11;
    f->base.threads[1].ident = 0x1100;
    assert_int_equal(pytm_thread_rows_build(&f->rows, &f->cur, &f->base), 0);
    int64_t sum = 0, diff = 0;
    for (size_t i = 0; i < f->rows.n_rows; i++) {
        sum += f->rows.rows[i].size;
        diff += f->rows.rows[i].size_diff;
    }
    assert_int_equal(sum, 407);
    assert_int_equal(diff, 0);
    assert_int_equal(f->rows.n_rows, 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_by_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_thread_data_is_unknown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diff_joins_by_identity, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_and_hostile_base, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
