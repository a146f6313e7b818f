/* Fixture builders shared by the model-side unit tests (test_model,
 * test_snap_merge): hand-built snapshots from (file, line) frame lists,
 * and a model-table row lookup. Each helper asserts through cmocka, so
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

/* The row of t with key (file, line), or NULL. */
const struct pytm_model_row *st_find_row(const struct pytm_model_table *t,
                                         const char *file, uint32_t line);

#endif
