/* test_arena: the fixture and the test functions shared by test_arena.c
 * (single-threaded cases, main), test_arena_mt.c (threaded cases),
 * test_arena_splits.c and test_arena_backing.c (on-demand backing). */
#ifndef PYTM_TEST_ARENA_H
#define PYTM_TEST_ARENA_H

#include "test_shm_util.h"

#include <limits.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "shm/arena.h"
#include "model/pytm_error.h"

struct fixture {
    char dir[64];                  /* temp dir, the arena's shm_dir */
    struct pytm_arena_config cfg;  /* 4 MiB, 8 threads, nframe 4 */
    struct pytm_arena *a;          /* created by setup */
    struct pytm_arena_header *h;   /* its header */
};

/* Allocates *state, a fixture whose cfg is the 4 MiB one above in a new
 * directory made from dir_template by mkdtemp, with its arena created
 * when `create` (else f->a and f->h stay NULL). 0, or -1 with nothing
 * left behind but, when `create` failed, the fixture for teardown. */
int test_arena_fixture_setup(void **state, const char *dir_template,
                             bool create);

/* Closes f->a (if any), removes the directory, frees the fixture. */
int test_arena_fixture_teardown(void **state);

/* A 1 MiB arena (the minimum), nframe 1, in f's directory; the caller
 * closes it. Fails the test when it cannot be created. */
struct pytm_arena *test_arena_min(const struct fixture *f,
                                  uint32_t max_threads);

void test_intern_threads(void **state);
void test_record_threads(void **state);
void test_thread_slots(void **state);
void test_thread_slots_threads(void **state);
void test_split_budget_folds(void **state);

/* test_arena_backing.c: its own fixture (an arena dir on /dev/shm) */
int test_backing_setup(void **state);
int test_backing_teardown(void **state);
void test_backing_sparse_at_create(void **state);
void test_backing_follows_published(void **state);
void test_backing_failure_is_full(void **state);
void test_backing_forget_closes_fd(void **state);

#endif /* PYTM_TEST_ARENA_H */
