/* Fixture builders for the model-side unit tests (see snap_testlib.h). */
#include "snap_testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
st_add_frame(struct pytm_snap *s, const char *file, uint32_t line)
{
    uint32_t id;
    assert_int_equal(pytm_snap_add_frame(s, st_intern(s, file), line, &id), 0);
    return id;
}

uint32_t
st_add_tb_ids(struct pytm_snap *s, const uint32_t *frame_ids, uint32_t n,
              uint32_t total, int64_t size, int64_t count)
{
    uint32_t idx;
    assert_int_equal(pytm_snap_add_tb(s, frame_ids, n, total, &idx), 0);
    s->tbs[idx].size = size;
    s->tbs[idx].count = count;
    s->tbs[idx].samples = count;
    return idx;
}

uint32_t
st_add_tb(struct pytm_snap *s, const struct st_frame *frames, uint32_t n,
          uint32_t total, int64_t size, int64_t count)
{
    uint32_t ids[16];
    assert_true(n <= 16);
    for (uint32_t k = 0; k < n; k++)
        ids[k] = st_add_frame(s, frames[k].file, frames[k].line);
    return st_add_tb_ids(s, ids, n, total, size, count);
}

uint32_t
st_add_thread(struct pytm_snap *s, int64_t tid, uint64_t ident,
              const char *os_name, const char *py_name)
{
    struct pytm_snap_thread *v =
        realloc(s->threads, ((size_t)s->n_threads + 1) * sizeof *v);
    assert_non_null(v);
    s->threads = v;
    struct pytm_snap_thread *t = &v[s->n_threads];
    *t = (struct pytm_snap_thread){
        .tid = tid, .ident = ident,
        .py_name = py_name ? st_intern(s, py_name) : PYTM_SNAP_NO_NAME};
    snprintf(t->os_name, sizeof t->os_name, "%s", os_name);
    return ++s->n_threads;
}

void
st_build_two_threads(struct pytm_snap *s, uint16_t thread_of[3])
{
    pytm_snap_init(s);
    uint32_t f1 = st_add_frame(s, "a.py", 1), f2 = st_add_frame(s, "a.py", 2);
    st_add_tb_ids(s, &f1, 1, 1, 100, 1);
    st_add_tb_ids(s, &f1, 1, 1, 300, 3);
    st_add_tb_ids(s, &f2, 1, 1, 7, 1);
    if (!thread_of)
        return;
    thread_of[0] = (uint16_t)st_add_thread(s, 11, 0x1100, "os-alpha", NULL);
    thread_of[1] = thread_of[2] =
        (uint16_t)st_add_thread(s, 22, 0x2200, "", "beta");
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
