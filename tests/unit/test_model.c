/* Unit tests for model/: grouping by each key, tracebacks that
 * differ only by total_nframe merging, nframe 0 as ("<unknown>", 0),
 * cumulative sums with tracemalloc's duplicate-frame rule, diff against
 * a baseline built from a snapshot with a different string order
 * (joined, added and removed rows), every sort column both ways,
 * tracemalloc's key order (tracebacks compare oldest frame first), and
 * the filename filter; the viewer's fast path: a partial sort
 * (sort_top) whose leading rows are the full sort's, opts.unsorted and
 * n_sorted, and one baseline table serving several diffs. Snapshots are built by hand with the snap
 * builders; expected figures are worked out in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/pytm_error.h"
#include "model/snap.h"
#include "model/model.h"
#include "snap_testlib.h"

struct fixture {
    struct pytm_snap cur;  /* "current" snapshot */
    struct pytm_snap base; /* baseline, strings interned in another order */
    struct pytm_model_table t;
    struct pytm_model_table tb; /* base table */
    struct pytm_model_table ref; /* reference (fully sorted) table */
};

/* cur:
 *   T0 [a.py:1, main.py:10]  size 100 count 2
 *   T1 [a.py:1, main.py:20]  size  50 count 1
 *   T2 [b.py:5]              size 300 count 3
 *   T3 [a.py:2, main.py:10]  size  10 count 1
 *   T4 []                    size   7 count 1   -> ("<unknown>", 0)
 *   T5 [c.py:9]              size   0 count 0   (all freed: no row)
 */
static void
build_cur(struct pytm_snap *s)
{
    st_add_tb(s, (struct st_frame[]){{"a.py", 1}, {"main.py", 10}},
              2, 2, 100, 2);
    st_add_tb(s, (struct st_frame[]){{"a.py", 1}, {"main.py", 20}},
              2, 2, 50, 1);
    st_add_tb(s, (struct st_frame[]){{"b.py", 5}}, 1, 1, 300, 3);
    st_add_tb(s, (struct st_frame[]){{"a.py", 2}, {"main.py", 10}},
              2, 2, 10, 1);
    st_add_tb(s, NULL, 0, 0, 7, 1);
    st_add_tb(s, (struct st_frame[]){{"c.py", 9}}, 1, 1, 0, 0);
    assert_int_equal(pytm_snap_validate(s), 0);
}

/* base (strings interned in reverse order so indices differ):
 *   [z.py:3]   size 40 count 4      (only in base: removed)
 *   [b.py:5]   size 100 count 1     (b.py:5 grows by 200 / 2)
 *   [a.py:1, main.py:10] size 100 count 2   (unchanged)
 */
static void
build_base(struct pytm_snap *s)
{
    st_intern(s, "z.py");
    st_intern(s, "main.py");
    st_intern(s, "b.py");
    st_intern(s, "a.py");
    st_add_tb(s, (struct st_frame[]){{"z.py", 3}}, 1, 1, 40, 4);
    st_add_tb(s, (struct st_frame[]){{"b.py", 5}}, 1, 1, 100, 1);
    st_add_tb(s, (struct st_frame[]){{"a.py", 1}, {"main.py", 10}},
              2, 2, 100, 2);
    assert_int_equal(pytm_snap_validate(s), 0);
}

static int
setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof *f);
    if (!f)
        return -1;
    pytm_snap_init(&f->cur);
    pytm_snap_init(&f->base);
    pytm_model_init(&f->t);
    pytm_model_init(&f->tb);
    pytm_model_init(&f->ref);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    pytm_model_free(&f->t);
    pytm_model_free(&f->tb);
    pytm_model_free(&f->ref);
    pytm_snap_free(&f->cur);
    pytm_snap_free(&f->base);
    test_free(f);
    return 0;
}

static void
build(struct pytm_model_table *t, const struct pytm_snap *s,
      enum pytm_model_group g, bool cum, const char *filter)
{
    struct pytm_model_opts o = {.group = g, .cumulative = cum, .filter = filter};
    assert_int_equal(pytm_model_build(t, s, &o), 0);
}

