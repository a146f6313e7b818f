/* Unit tests for model/snapfilter: tracemalloc's Filter/DomainFilter
 * rules (inclusive OR-ed, exclusive AND-ed, lineno, all_frames, domain,
 * the "<unknown>" frame) evaluated per traceback, kept traces and
 * recomputed aggregates, and the INVAL preconditions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pytm_error.h"
#include "snap.h"
#include "snapfilter.h"

/* setup() builds: strings 0 "a.py", 1 "b.py" (2 = "<unknown>" in match
 * tables); frames f0 a.py:1, f1 b.py:2, f2 a.py:7;
 * tbs t0 = [f1, f0] (most recent b.py:2), t1 = [f0], t2 = [] (unknown),
 *     t3 = [f2, f1];
 * traces: #0 t0 10B d0, #1 t1 20B d0, #2 t1 30B d5, #3 t2 40B d0,
 *         #4 t3 50B d0. */
struct fixture {
    struct pytm_snap s;
    struct pytm_snap out;
    uint8_t match_a[3];   /* a.py only */
    uint8_t match_unk[3]; /* "<unknown>" only */
};

static int
build(struct pytm_snap *s)
{
    uint32_t i, f[3];
    int rc = pytm_snap_add_string(s, "a.py", 4, &i)
             | pytm_snap_add_string(s, "b.py", 4, &i)
             | pytm_snap_add_frame(s, 0, 1, &f[0])
             | pytm_snap_add_frame(s, 1, 2, &f[1])
             | pytm_snap_add_frame(s, 0, 7, &f[2]);
    const uint32_t t0[2] = {f[1], f[0]}, t1[1] = {f[0]}, t3[2] = {f[2], f[1]};
    rc |= pytm_snap_add_tb(s, t0, 2, 2, &i) | pytm_snap_add_tb(s, t1, 1, 1, &i)
          | pytm_snap_add_tb(s, NULL, 0, 0, &i)
          | pytm_snap_add_tb(s, t3, 2, 2, &i);
    const struct pytm_snap_trace tr[5] = {
        {10, 10, 1, 0, 0}, {20, 20, 1, 1, 0}, {30, 30, 1, 1, 5},
        {40, 40, 1, 2, 0}, {50, 50, 1, 3, 0}};
    for (int k = 0; k < 5; k++)
        rc |= pytm_snap_add_trace(s, &tr[k]);
    s->meta.flags |= PYTM_SNAP_HAS_TRACES;
    s->meta.sample_interval = 1;
    return rc == 0 && pytm_snap_validate(s) == 0 ? 0 : -1;
}

static int
setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof *f);
    if (!f)
        return -1;
    pytm_snap_init(&f->s);
    pytm_snap_init(&f->out);
    if (build(&f->s) != 0)
        return -1;
    const uint8_t a[3] = {1, 0, 0}, unk[3] = {0, 0, 1};
    memcpy(f->match_a, a, 3);
    memcpy(f->match_unk, unk, 3);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    pytm_snap_free(&f->s);
    pytm_snap_free(&f->out);
    test_free(f);
    return 0;
}

static struct pytm_snapfilter
frame_filter(const uint8_t *match, bool inclusive)
{
    struct pytm_snapfilter flt = {
        .kind = PYTM_SNAPFILTER_FRAME, .inclusive = inclusive,
        .any_lineno = true, .name_match = match, .name_match_len = 3,
        .any_domain = true};
    return flt;
}

/* The kept traces as a bit set: trace #n has size 10 * (n + 1), so bit
 * size/10 - 1 stands for it. */
static unsigned
kept_set(const struct pytm_snap *out)
{
    unsigned bits = 0;
    for (uint64_t i = 0; i < out->n_traces; i++)
        bits |= 1u << (out->traces[i].size / 10 - 1);
    return bits;
}

#define T(n) (1u << (n)) /* trace #n kept */

static void
apply(struct fixture *f, const struct pytm_snapfilter *flt, size_t n)
{
    assert_int_equal(pytm_snapfilter_apply(&f->s, flt, n, &f->out), 0);
    assert_int_equal(pytm_snap_validate(&f->out), 0);
}

static void
test_most_recent_frame_only(void **state)
{
    struct fixture *f = *state;
    struct pytm_snapfilter flt = frame_filter(f->match_a, true);
    apply(f, &flt, 1);
    /* t1 and t3 (a.py:7) are a.py at the top; t0's top is b.py */
    assert_int_equal(kept_set(&f->out), T(1) | T(2) | T(4));
    flt.inclusive = false;
    apply(f, &flt, 1);
    assert_int_equal(kept_set(&f->out), T(0) | T(3));
}

