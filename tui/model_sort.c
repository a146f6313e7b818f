/* tui/model_sort: ordering rows by any column.
 *
 * Every comparison sequence (model.h, PYTM_MODEL_SORTS) starts with one
 * number per row, mapped here to an order-preserving unsigned key k:
 *   SIZE size, SIZE_DIFF size_diff, COUNT count, COUNT_DIFF count_diff,
 *   AVG size/count as a double, COMPARE abs(size_diff),
 *   LOCATION the row's first key integer (key_, model_int.h).
 * Descending complements k (~k reverses unsigned order).
 *
 * 1. (k, row index) entries are sorted by an LSD radix sort on k - min(k),
 *    11 bits per pass, as many passes as the range needs (sizes rarely
 *    need more than 3). Radix passes are stable and branch-free, which
 *    matters: comparison outcomes on sizes are unpredictable.
 * 2. Runs of equal k are sorted by the second number and the key
 *    integer carried in the entries, and only on a tie there by the rest
 *    of the sequence (cmp_more, which reads the rows).
 * 3. Rows are gathered in order into the spare array, which is swapped in.
 */
#include "model.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "pytm_error.h"

struct ent {
    uint64_t k;   /* first number of the sequence, order-preserving */
    uint64_t k2;  /* second number, or the key integer when none */
    uint64_t key; /* the row's key integer (key_) */
    uint32_t idx; /* row index */
    uint32_t pad;
};

struct sorter {
    const struct pytm_model_table *t;
    enum pytm_model_sort sort;
    int sign;  /* +1 ascending, -1 descending */
    bool more; /* the sequence has numbers after the second */
    bool seq;  /* TRACEBACK: equal key integers may still differ */
};

static int
cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

static int64_t
abs_i64(int64_t v)
{
    return v < 0 ? (v == INT64_MIN ? INT64_MAX : -v) : v;
}

/* Order-preserving maps into uint64. */
static uint64_t
i2u(int64_t v)
{
    return (uint64_t)v ^ (UINT64_C(1) << 63);
}

static uint64_t
d2u(double d) /* NaN cannot occur (count > 0 or 0.0) */
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

static double
avg(const struct pytm_model_row *r)
{
    return r->count > 0 ? (double)r->size / (double)r->count : 0.0;
}

/* First number of the ascending sequence. */
static uint64_t
first(enum pytm_model_sort sort, const struct pytm_model_row *r)
{
    switch (sort) {
    case PYTM_MODEL_SORT_SIZE: return i2u(r->size);
    case PYTM_MODEL_SORT_SIZE_DIFF: return i2u(r->size_diff);
    case PYTM_MODEL_SORT_COUNT: return i2u(r->count);
    case PYTM_MODEL_SORT_COUNT_DIFF: return i2u(r->count_diff);
    case PYTM_MODEL_SORT_AVG: return d2u(avg(r));
    case PYTM_MODEL_SORT_COMPARE: return i2u(abs_i64(r->size_diff));
    default: return r->key_;
    }
}

/* Second number of the ascending sequence (LOCATION: none, the key). */
static uint64_t
second(enum pytm_model_sort sort, const struct pytm_model_row *r)
{
    switch (sort) {
    case PYTM_MODEL_SORT_SIZE: return i2u(r->count);
    case PYTM_MODEL_SORT_SIZE_DIFF: return i2u(r->size);
    case PYTM_MODEL_SORT_COUNT: return i2u(r->size);
    case PYTM_MODEL_SORT_COUNT_DIFF: return i2u(r->count);
    case PYTM_MODEL_SORT_AVG: return i2u(r->size);
    case PYTM_MODEL_SORT_COMPARE: return i2u(r->size);
    default: return r->key_;
    }
}

/* The numbers after the second, ascending, for rows equal so far. */
static int
cmp_more(enum pytm_model_sort sort, const struct pytm_model_row *a,
         const struct pytm_model_row *b)
{
    int c;
    switch (sort) {
    case PYTM_MODEL_SORT_SIZE_DIFF:
        if ((c = cmp_i64(a->count_diff, b->count_diff)))
            return c;
        return cmp_i64(a->count, b->count);
    case PYTM_MODEL_SORT_COUNT_DIFF:
        if ((c = cmp_i64(a->size_diff, b->size_diff)))
            return c;
        return cmp_i64(a->size, b->size);
    case PYTM_MODEL_SORT_AVG:
        return cmp_i64(a->count, b->count);
    case PYTM_MODEL_SORT_COMPARE:
        if ((c = cmp_i64(abs_i64(a->count_diff), abs_i64(b->count_diff))))
            return c;
        return cmp_i64(a->count, b->count);
    default:
        return 0;
    }
}

/* a < b for entries with equal k (k2 and key are complemented when
 * descending, the row comparisons are multiplied by sign). */