static void
expect_row(const struct pytm_model_table *t, size_t i, const char *file,
           uint32_t line, int64_t size, int64_t count)
{
    assert_true(i < t->n_rows);
    assert_string_equal(t->rows[i].filename, file);
    assert_int_equal(t->rows[i].lineno, line);
    assert_int_equal(t->rows[i].size, size);
    assert_int_equal(t->rows[i].count, count);
}

/* ---- grouping --------------------------------------------------------- */

static void
test_group_lineno(void **state)
{
    struct fixture *f = *state;
    build_cur(&f->cur);
    build(&f->t, &f->cur, PYTM_MODEL_LINENO, false, NULL);
    /* statistics order: size desc */
    assert_int_equal(f->t.n_rows, 4);
    expect_row(&f->t, 0, "b.py", 5, 300, 3);
    expect_row(&f->t, 1, "a.py", 1, 150, 3);
    expect_row(&f->t, 2, "a.py", 2, 10, 1);
    expect_row(&f->t, 3, "<unknown>", 0, 7, 1);
    assert_int_equal(f->t.total_size, 467);
    assert_int_equal(f->t.total_count, 8);
    assert_int_equal(f->t.n_tbs, 5);
    /* representative of a.py:1 is T0 (largest member), 2 tracebacks */
    assert_int_equal(f->t.rows[1].tb, 0);
    assert_int_equal(f->t.rows[1].n_tbs, 2);
    assert_int_equal(f->t.rows[1].size_diff, 150);
    assert_int_equal(f->t.rows[1].flags & PYTM_MODEL_ROW_BASE, 0);
    assert_true(pytm_model_row_has_tb(&f->t, &f->t.rows[1], 1));
    assert_false(pytm_model_row_has_tb(&f->t, &f->t.rows[1], 2));
}

static void
test_group_filename(void **state)
{
    struct fixture *f = *state;
    build_cur(&f->cur);
    build(&f->t, &f->cur, PYTM_MODEL_FILENAME, false, NULL);
    assert_int_equal(f->t.n_rows, 3);
    expect_row(&f->t, 0, "b.py", 0, 300, 3);
    expect_row(&f->t, 1, "a.py", 0, 160, 4);
    expect_row(&f->t, 2, "<unknown>", 0, 7, 1);
    assert_int_equal(f->t.rows[1].n_tbs, 3);
}

static void
test_group_traceback_merges_total_nframe(void **state)
{
    struct fixture *f = *state;
    build_cur(&f->cur);
    /* same frames as T0 but a deeper captured stack, and a third one
     * with the frames in another order (a different key) */
    st_add_tb(&f->cur, (struct st_frame[]){{"a.py", 1}, {"main.py", 10}},
              2, 9, 1000, 5);
    st_add_tb(&f->cur, (struct st_frame[]){{"main.py", 10}, {"a.py", 1}},
              2, 2, 1, 1);
    build(&f->t, &f->cur, PYTM_MODEL_TRACEBACK, false, NULL);
    /* T0+T6, T1, T2, T3, T4, T7 */
    assert_int_equal(f->t.n_rows, 6);
    const struct pytm_model_row *r = &f->t.rows[0];
    assert_int_equal(r->size, 1100);
    assert_int_equal(r->count, 7);
    assert_int_equal(r->n_tbs, 2);
    assert_int_equal(r->nframe, 2);
    assert_int_equal(r->tb, 6);           /* the larger member */
    assert_int_equal(r->total_nframe, 9); /* the representative's depth */
    assert_string_equal(r->filename, "a.py"); /* most recent frame */
    assert_int_equal(r->lineno, 1);
    assert_true(pytm_model_row_has_tb(&f->t, r, 0));
    assert_false(pytm_model_row_has_tb(&f->t, r, 7));
    /* the "<unknown>" traceback has one frame */
    const struct pytm_model_row *u = st_find_row(&f->t, "<unknown>", 0);
    assert_non_null(u);
    assert_int_equal(u->nframe, 1);
    assert_int_equal(u->size, 7);
}

