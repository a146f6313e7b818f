/* Fixture builders for the model-side unit tests (see snap_testlib.h). */
#include "snap_testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

uint32_t
st_intern(struct pytm_snap *s, const char *str)
{
    for (uint32_t i = 0; i < s->n_strings; i++)
        if (strcmp(pytm_snap_string(s, i), str) == 0)
            return i;
    uint32_t idx;
    assert_int_equal(pytm_snap_add_string(s, str, strlen(str), &idx), 0);
    return idx;
}

uint32_t
st_add_tb(struct pytm_snap *s, const struct st_frame *frames, uint32_t n,
          uint32_t total, int64_t size, int64_t count)
{
    uint32_t ids[16], idx;
    assert_true(n <= 16);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t str = st_intern(s, frames[k].file);
        assert_int_equal(
            pytm_snap_add_frame(s, str, frames[k].line, &ids[k]), 0);
    }
    assert_int_equal(pytm_snap_add_tb(s, ids, n, total, &idx), 0);
    s->tbs[idx].size = size;
    s->tbs[idx].count = count;
    s->tbs[idx].samples = count;
    return idx;
}

const struct pytm_model_row *
st_find_row(const struct pytm_model_table *t, const char *file,
            uint32_t line)
{
    for (size_t i = 0; i < t->n_rows; i++)
        if (strcmp(t->rows[i].filename, file) == 0
            && t->rows[i].lineno == line)
            return &t->rows[i];
    return NULL;
}
