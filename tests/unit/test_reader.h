/* test_reader: fixture and helpers shared by test_reader.c (attach,
 * liveness, list/clean, permissions; main), test_reader_corrupt.c
 * (validation of hostile arenas) and test_reader_holes.c (file holes
 * below the published counts). */
#ifndef PYTM_TEST_READER_H
#define PYTM_TEST_READER_H

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
#include "shm/reader.h"
#include "model/snap.h"

/* setup() creates and fills a writer arena in a temp dir:
 *   strings  "main.py", "lib/util.py", ""
 *   frames   f0 = main.py:10, f1 = lib/util.py:20, f2 = main.py:11
 *   tbs      t0 = [f0] total 1, t1 = [f1, f0] total 5, t2 = [] total 0
 *   records  t0: +100, +100, -100; t1: +4096 (count 2)
 *   count    allocs 10, dropped 3 */
struct fixture {
    char dir[64];
    struct pytm_arena_config cfg;
    struct pytm_arena *a;
    struct pytm_arena_header *h;
    uint32_t s[3], f[3], t[3];
    struct pytm_snap snap; /* initialised; freed by teardown */
};

/* Copies the fixture's arena to <dir>/<name> (mode 0600) and returns a
 * read-write MAP_SHARED mapping of the copy (*size bytes) for mutation;
 * munmap it with the size. The path goes to path_out (PATH_MAX). */
uint8_t *test_reader_copy(struct fixture *f, const char *name,
                          char *path_out, size_t *size);

/* open_path then snapshot; returns the first error, or 0. After a
 * failed snapshot checks that the output snapshot is empty. */
int test_reader_try(const char *path, struct pytm_snap *snap);

void test_corrupt_header(void **state);
void test_corrupt_tables(void **state);
void test_truncated_after_attach(void **state);
/* test_reader_holes.c */
void test_corrupt_holes(void **state);
void test_holes_unchecked_without_seek_hole(void **state);

#endif /* PYTM_TEST_READER_H */