static void
test_cumulative_lineno_duplicates(void **state)
{
    struct fixture *f = *state;
    /* X [f.py:1, f.py:1, main.py:1] size 10 count 1: f.py:1 twice.
     * Y [g.py:4, main.py:1]         size 5  count 2 */
    st_add_tb(&f->cur,
              (struct st_frame[]){{"f.py", 1}, {"f.py", 1}, {"main.py", 1}},
              3, 3, 10, 1);
    st_add_tb(&f->cur, (struct st_frame[]){{"g.py", 4}, {"main.py", 1}},
              2, 2, 5, 2);
    build(&f->t, &f->cur, PYTM_MODEL_LINENO, true, NULL);
    assert_int_equal(f->t.n_rows, 3);
    expect_row(&f->t, 0, "f.py", 1, 20, 2);
    expect_row(&f->t, 1, "main.py", 1, 15, 3);
    expect_row(&f->t, 2, "g.py", 4, 5, 2);
    /* totals are not the sum of rows */
    assert_int_equal(f->t.total_size, 15);
    assert_int_equal(f->t.rows[0].n_tbs, 1);
    /* non-cumulative for contrast */
    build(&f->t, &f->cur, PYTM_MODEL_LINENO, false, NULL);
    assert_int_equal(f->t.n_rows, 2);
    expect_row(&f->t, 0, "f.py", 1, 10, 1);
}

static void
test_cumulative_filename_per_frame(void **state)
{
    struct fixture *f = *state;
    /* X [f.py:1, f.py:2, main.py:1] size 10 count 1: f.py counted for
     * both of its frames. Y [main.py:7, main.py:1] size 3 count 1. */
    st_add_tb(&f->cur,
              (struct st_frame[]){{"f.py", 1}, {"f.py", 2}, {"main.py", 1}},
              3, 3, 10, 1);
    st_add_tb(&f->cur, (struct st_frame[]){{"main.py", 7}, {"main.py", 1}},
              2, 2, 3, 1);
    build(&f->t, &f->cur, PYTM_MODEL_FILENAME, true, NULL);
    assert_int_equal(f->t.n_rows, 2);
    expect_row(&f->t, 0, "f.py", 0, 20, 2);
    expect_row(&f->t, 1, "main.py", 0, 16, 3);
    assert_true(pytm_model_row_has_tb(&f->t, &f->t.rows[0], 0));
    assert_false(pytm_model_row_has_tb(&f->t, &f->t.rows[0], 1));
}

static void
test_invalid_options(void **state)
{
    struct fixture *f = *state;
    build_cur(&f->cur);
    struct pytm_model_opts o = {.group = PYTM_MODEL_TRACEBACK, .cumulative = true};
    assert_int_equal(pytm_model_build(&f->t, &f->cur, &o), PYTM_E_INVAL);
    assert_int_equal(f->t.n_rows, 0);
    o = (struct pytm_model_opts){.group = PYTM_MODEL_N_GROUPS};
    assert_int_equal(pytm_model_build(&f->t, &f->cur, &o), PYTM_E_INVAL);
    assert_int_equal(pytm_model_build(&f->t, NULL, &o), PYTM_E_INVAL);
    assert_int_equal(pytm_model_sort(&f->t, PYTM_MODEL_N_SORTS, true),
                     PYTM_E_INVAL);
}

/* ---- diff --------------------------------------------------------------- */

static void
test_diff_lineno(void **state)
{
    struct fixture *f = *state;
    build_cur(&f->cur);
    build_base(&f->base);
    build(&f->t, &f->cur, PYTM_MODEL_LINENO, false, NULL);
    build(&f->tb, &f->base, PYTM_MODEL_LINENO, false, NULL);
    assert_int_equal(pytm_model_diff(&f->t, &f->tb), 0);
    assert_true(f->t.diffed);
    assert_int_equal(f->t.base_total_size, 240);
    assert_int_equal(f->t.n_rows, 5);
    /* compare_to order: abs(size_diff), size, abs(count_diff), count, key */
    const struct pytm_model_row *r = &f->t.rows[0];
    assert_string_equal(r->filename, "b.py");
    assert_int_equal(r->size, 300);
    assert_int_equal(r->size_diff, 200);
    assert_int_equal(r->count_diff, 2);
    r = &f->t.rows[1]; /* a.py:1: 150 - 100 */
    assert_string_equal(r->filename, "a.py");
    assert_int_equal(r->lineno, 1);
    assert_int_equal(r->size_diff, 50);
    assert_int_equal(r->count_diff, 1);
    r = &f->t.rows[2]; /* z.py:3 only in base */
    assert_string_equal(r->filename, "z.py");
    assert_int_equal(r->lineno, 3);
    assert_int_equal(r->size, 0);
    assert_int_equal(r->count, 0);
    assert_int_equal(r->size_diff, -40);
    assert_int_equal(r->count_diff, -4);
    assert_true(r->flags & PYTM_MODEL_ROW_BASE);
    assert_ptr_equal(pytm_model_row_snap(&f->t, r), &f->base);
    assert_int_equal(r->tb, 0);
    r = &f->t.rows[3]; /* a.py:2 new: diff == own figures */
    assert_string_equal(r->filename, "a.py");
    assert_int_equal(r->lineno, 2);
    assert_int_equal(r->size_diff, 10);
    assert_false(r->flags & PYTM_MODEL_ROW_BASE);
    assert_string_equal(f->t.rows[4].filename, "<unknown>");
    assert_int_equal(f->t.rows[4].size_diff, 7);
    /* a second diff is refused */
    assert_int_equal(pytm_model_diff(&f->t, &f->tb), PYTM_E_INVAL);
}

