/* Fixture builders shared by the model-side unit tests (test_model,
 * test_snap_merge, test_snap_threads, test_thread_rows): hand-built
 * snapshots from (file, line) frame lists, tracebacks sharing one stack,
 * threads, and a model-table row lookup. Each helper asserts through cmocka, so
 * a failure fails the calling test; only model/snap.h and model/model.h
 * are used, so a test linking pytm_model alone can link this file.
 */
#ifndef PYTM_TEST_SNAP_TESTLIB_H
#define PYTM_TEST_SNAP_TESTLIB_H

#include <stdint.h>

#include "model/model.h"
#include "model/snap.h"

/* A frame for st_add_tb: file and line. */
struct st_frame {
    const char *file;
    uint32_t line;
};

/* Index of string `str` in s, added when missing. */
uint32_t st_intern(struct pytm_snap *s, const char *str);

/* Adds a traceback of n (<= 16) frames, most recent first, with
 * total_nframe `total` and live figures size, count (samples = count);
 * its strings are interned, its frames added anew. Returns its index. */
uint32_t st_add_tb(struct pytm_snap *s, const struct st_frame *frames,
                   uint32_t n, uint32_t total, int64_t size, int64_t count);

/* Adds one frame (file, line), its string interned, the frame itself
 * added anew. Returns its index. */
uint32_t st_add_frame(struct pytm_snap *s, const char *file, uint32_t line);

/* Like st_add_tb, over frames already in s (indices from st_add_frame):
 * tracebacks built from the same ids share one stack, which
 * pytm_snap_threads_split merges (st_add_tb's fresh frames never do). */
uint32_t st_add_tb_ids(struct pytm_snap *s, const uint32_t *frame_ids,
                       uint32_t n, uint32_t total, int64_t size,
                       int64_t count);

/* Appends a thread (tid, ident; os_name copied, truncated to fit;
 * py_name interned, or NULL for none). Returns its thread index + 1, the
 * number pytm_snap_threads_split takes. */
uint32_t st_add_thread(struct pytm_snap *s, int64_t tid, uint64_t ident,
                       const char *os_name, const char *py_name);

/* Initialises s as the thread tests' snapshot, not split yet:
 *   tb0 = [a.py:1] 100 B / 1 block   thread 1
 *   tb1 = [a.py:1] 300 B / 3 blocks  thread 2 (tb0's stack)
 *   tb2 = [a.py:2]   7 B / 1 block   thread 2
 * and, when thread_of != NULL, the two threads, 1 = OS name "os-alpha"
 * (tid 11, ident 0x1100, no Python name) and 2 = "beta" (tid 22, ident
 * 0x2200), with thread_of[0..2] = {1, 2, 2} for the split. Without
 * thread_of, s has no thread data (a dump or arena without it). */
void st_build_two_threads(struct pytm_snap *s, uint16_t thread_of[3]);

/* The row of t with key (file, line), or NULL. */
const struct pytm_model_row *st_find_row(const struct pytm_model_table *t,
                                         const char *file, uint32_t line);

#endif
