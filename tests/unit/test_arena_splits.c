/* test_arena: per-thread tracebacks (splits), their budget and folding
 * (shm/arena_intern.c split_locked, docs/arena.md "Threads"). */
#include "test_arena.h"

#include <stdatomic.h>

#include "shm/arena_internal.h"

/* GIVEN a 1 MiB arena and one stack recorded by thread 1
 * WHEN thread after thread asks for its own tb of that stack
 * THEN each gets one sharing the frame list until the splits reach
 * 1/16 of the tb section; the next thread folds the stack (its first
 * tb goes to thread 0, stacks_folded 1) and shares it, as do later
 * threads and thread 1 itself, and a new stack still gets a tb. */
void
test_split_budget_folds(void **state)
{
    struct pytm_arena *b = test_arena_min(*state, 1024);
    struct pytm_arena_header *h = pytm_arena_header(b);
    uint64_t budget = h->tracebacks.capacity / PYTM_ARENA_SPLIT_SHARE;
    assert_int_equal(h->thread_ids.capacity, PYTM_ARENA_MIN_SIZE / 64 / 32);

    uint32_t sid, fr[4], th, base = 0, tb;
    assert_int_equal(pytm_arena_intern_string(b, "a.py", 4, &sid), 0);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(pytm_arena_intern_frame(b, sid, i + 1, &fr[i]), 0);
    uint64_t n_thr = h->thread_ids.capacity;
    for (uint64_t i = 0; i < n_thr; i++)
        assert_int_equal(pytm_arena_intern_thread(b, (int32_t)i + 1, i, "t",
                                                  PYTM_ARENA_NO_NAME, &th),
                         0);
    assert_int_equal(pytm_arena_intern_thread(b, 1, 1, "t", PYTM_ARENA_NO_NAME,
                                              &th),
                     PYTM_E_FULL);
    assert_int_equal(atomic_load(&h->counters.threads_unknown), 1);

    /* stacks fr[j] of thread 1, then every other thread's split of it,
     * one tb each sharing the frame list, until the budget is spent */
    uint32_t j = 0, k = 2, stacks = 0;
    for (; j < 3; j++) {
        assert_int_equal(pytm_arena_intern_traceback_thread(b, &fr[j], 1, 1,
                                                            1, &base),
                         0);
        stacks++;
        uint32_t at = pytm_arena_tbs(b)[base].frames_at;
        for (k = 2; k <= n_thr && pytm_arena_tb_count(b) - stacks < budget;
             k++) {
            assert_int_equal(pytm_arena_intern_traceback_thread(
                                 b, &fr[j], 1, 1, k, &tb),
                             0);
            assert_int_equal(tb, pytm_arena_tb_count(b) - 1);
            assert_int_equal(pytm_arena_tbs(b)[tb].frames_at, at);
            assert_int_equal(atomic_load(&pytm_arena_tbs(b)[tb].thread), k);
        }
        if (k <= n_thr)
            break; /* budget spent on stack j, threads k.. left */
    }
    assert_true(j < 3);
    assert_int_equal(atomic_load(&h->published.frame_ids_used), stacks);
    uint32_t n = pytm_arena_tb_count(b);
    assert_int_equal(n - stacks, budget);
    /* the budget is spent: folded into the stack's first tb */
    assert_int_equal(pytm_arena_intern_traceback_thread(b, &fr[j], 1, 1, k,
                                                        &tb),
                     0);
    assert_int_equal(tb, base);
    assert_int_equal(atomic_load(&pytm_arena_tbs(b)[base].thread), 0);
    assert_int_equal(atomic_load(&h->counters.stacks_folded), 1);
    assert_true(k + 1 <= n_thr);
    assert_int_equal(pytm_arena_intern_traceback_thread(b, &fr[j], 1, 1,
                                                        k + 1, &tb),
                     0);
    assert_int_equal(tb, base);
    assert_int_equal(pytm_arena_intern_traceback_thread(b, &fr[j], 1, 1, 1,
                                                        &tb),
                     0);
    assert_int_equal(tb, base);
    /* threads with a split keep it */
    assert_int_equal(pytm_arena_intern_traceback_thread(b, &fr[j], 1, 1, 2,
                                                        &tb),
                     0);
    assert_int_equal(tb, base + 1);
    assert_int_equal(atomic_load(&h->counters.stacks_folded), 1);
    assert_int_equal(pytm_arena_tb_count(b), n);
    /* a new stack is not a split: it still gets its own tb */
    assert_int_equal(pytm_arena_intern_traceback_thread(b, &fr[3], 1, 1, 3,
                                                        &tb),
                     0);
    assert_int_equal(tb, n);
    pytm_arena_close(b, false, false);
}