static void
test_diff_traceback_and_mismatch(void **state)
{
    struct fixture *f = *state;
    build_cur(&f->cur);
    build_base(&f->base);
    build(&f->t, &f->cur, PYTM_MODEL_TRACEBACK, false, NULL);
    build(&f->tb, &f->base, PYTM_MODEL_TRACEBACK, false, NULL);
    assert_int_equal(pytm_model_diff(&f->t, &f->tb), 0);
    /* T0 joined with base's [a.py:1, main.py:10]: diff 0 */
    int joined = 0;
    for (size_t i = 0; i < f->t.n_rows; i++) {
        const struct pytm_model_row *r = &f->t.rows[i];
        if (strcmp(r->filename, "a.py") == 0 && r->lineno == 1 && r->size == 100) {
            assert_int_equal(r->size_diff, 0);
            assert_int_equal(r->count_diff, 0);
            joined++;
        }
    }
    assert_int_equal(joined, 1);
    /* 6 current (T5 freed is absent) ... 5 current + z.py */
    assert_int_equal(f->t.n_rows, 6);
    /* tables grouped differently cannot be diffed */
    build(&f->t, &f->cur, PYTM_MODEL_FILENAME, false, NULL);
    assert_int_equal(pytm_model_diff(&f->t, &f->tb), PYTM_E_INVAL);
}

/* ---- sort --------------------------------------------------------------- */

static int
sgn(int64_t v)
{
    return (v > 0) - (v < 0);
}

static int64_t
absv(int64_t v)
{
    return v < 0 ? -v : v;
}

/* Reference comparison of two rows for `sort` (ascending). */
static int
ref_cmp(const struct pytm_model_table *t, enum pytm_model_sort s,
        const struct pytm_model_row *a, const struct pytm_model_row *b)
{
    int64_t ka[5] = {0}, kb[5] = {0};
    int n = 0;
    double da = a->count > 0 ? (double)a->size / (double)a->count : 0.0;
    double db = b->count > 0 ? (double)b->size / (double)b->count : 0.0;
    switch (s) {
    case PYTM_MODEL_SORT_SIZE:
        ka[0] = a->size, kb[0] = b->size, ka[1] = a->count, kb[1] = b->count, n = 2;
        break;
    case PYTM_MODEL_SORT_SIZE_DIFF:
        ka[0] = a->size_diff, kb[0] = b->size_diff, ka[1] = a->size, kb[1] = b->size;
        ka[2] = a->count_diff, kb[2] = b->count_diff, ka[3] = a->count,
        kb[3] = b->count, n = 4;
        break;
    case PYTM_MODEL_SORT_COUNT:
        ka[0] = a->count, kb[0] = b->count, ka[1] = a->size, kb[1] = b->size, n = 2;
        break;
    case PYTM_MODEL_SORT_COUNT_DIFF:
        ka[0] = a->count_diff, kb[0] = b->count_diff, ka[1] = a->count,
        kb[1] = b->count, ka[2] = a->size_diff, kb[2] = b->size_diff,
        ka[3] = a->size, kb[3] = b->size, n = 4;
        break;
    case PYTM_MODEL_SORT_AVG:
        if (da != db)
            return da < db ? -1 : 1;
        ka[0] = a->size, kb[0] = b->size, ka[1] = a->count, kb[1] = b->count, n = 2;
        break;
    case PYTM_MODEL_SORT_LOCATION:
        break;
    case PYTM_MODEL_SORT_COMPARE:
        ka[0] = absv(a->size_diff), kb[0] = absv(b->size_diff), ka[1] = a->size,
        kb[1] = b->size, ka[2] = absv(a->count_diff), kb[2] = absv(b->count_diff),
        ka[3] = a->count, kb[3] = b->count, n = 4;
        break;
    default:
        fail();
    }
    for (int i = 0; i < n; i++)
        if (ka[i] != kb[i])
            return ka[i] < kb[i] ? -1 : 1;
    return sgn(pytm_model_key_cmp(t, a, b));
}