static void
test_all_frames_and_lineno(void **state)
{
    struct fixture *f = *state;
    struct pytm_snapfilter flt = frame_filter(f->match_a, true);
    flt.all_frames = true;
    apply(f, &flt, 1);
    assert_int_equal(kept_set(&f->out), T(0) | T(1) | T(2) | T(4));
    flt.any_lineno = false;
    flt.lineno = 1; /* a.py:1 anywhere: t0 and t1, not t3 (a.py:7) */
    apply(f, &flt, 1);
    assert_int_equal(kept_set(&f->out), T(0) | T(1) | T(2));
    flt.all_frames = false; /* a.py:1 at the top: t1 only */
    apply(f, &flt, 1);
    assert_int_equal(kept_set(&f->out), T(1) | T(2));
}

static void
test_unknown_frame(void **state)
{
    struct fixture *f = *state;
    struct pytm_snapfilter flt = frame_filter(f->match_unk, true);
    flt.any_lineno = false;
    flt.lineno = 0;
    apply(f, &flt, 1);
    assert_int_equal(kept_set(&f->out), T(3));
}

static void
test_domain_rules(void **state)
{
    struct fixture *f = *state;
    struct pytm_snapfilter d = {.kind = PYTM_SNAPFILTER_DOMAIN,
                                .inclusive = true, .domain = 5};
    apply(f, &d, 1);
    assert_int_equal(kept_set(&f->out), T(2));
    d.inclusive = false;
    apply(f, &d, 1);
    assert_int_equal(kept_set(&f->out), T(0) | T(1) | T(3) | T(4));
    d.never_domain = true; /* a domain no trace can have */
    apply(f, &d, 1);
    assert_int_equal(kept_set(&f->out), 0x1f);
    /* Filter with a domain: inclusive needs both; exclusive drops only
     * a hit in that domain */
    struct pytm_snapfilter flt = frame_filter(f->match_a, true);
    flt.any_domain = false;
    flt.domain = 5;
    apply(f, &flt, 1);
    assert_int_equal(kept_set(&f->out), T(2));
    flt.inclusive = false;
    apply(f, &flt, 1);
    assert_int_equal(kept_set(&f->out), T(0) | T(1) | T(3) | T(4));
}

static void
test_inclusive_or_exclusive_and(void **state)
{
    struct fixture *f = *state;
    struct pytm_snapfilter flt[3] = {frame_filter(f->match_a, true),
                                     frame_filter(f->match_unk, true),
                                     {.kind = PYTM_SNAPFILTER_DOMAIN,
                                      .inclusive = false, .domain = 5}};
    apply(f, flt, 2); /* a.py at the top OR unknown */
    assert_int_equal(kept_set(&f->out), T(1) | T(2) | T(3) | T(4));
    apply(f, flt, 3); /* ... AND not domain 5 */
    assert_int_equal(kept_set(&f->out), T(1) | T(3) | T(4));
    apply(f, flt, 0); /* no filter: everything, in order */
    assert_int_equal(f->out.n_traces, 5);
    for (uint64_t i = 0; i < 5; i++)
        assert_int_equal(f->out.traces[i].size, f->s.traces[i].size);
}

static void
test_aggregates_recomputed(void **state)
{
    struct fixture *f = *state;
    struct pytm_snapfilter d = {.kind = PYTM_SNAPFILTER_DOMAIN,
                                .inclusive = false, .domain = 5};
    apply(f, &d, 1);
    assert_int_equal(f->out.n_tbs, f->s.n_tbs);
    assert_int_equal(f->out.tbs[1].size, 20); /* trace #2 (30B) dropped */
    assert_int_equal(f->out.tbs[1].count, 1);
    assert_int_equal(f->out.tbs[0].size, 10);
    for (uint64_t i = 0; i < f->s.n_traces; i++)
        assert_true(pytm_snapfilter_match(&f->s, &d, i)
                    == (f->s.traces[i].domain != 5));
}

static void
test_select_and_inval(void **state)
{
    struct fixture *f = *state;
    const uint8_t keep[5] = {1, 0, 0, 1, 0};
    assert_int_equal(pytm_snapfilter_select(&f->s, keep, 5, &f->out), 0);
    assert_int_equal(kept_set(&f->out), T(0) | T(3));
    assert_int_equal(pytm_snapfilter_select(&f->s, keep, 4, &f->out),
                     PYTM_E_INVAL);
    assert_int_equal(f->out.n_traces, 0); /* emptied on failure */
    struct pytm_snapfilter flt = frame_filter(f->match_a, true);
    flt.name_match_len = 2; /* does not cover "<unknown>" */
    assert_int_equal(pytm_snapfilter_apply(&f->s, &flt, 1, &f->out),
                     PYTM_E_INVAL);
    f->s.meta.flags &= ~PYTM_SNAP_HAS_TRACES;
    flt.name_match_len = 3;
    assert_int_equal(pytm_snapfilter_apply(&f->s, &flt, 1, &f->out),
                     PYTM_E_INVAL);
    f->s.meta.flags |= PYTM_SNAP_HAS_TRACES;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_most_recent_frame_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_all_frames_and_lineno, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inclusive_or_exclusive_and,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregates_recomputed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_select_and_inval, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
