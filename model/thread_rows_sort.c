/* model/thread_rows_sort.c: the order of thread rows
 * (pytm_thread_rows_sort in thread_rows.h): the model's column sequences
 * (model.h PYTM_MODEL_SORTS) over a thread row's figures, ending in the
 * row's key (name, tid, ident, index), by a stable merge sort. */
#include "thread_rows.h"

#include <stdlib.h>
#include <string.h>

#include "pytm_error.h"

static int
cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

static uint64_t
mag(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

static int
cmp_key(const struct pytm_thread_row *a, const struct pytm_thread_row *b)
{
    int c = strcmp(a->name, b->name);
    if (c)
        return c < 0 ? -1 : 1;
    if ((c = cmp_i64(a->tid, b->tid)))
        return c;
    if (a->ident != b->ident)
        return a->ident < b->ident ? -1 : 1;
    if (a->thread != b->thread)
        return a->thread < b->thread ? -1 : 1;
    return a->flags < b->flags ? -1 : a->flags > b->flags;
}

static double
avg(const struct pytm_thread_row *r)
{
    return r->count > 0 ? (double)r->size / (double)r->count : 0.0;
}

static int
cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

/* Ascending comparison of PYTM_MODEL_SORTS' sequence for `sort`, then
 * the key. */
#define TRY(x)              \
    do {                    \
        int c_ = (x);       \
        if (c_)             \
            return c_;      \
    } while (0)
static int
cmp_rows(const struct pytm_thread_row *a, const struct pytm_thread_row *b,
         enum pytm_model_sort sort)
{
    switch (sort) {
    case PYTM_MODEL_SORT_SIZE:
        TRY(cmp_i64(a->size, b->size));
        TRY(cmp_i64(a->count, b->count));
        break;
    case PYTM_MODEL_SORT_SIZE_DIFF:
        TRY(cmp_i64(a->size_diff, b->size_diff));
        TRY(cmp_i64(a->size, b->size));
        TRY(cmp_i64(a->count_diff, b->count_diff));
        TRY(cmp_i64(a->count, b->count));
        break;
    case PYTM_MODEL_SORT_COUNT:
        TRY(cmp_i64(a->count, b->count));
        TRY(cmp_i64(a->size, b->size));
        break;
    case PYTM_MODEL_SORT_COUNT_DIFF:
        TRY(cmp_i64(a->count_diff, b->count_diff));
        TRY(cmp_i64(a->count, b->count));
        TRY(cmp_i64(a->size_diff, b->size_diff));
        TRY(cmp_i64(a->size, b->size));
        break;
    case PYTM_MODEL_SORT_AVG:
        TRY(avg(a) < avg(b) ? -1 : avg(a) > avg(b));
        TRY(cmp_i64(a->size, b->size));
        TRY(cmp_i64(a->count, b->count));
        break;
    case PYTM_MODEL_SORT_COMPARE:
        TRY(cmp_u64(mag(a->size_diff), mag(b->size_diff)));
        TRY(cmp_i64(a->size, b->size));
        TRY(cmp_u64(mag(a->count_diff), mag(b->count_diff)));
        TRY(cmp_i64(a->count, b->count));
        break;
    default: /* LOCATION: the key alone */
        break;
    }
    return cmp_key(a, b);
}
#undef TRY

/* Stable merge sort of v[0 .. n) through tmp (n entries). */
static void
merge_sort(struct pytm_thread_row *v, struct pytm_thread_row *tmp, size_t n,
           enum pytm_model_sort sort, bool desc)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(v, tmp, h, sort, desc);
    merge_sort(v + h, tmp, n - h, sort, desc);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int c = cmp_rows(&v[i], &v[j], sort);
        if (desc ? c >= 0 : c <= 0)
            tmp[k++] = v[i++];
        else
            tmp[k++] = v[j++];
    }
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

int
pytm_thread_rows_sort(struct pytm_thread_rows *t, enum pytm_model_sort sort,
                      bool descending)
{
    if ((int)sort < 0 || sort >= PYTM_MODEL_N_SORTS)
        return PYTM_E_INVAL;
    if (t->sort == sort && t->descending == descending)
        return 0;
    if (t->n_rows >= 2) {
        struct pytm_thread_row *tmp = malloc(t->n_rows * sizeof *tmp);
        if (!tmp)
            return PYTM_E_NOMEM;
        merge_sort(t->rows, tmp, t->n_rows, sort, descending);
        free(tmp);
    }
    t->sort = sort;
    t->descending = descending;
    return 0;
}