static void
test_sort_every_column(void **state)
{
    struct fixture *f = *state;
    build_cur(&f->cur);
    build_base(&f->base);
    /* ties: same size/count at different lines to exercise the key */
    st_add_tb(&f->cur, (struct st_frame[]){{"d.py", 3}}, 1, 1, 10, 1);
    st_add_tb(&f->cur, (struct st_frame[]){{"d.py", 2}}, 1, 1, 10, 1);
    st_add_tb(&f->cur, (struct st_frame[]){{"e.py", 1}}, 1, 1, 30, 1);
    build(&f->t, &f->cur, PYTM_MODEL_LINENO, false, NULL);
    build(&f->tb, &f->base, PYTM_MODEL_LINENO, false, NULL);
    assert_int_equal(pytm_model_diff(&f->t, &f->tb), 0);
    size_t n = f->t.n_rows;
    assert_int_equal(n, 8);
    for (int s = 0; s < PYTM_MODEL_N_SORTS; s++)
        for (int desc = 0; desc < 2; desc++) {
            assert_int_equal(pytm_model_sort(&f->t, (enum pytm_model_sort)s, desc), 0);
            assert_int_equal(f->t.n_rows, n);
            assert_int_equal(f->t.sort, s);
            assert_int_equal(f->t.descending, desc);
            for (size_t i = 1; i < n; i++) {
                int c = ref_cmp(&f->t, (enum pytm_model_sort)s, &f->t.rows[i - 1],
                                &f->t.rows[i]);
                if (desc ? c <= 0 : c >= 0)
                    print_error("sort %s desc=%d rows %zu/%zu out of order\n",
                                pytm_model_sort_name((enum pytm_model_sort)s),
                                desc, i - 1, i);
                assert_true(desc ? c > 0 : c < 0);
            }
        }
    /* a concrete check: size ascending starts with the removed z.py:3
     * (size 0), location ascending is by (filename, line) */
    assert_int_equal(pytm_model_sort(&f->t, PYTM_MODEL_SORT_SIZE, false), 0);
    assert_string_equal(f->t.rows[0].filename, "z.py");
    assert_int_equal(pytm_model_sort(&f->t, PYTM_MODEL_SORT_LOCATION, false), 0);
    expect_row(&f->t, 0, "<unknown>", 0, 7, 1);
    expect_row(&f->t, 1, "a.py", 1, 150, 3);
    expect_row(&f->t, 2, "a.py", 2, 10, 1);
    expect_row(&f->t, 4, "d.py", 2, 10, 1);
    expect_row(&f->t, 5, "d.py", 3, 10, 1);
    /* size desc ties (d.py:2 vs d.py:3, both 10/1, a.py:2 too): larger
     * key first, as Python's sort(reverse=True) */
    assert_int_equal(pytm_model_sort(&f->t, PYTM_MODEL_SORT_SIZE, true), 0);
    size_t i = 0;
    while (i < n && f->t.rows[i].size != 10)
        i++;
    expect_row(&f->t, i, "d.py", 3, 10, 1);
    expect_row(&f->t, i + 1, "d.py", 2, 10, 1);
    expect_row(&f->t, i + 2, "a.py", 2, 10, 1);
}

