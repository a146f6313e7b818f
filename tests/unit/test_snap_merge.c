/* Unit tests for model/snap_merge: index shifting (the merge validates
 * and the model finds every input's rows), sums, the split prefix and
 * its parser, meta rules (EXITED, mixed interval), empty input, threads
 * and per-thread splits carried over (an input without them as
 * "<unknown>"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/model.h"
#include "model/pytm_error.h"
#include "model/snap.h"
#include "model/snap_merge.h"
#include "model/snap_threads.h"
#include "snap_testlib.h"

/* A process snapshot: tb0 = [a.py:1] of `a` bytes, tb1 = [own:2, a.py:1]
 * of `b` bytes, where `own` is a filename only this process has. */
static void
build(struct pytm_snap *s, const char *own, int64_t a, int64_t b)
{
    pytm_snap_init(s);
    st_add_tb(s, (struct st_frame[]){{"a.py", 1}}, 1, 1, a, 1);
    st_add_tb(s, (struct st_frame[]){{own, 2}, {"a.py", 1}}, 2, 2, b, 2);
    s->totals.traced_current = a + b;
    s->totals.traced_peak = 2 * (a + b);
    s->totals.n_allocs = 10;
    s->totals.threads_unknown = 3;
    s->totals.stacks_folded = 5;
    s->meta.sample_interval = 512;
    s->meta.cmdline = strdup(own);
    assert_int_equal(pytm_snap_validate(s), 0);
}

/* Two processes: pid 11 "one.py" (a.py:1 100 B, one.py:2 7 B) and pid 22
 * "two.py" (a.py:1 1000 B, two.py:2 70 B), an empty merge target and a
 * model table. */
struct fx {
    struct pytm_snap p1, p2, m;
    struct pytm_snap_merge_in in[2];
    struct pytm_model_table t;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    build(&f->p1, "one.py", 100, 7);
    build(&f->p2, "two.py", 1000, 70);
    pytm_snap_init(&f->m);
    f->in[0] = (struct pytm_snap_merge_in){11, &f->p1};
    f->in[1] = (struct pytm_snap_merge_in){22, &f->p2};
    pytm_model_init(&f->t);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    pytm_model_free(&f->t);
    pytm_snap_free(&f->m);
    pytm_snap_free(&f->p1);
    pytm_snap_free(&f->p2);
    free(f);
    return 0;
}

static void
test_sum_joins_same_line(void **state)
{
    struct fx *f = *state;
    struct pytm_snap *m = &f->m;
    assert_int_equal(pytm_snap_merge(m, f->in, 2, false), 0);
    assert_int_equal(pytm_snap_validate(m), 0);
    assert_int_equal(m->n_tbs, 4);
    assert_int_equal(m->totals.traced_current, 1177);
    assert_int_equal(m->totals.traced_peak, 2354);
    assert_int_equal(m->totals.n_allocs, 20);
    assert_int_equal(m->totals.threads_unknown, 6);
    assert_int_equal(m->totals.stacks_folded, 10);
    assert_int_equal(m->meta.sample_interval, 512);
    assert_string_equal(m->meta.cmdline, "one.py");
    assert_false(m->meta.flags & PYTM_SNAP_EXITED);

    struct pytm_model_opts o = {.group = PYTM_MODEL_LINENO};
    assert_int_equal(pytm_model_build(&f->t, m, &o), 0);
    assert_int_equal(f->t.n_rows, 3); /* a.py:1 joined, one.py:2, two.py:2 */
    assert_int_equal(f->t.total_size, 1177);
    assert_non_null(st_find_row(&f->t, "a.py", 1));
    assert_int_equal(st_find_row(&f->t, "a.py", 1)->size, 1100);
    assert_int_equal(st_find_row(&f->t, "one.py", 2)->size, 7);
    assert_int_equal(st_find_row(&f->t, "two.py", 2)->size, 70);
}

static void
test_split_keeps_processes_apart(void **state)
{
    struct fx *f = *state;
    struct pytm_model_table *t = &f->t;
    assert_int_equal(pytm_snap_merge(&f->m, f->in, 2, true), 0);
    assert_int_equal(pytm_snap_validate(&f->m), 0);
    struct pytm_model_opts o = {.group = PYTM_MODEL_LINENO};
    assert_int_equal(pytm_model_build(t, &f->m, &o), 0);
    assert_int_equal(t->n_rows, 4);
    assert_int_equal(st_find_row(t, "[11] a.py", 1)->size, 100);
    assert_int_equal(st_find_row(t, "[22] a.py", 1)->size, 1000);
    assert_int_equal(st_find_row(t, "[22] two.py", 2)->size, 70);
    assert_int_equal(t->total_size, 1177);
    int64_t pid;
    const char *rest;
    const struct pytm_model_row *r = st_find_row(t, "[22] two.py", 2);
    assert_true(pytm_snap_merge_split_pid(r->filename, &pid, &rest));
    assert_int_equal(pid, 22);
    assert_string_equal(rest, "two.py");
    /* the traceback key also goes through the prefixed names */
    o.group = PYTM_MODEL_TRACEBACK;
    assert_int_equal(pytm_model_build(t, &f->m, &o), 0);
    assert_int_equal(t->n_rows, 4);
}