static bool
ent_less(const struct sorter *so, const struct ent *a, const struct ent *b)
{
    if (a->k2 != b->k2)
        return a->k2 < b->k2;
    const struct pytm_model_row *rows = so->t->rows;
    if (so->more) {
        int c = cmp_more(so->sort, &rows[a->idx], &rows[b->idx]);
        if (c)
            return so->sign * c < 0;
    }
    if (a->key != b->key)
        return a->key < b->key;
    if (!so->seq)
        return false; /* same key: same row */
    return so->sign * pytm_model_key_cmp(so->t, &rows[a->idx], &rows[b->idx]) < 0;
}

/* Stable merge sort of e[0..n) using tmp[0..n) (runs of equal k). */
static void
msort(const struct sorter *so, struct ent *e, struct ent *tmp, size_t n)
{
    if (n <= 12) {
        for (size_t i = 1; i < n; i++) {
            struct ent x = e[i];
            size_t j = i;
            while (j > 0 && ent_less(so, &x, &e[j - 1])) {
                e[j] = e[j - 1];
                j--;
            }
            e[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    msort(so, e, tmp, h);
    msort(so, e + h, tmp + h, n - h);
    if (!ent_less(so, &e[h], &e[h - 1]))
        return; /* already in order */
    memcpy(tmp, e, n * sizeof *e);
    size_t i = 0, j = h, o = 0;
    while (i < h && j < n)
        e[o++] = ent_less(so, &tmp[j], &tmp[i]) ? tmp[j++] : tmp[i++];
    while (i < h)
        e[o++] = tmp[i++];
    while (j < n)
        e[o++] = tmp[j++];
}

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)

/* Stable LSD radix sort of e[0..n) by k; returns where the result is
 * (e or tmp). */
static struct ent *
radix(struct ent *e, struct ent *tmp, size_t n)
{
    uint64_t lo = e[0].k, hi = e[0].k;
    for (size_t i = 1; i < n; i++) {
        lo = e[i].k < lo ? e[i].k : lo;
        hi = e[i].k > hi ? e[i].k : hi;
    }
    uint64_t range = hi - lo;
    static_assert(RADIX_BITS < 32, "shift");
    size_t count[RADIX_SIZE];
    for (unsigned shift = 0; shift < 64 && (range >> shift) != 0;
         shift += RADIX_BITS) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[((e[i].k - lo) >> shift) & (RADIX_SIZE - 1)]++;
        size_t sum = 0;
        for (size_t d = 0; d < RADIX_SIZE; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[((e[i].k - lo) >> shift) & (RADIX_SIZE - 1)]++] = e[i];
        struct ent *x = e;
        e = tmp;
        tmp = x;
    }
    return e;
}

int
pytm_model_sort(struct pytm_model_table *t, enum pytm_model_sort sort,
                bool descending)
{
    if (!t || (unsigned)sort >= PYTM_MODEL_N_SORTS)
        return PYTM_E_INVAL;
    size_t n = t->n_rows;
    t->sort = sort;
    t->descending = descending;
    if (n < 2)
        return 0;
    struct pytm_model_work *w = pytm_model_work(t);
    if (!w || pytm_model_grow(&w->ents, &w->ents_cap, 2 * n, sizeof(struct ent))
        || pytm_model_grow((void **)&w->rows2, &w->rows2_cap, t->rows_cap_,
                           sizeof *w->rows2))
        return PYTM_E_NOMEM;
    struct ent *e = w->ents, *tmp = e + n;
    struct sorter so = {
        .t = t,
        .sort = sort,
        .sign = descending ? -1 : 1,
        .more = sort == PYTM_MODEL_SORT_SIZE_DIFF || sort == PYTM_MODEL_SORT_COUNT_DIFF
                || sort == PYTM_MODEL_SORT_AVG || sort == PYTM_MODEL_SORT_COMPARE,
        .seq = t->group == PYTM_MODEL_TRACEBACK,
    };
    uint64_t flip = descending ? UINT64_MAX : 0;
    for (size_t i = 0; i < n; i++) {
        const struct pytm_model_row *r = &t->rows[i];
        e[i] = (struct ent){
            .k = first(sort, r) ^ flip,
            .k2 = second(sort, r) ^ flip,
            .key = r->key_ ^ flip,
            .idx = (uint32_t)i,
        };
    }
    struct ent *sorted = radix(e, tmp, n);
    struct ent *spare = sorted == e ? tmp : e;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && sorted[j].k == sorted[i].k; j++)
            ;
        if (j - i > 1)
            msort(&so, sorted + i, spare + i, j - i);
    }
    /* Gather into the spare row array and swap it in. */
    struct pytm_model_row *out = w->rows2;
    for (size_t i = 0; i < n; i++) {
        if (i + 8 < n)
            __builtin_prefetch(&t->rows[sorted[i + 8].idx]);
        out[i] = t->rows[sorted[i].idx];
    }
    w->rows2 = t->rows;
    t->rows = out;
    size_t cap = w->rows2_cap;
    w->rows2_cap = t->rows_cap_;
    t->rows_cap_ = cap;
    return 0;
}