static void
test_traceback_key_order_oldest_first(void **state)
{
    struct fixture *f = *state;
    /* P = [z.py:1, a.py:1] -> _frames (a.py:1, z.py:1)
     * Q = [a.py:2, b.py:1] -> _frames (b.py:1, a.py:2)
     * R = [a.py:1]         -> _frames (a.py:1): a proper prefix of P
     * Equal size and count: statistics() orders by key descending, so
     * Q, P, R. (Most-recent-first order would give P first.) */
    st_add_tb(&f->cur, (struct st_frame[]){{"z.py", 1}, {"a.py", 1}},
              2, 2, 8, 1);
    st_add_tb(&f->cur, (struct st_frame[]){{"a.py", 2}, {"b.py", 1}},
              2, 2, 8, 1);
    st_add_tb(&f->cur, (struct st_frame[]){{"a.py", 1}}, 1, 1, 8, 1);
    build(&f->t, &f->cur, PYTM_MODEL_TRACEBACK, false, NULL);
    assert_int_equal(f->t.n_rows, 3);
    assert_int_equal(f->t.rows[0].tb, 1);
    assert_int_equal(f->t.rows[1].tb, 0);
    assert_int_equal(f->t.rows[2].tb, 2);
    assert_true(pytm_model_key_cmp(&f->t, &f->t.rows[2], &f->t.rows[1]) < 0);
    assert_true(pytm_model_key_cmp(&f->t, &f->t.rows[0], &f->t.rows[1]) > 0);
    assert_int_equal(pytm_model_key_cmp(&f->t, &f->t.rows[0], &f->t.rows[0]), 0);
}

/* ---- the viewer's fast path: unsorted build, partial sort ------------- */

static void
build_opts(struct pytm_model_table *t, const struct pytm_snap *s,
           enum pytm_model_group g, bool unsorted)
{
    struct pytm_model_opts o = {.group = g, .unsorted = unsorted};
    assert_int_equal(pytm_model_build(t, s, &o), 0);
}

/* n tracebacks over n distinct lines of 3 files, sizes and counts from
 * an LCG with a small range so that many rows tie on the first number
 * (the partial sort must never split such a tie wrongly). `salt`
 * changes the figures (a baseline with other sizes); the current side
 * drops every 5th line and the baseline every 7th, so a diff has rows
 * on both sides and rows only in one. */
static void
build_big(struct pytm_snap *s, uint32_t n, uint32_t salt)
{
    static const char *files[] = {"p.py", "q.py", "r.py"};
    uint32_t x = 12345u + salt;
    for (uint32_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        if (salt ? i % 7 == 0 : i % 5 == 0)
            continue;
        int64_t size = (int64_t)((x >> 16) % 40) * 8;
        int64_t count = (int64_t)((x >> 8) % 5) + 1;
        st_add_tb(s,
                  (struct st_frame[]){{files[i % 3], i + 1},
                                      {"main.py", i % 11}},
                  2, 2, size, count);
    }
    assert_int_equal(pytm_snap_validate(s), 0);
}

static bool
same_row(const struct pytm_model_row *a, const struct pytm_model_row *b)
{
    return strcmp(a->filename, b->filename) == 0 && a->lineno == b->lineno
           && a->size == b->size && a->count == b->count
           && a->size_diff == b->size_diff && a->count_diff == b->count_diff;
}

