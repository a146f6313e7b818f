/* test_arena: the fixture and the test functions shared by test_arena.c
 * (single-threaded cases, main) and test_arena_mt.c (threaded cases). */
#ifndef PYTM_TEST_ARENA_H
#define PYTM_TEST_ARENA_H

#include "test_shm_util.h"

#include <limits.h>
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

/* A 1 MiB arena (the minimum), nframe 1, in f's directory; the caller
 * closes it. Fails the test when it cannot be created. */
struct pytm_arena *test_arena_min(const struct fixture *f,
                                  uint32_t max_threads);

void test_intern_threads(void **state);
void test_record_threads(void **state);
void test_thread_slots(void **state);
void test_thread_slots_threads(void **state);
void test_split_budget_folds(void **state);

#endif /* PYTM_TEST_ARENA_H */