static void
test_meta_rules(void **state)
{
    struct fx *f = *state;
    struct pytm_snap *m = &f->m;
    f->p1.meta.flags |= PYTM_SNAP_EXITED;
    assert_int_equal(pytm_snap_merge(m, f->in, 2, false), 0);
    assert_false(m->meta.flags & PYTM_SNAP_EXITED); /* one still runs */
    f->p2.meta.flags |= PYTM_SNAP_EXITED;
    f->p2.meta.sample_interval = 1;
    assert_int_equal(pytm_snap_merge(m, f->in, 2, false), 0);
    assert_true(m->meta.flags & PYTM_SNAP_EXITED);
    assert_int_equal(m->meta.sample_interval, 0); /* mixed */
    /* merging again replaces (no leak under ASan/valgrind) */
    assert_int_equal(pytm_snap_merge(m, f->in, 1, false), 0);
    assert_int_equal(m->n_tbs, 2);
    assert_int_equal(m->meta.sample_interval, 512);
    assert_int_equal(pytm_snap_merge(m, NULL, 0, true), 0);
    assert_int_equal(m->n_tbs, 0);
    assert_int_equal(pytm_snap_validate(m), 0);
    assert_int_equal(pytm_snap_merge(NULL, f->in, 1, false), PYTM_E_INVAL);
    const struct pytm_snap_merge_in bad[1] = {{1, NULL}};
    assert_int_equal(pytm_snap_merge(m, bad, 1, false), PYTM_E_INVAL);
}

static void
test_threads_carried_over(void **state)
{
    struct fx *f = *state;
    struct pytm_snap *m = &f->m;
    /* no input has thread data: nor has the merge */
    assert_int_equal(pytm_snap_merge(m, f->in, 2, false), 0);
    assert_int_equal(m->n_threads, 0);
    assert_int_equal(m->n_splits, 0);
    /* p1: both its tbs recorded by one thread named "one.py" (one of its
     * strings) */
    st_add_thread(&f->p1, 5, 6, "", "one.py");
    const uint16_t th[2] = {1, 1};
    assert_int_equal(pytm_snap_threads_split(&f->p1, th), 0);
    /* p2 first, so that p1's tb, thread and string indices shift */
    const struct pytm_snap_merge_in in[2] = {f->in[1], f->in[0]};
    for (int split = 0; split < 2; split++) {
        assert_int_equal(pytm_snap_merge(m, in, 2, split), 0);
        assert_int_equal(pytm_snap_validate(m), 0);
        assert_int_equal(m->n_threads, 1);
        assert_int_equal(m->n_splits, 4);
        assert_int_equal(m->threads[0].tid, 5);
        struct pytm_snap_thread_total t[2];
        pytm_snap_threads_totals(m, t);
        assert_int_equal(t[0].size, 1070); /* p2: no thread data */
        assert_int_equal(t[1].size, 107);
        assert_int_equal(t[1].count, 3);
        assert_string_equal(pytm_snap_thread_name(m, 1),
                            split ? "[11] one.py" : "one.py");
        assert_int_equal(pytm_snap_threads_filter(m, 1), 0);
        assert_int_equal(pytm_snap_validate(m), 0);
        int64_t sum = 0;
        for (uint32_t i = 0; i < m->n_tbs; i++)
            sum += m->tbs[i].size;
        assert_int_equal(sum, 107);
    }
}

static void
test_split_pid_parser(void **state)
{
    (void)state;
    int64_t pid;
    const char *rest;
    assert_true(pytm_snap_merge_split_pid("[7] x", &pid, &rest));
    assert_int_equal(pid, 7);
    assert_string_equal(rest, "x");
    static const char *no[] = {"a.py", "[] a", "[12]a", "[1x] a", "[12", ""};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        assert_false(pytm_snap_merge_split_pid(no[i], &pid, &rest));
        assert_int_equal(pid, 0);
        assert_ptr_equal(rest, no[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sum_joins_same_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_split_keeps_processes_apart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_carried_over, setup,
                                        teardown),
        cmocka_unit_test(test_split_pid_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