static void
test_sort_top_leading_rows_equal_full_sort(void **state)
{
    struct fixture *f = *state;
    build_big(&f->cur, 400, 0);
    build_big(&f->base, 400, 99);
    build_opts(&f->tb, &f->base, PYTM_MODEL_LINENO, true);
    static const size_t ks[] = {0, 1, 5, 37, 150, 199, 200, 1000};
    for (int s = 0; s < PYTM_MODEL_N_SORTS; s++)
        for (int desc = 0; desc < 2; desc++) {
            build_opts(&f->ref, &f->cur, PYTM_MODEL_LINENO, false);
            assert_int_equal(pytm_model_diff(&f->ref, &f->tb), 0);
            assert_int_equal(pytm_model_sort(&f->ref, (enum pytm_model_sort)s,
                                             desc), 0);
            size_t n = f->ref.n_rows;
            assert_true(n > 320); /* 320 current rows + base-only rows */
            for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
                size_t k = ks[ki];
                build_opts(&f->t, &f->cur, PYTM_MODEL_LINENO, true);
                assert_int_equal(pytm_model_diff(&f->t, &f->tb), 0);
                assert_int_equal(f->t.n_sorted, 0);
                assert_int_equal(pytm_model_sort_top(&f->t, (enum pytm_model_sort)s,
                                                     desc, k), 0);
                assert_int_equal(f->t.n_rows, n);
                assert_int_equal(f->t.sort, s);
                assert_int_equal(f->t.descending, desc);
                size_t want = k < n ? k : n;
                assert_true(f->t.n_sorted >= want && f->t.n_sorted <= n);
                for (size_t i = 0; i < f->t.n_sorted; i++) {
                    if (!same_row(&f->t.rows[i], &f->ref.rows[i]))
                        print_error("sort %s desc=%d k=%zu: row %zu differs\n",
                                    pytm_model_sort_name((enum pytm_model_sort)s),
                                    desc, k, i);
                    assert_true(same_row(&f->t.rows[i], &f->ref.rows[i]));
                }
                /* the other rows are still all there */
                int64_t sum = 0, ref_sum = 0;
                for (size_t i = 0; i < n; i++) {
                    sum += f->t.rows[i].size * 3 + f->t.rows[i].size_diff;
                    ref_sum += f->ref.rows[i].size * 3 + f->ref.rows[i].size_diff;
                }
                assert_int_equal(sum, ref_sum);
                /* asking again for fewer rows changes nothing */
                size_t had = f->t.n_sorted;
                assert_int_equal(pytm_model_sort_top(&f->t, (enum pytm_model_sort)s,
                                                     desc, want / 2), 0);
                assert_int_equal(f->t.n_sorted, had);
            }
        }
    assert_int_equal(pytm_model_sort_top(&f->t, PYTM_MODEL_N_SORTS, true, 3),
                     PYTM_E_INVAL);
}

static void
test_unsorted_build_and_n_sorted(void **state)
{
    struct fixture *f = *state;
    build_cur(&f->cur);
    build_base(&f->base);
    /* default: sorted by size descending, every row */
    build_opts(&f->ref, &f->cur, PYTM_MODEL_LINENO, false);
    assert_int_equal(f->ref.n_sorted, f->ref.n_rows);
    /* unsorted: same rows, none promised in order */
    build_opts(&f->t, &f->cur, PYTM_MODEL_LINENO, true);
    assert_int_equal(f->t.n_rows, 4);
    assert_int_equal(f->t.n_sorted, 0);
    for (size_t i = 0; i < f->ref.n_rows; i++) {
        const struct pytm_model_row *r = st_find_row(&f->t,
                                                     f->ref.rows[i].filename,
                                              f->ref.rows[i].lineno);
        assert_non_null(r);
        assert_true(same_row(r, &f->ref.rows[i]));
    }
    /* a diff of an unsorted table stays unsorted ... */
    build_opts(&f->tb, &f->base, PYTM_MODEL_LINENO, true);
    assert_int_equal(pytm_model_diff(&f->t, &f->tb), 0);
    assert_int_equal(f->t.n_rows, 5);
    assert_int_equal(f->t.n_sorted, 0);
    /* ... a diff of a sorted one is in compare_to order, fully */
    assert_int_equal(pytm_model_diff(&f->ref, &f->tb), 0);
    assert_int_equal(f->ref.n_sorted, 5);
    assert_int_equal(f->ref.sort, PYTM_MODEL_SORT_COMPARE);
    assert_true(f->ref.descending);
    expect_row(&f->ref, 0, "b.py", 5, 300, 3); /* |+200| first */
    /* a full sort sets n_sorted to n_rows; a rebuild resets it */
    assert_int_equal(pytm_model_sort(&f->t, PYTM_MODEL_SORT_SIZE, true), 0);
    assert_int_equal(f->t.n_sorted, 5);
    expect_row(&f->t, 0, "b.py", 5, 300, 3);
    expect_row(&f->t, 4, "z.py", 3, 0, 0);
    build_opts(&f->t, &f->cur, PYTM_MODEL_LINENO, true);
    assert_int_equal(f->t.n_sorted, 0);
}

static void
test_one_base_table_serves_many_diffs(void **state)
{
    struct fixture *f = *state;
    build_cur(&f->cur);
    build_base(&f->base);
    build_opts(&f->tb, &f->base, PYTM_MODEL_LINENO, true);
    size_t base_rows = f->tb.n_rows;
    for (int round = 0; round < 3; round++) {
        build_opts(&f->t, &f->cur, PYTM_MODEL_LINENO, round != 1);
        assert_int_equal(pytm_model_diff(&f->t, &f->tb), 0);
        assert_int_equal(f->t.n_rows, 5);
        const struct pytm_model_row *b = st_find_row(&f->t, "b.py", 5);
        const struct pytm_model_row *z = st_find_row(&f->t, "z.py", 3);
        const struct pytm_model_row *a = st_find_row(&f->t, "a.py", 1);
        assert_non_null(b);
        assert_non_null(z);
        assert_non_null(a);
        assert_int_equal(b->size_diff, 200);
        assert_int_equal(b->count_diff, 2);
        assert_int_equal(z->size_diff, -40);
        assert_true(z->flags & PYTM_MODEL_ROW_BASE);
        assert_int_equal(a->size_diff, 150 - 100);
        assert_int_equal(f->t.base_total_size, 240);
        /* the base table is only read */
        assert_false(f->tb.diffed);
        assert_int_equal(f->tb.n_rows, base_rows);
    }
    /* and another snapshot against it: the baseline itself, all zero */
    build_opts(&f->ref, &f->base, PYTM_MODEL_LINENO, true);
    assert_int_equal(pytm_model_diff(&f->ref, &f->tb), 0);
    assert_int_equal(f->ref.n_rows, base_rows);
    for (size_t i = 0; i < f->ref.n_rows; i++) {
        assert_int_equal(f->ref.rows[i].size_diff, 0);
        assert_int_equal(f->ref.rows[i].count_diff, 0);
    }
    /* a diffed table cannot serve as a base */
    assert_int_equal(pytm_model_diff(&f->t, &f->ref), PYTM_E_INVAL);
}

/* ---- filter and names --------------------------------------------------- */

static void
test_filter(void **state)
{
    struct fixture *f = *state;
    build_cur(&f->cur);
    build(&f->t, &f->cur, PYTM_MODEL_LINENO, false, "a.*");
    assert_int_equal(f->t.n_rows, 2);
    expect_row(&f->t, 0, "a.py", 1, 150, 3);
    expect_row(&f->t, 1, "a.py", 2, 10, 1);
    /* totals stay those of the whole snapshot (for "% of total") */
    assert_int_equal(f->t.total_size, 467);
    build(&f->t, &f->cur, PYTM_MODEL_FILENAME, false, "*b.py");
    assert_int_equal(f->t.n_rows, 1);
    expect_row(&f->t, 0, "b.py", 0, 300, 3);
    build(&f->t, &f->cur, PYTM_MODEL_LINENO, false, "nomatch");
    assert_int_equal(f->t.n_rows, 0);
    build(&f->t, &f->cur, PYTM_MODEL_LINENO, false, ""); /* clears */
    assert_int_equal(f->t.n_rows, 4);
}

static void
test_names(void **state)
{
    (void)state;
    enum pytm_model_group g;
    enum pytm_model_sort s;
    assert_int_equal(pytm_model_group_parse("traceback", &g), 0);
    assert_int_equal(g, PYTM_MODEL_TRACEBACK);
    assert_int_equal(pytm_model_group_parse("nope", &g), PYTM_E_INVAL);
    assert_int_equal(pytm_model_sort_parse("count_diff", &s), 0);
    assert_int_equal(s, PYTM_MODEL_SORT_COUNT_DIFF);
    assert_string_equal(pytm_model_sort_title(PYTM_MODEL_SORT_SIZE_DIFF), "Size Diff");
    assert_string_equal(pytm_model_group_name(PYTM_MODEL_N_GROUPS), "?");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_lineno, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_filename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_traceback_merges_total_nframe,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cumulative_lineno_duplicates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cumulative_filename_per_frame, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_invalid_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_lineno, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_traceback_and_mismatch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sort_every_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_traceback_key_order_oldest_first,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sort_top_leading_rows_equal_full_sort,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsorted_build_and_n_sorted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_base_table_serves_many_diffs,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
