/* model/model_sort: ordering rows by any column.
 *
 * Every comparison sequence (model.h, PYTM_MODEL_SORTS) starts with one
 * number per row, mapped here to an order-preserving unsigned key k:
 *   SIZE size, SIZE_DIFF size_diff, COUNT count, COUNT_DIFF count_diff,
 *   AVG size/count as a double, COMPARE abs(size_diff),
 *   LOCATION the row's first key integer (key_, model_int.h).
 * Descending complements k (~k reverses unsigned order).
 *
 * 1. (k, row index) entries are sorted by an LSD radix sort on k
 *    (model_radix.c). Radix passes are stable and branch-free, which
 *    matters: comparison outcomes on sizes are unpredictable.
 * 2. Runs of equal k are sorted by the rest of the sequence carried in
 *    the entries (up to three more numbers and the key integer), and
 *    only for TRACEBACK keys sharing their oldest frame by the frame
 *    sequences (pytm_model_key_cmp).
 * 3. Rows are gathered in order into the spare array, which is swapped in.
 *
 * pytm_model_sort_top orders only a prefix: a radix select
 * (model_radix.c) keeps the entries whose k is among the smallest,
 * without splitting equal k, those few are sorted as above and their
 * rows swapped to the front (place_top); the other rows stay unordered.
 */
#include "model.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "model_radix.h"
#include "pytm_error.h"

/* The per-row key functions switch on the sort; the fill loops below are
 * instantiated once per sort so that the switch folds away. */
#define ALWAYS_INLINE __attribute__((always_inline))

struct sorter {
    const struct pytm_model_table *t;
    int sign;  /* +1 ascending, -1 descending */
    bool seq;  /* TRACEBACK: equal key integers may still differ */
};

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
static inline ALWAYS_INLINE uint64_t
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
static inline ALWAYS_INLINE uint64_t
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

/* Third and fourth numbers of the ascending sequence (0 when none). */
static inline ALWAYS_INLINE uint64_t
third(enum pytm_model_sort sort, const struct pytm_model_row *r)
{
    switch (sort) {
    case PYTM_MODEL_SORT_SIZE_DIFF: return i2u(r->count_diff);
    case PYTM_MODEL_SORT_COUNT_DIFF: return i2u(r->size_diff);
    case PYTM_MODEL_SORT_AVG: return i2u(r->count);
    case PYTM_MODEL_SORT_COMPARE: return i2u(abs_i64(r->count_diff));
    default: return 0;
    }
}

static inline ALWAYS_INLINE uint64_t
fourth(enum pytm_model_sort sort, const struct pytm_model_row *r)
{
    switch (sort) {
    case PYTM_MODEL_SORT_SIZE_DIFF: return i2u(r->count);
    case PYTM_MODEL_SORT_COUNT_DIFF: return i2u(r->size);
    case PYTM_MODEL_SORT_COMPARE: return i2u(r->count);
    default: return 0;
    }
}

/* a < b for entries with equal k (k2..k4 and key are complemented when
 * descending, the row comparison is multiplied by sign). */
static bool
ent_less(const struct sorter *so, const struct model_ent *a, const struct model_ent *b)
{
    if (a->k2 != b->k2)
        return a->k2 < b->k2;
    if (a->k3 != b->k3)
        return a->k3 < b->k3;
    if (a->k4 != b->k4)
        return a->k4 < b->k4;
    if (a->key != b->key)
        return a->key < b->key;
    if (!so->seq)
        return false; /* same key: same row */
    const struct pytm_model_row *rows = so->t->rows;
    return so->sign * pytm_model_key_cmp(so->t, &rows[a->idx], &rows[b->idx]) < 0;
}

/* Stable merge sort of e[0..n) using tmp[0..n) (runs of equal k). */
static void
msort(const struct sorter *so, struct model_ent *e, struct model_ent *tmp, size_t n)
{
    if (n <= 12) {
        for (size_t i = 1; i < n; i++) {
            struct model_ent x = e[i];
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

/* The sort entry of row r (index idx). */
static inline ALWAYS_INLINE struct model_ent
make_ent(enum pytm_model_sort sort, uint64_t flip, const struct pytm_model_row *r,
         uint32_t idx)
{
    return (struct model_ent){
        .k = first(sort, r) ^ flip,
        .k2 = second(sort, r) ^ flip,
        .k3 = third(sort, r) ^ flip,
        .k4 = fourth(sort, r) ^ flip,
        .key = r->key_ ^ flip,
        .idx = idx,
    };
}

static inline ALWAYS_INLINE void
fill_kents_as(struct model_kent *ke, const struct pytm_model_row *rows, size_t n,
              enum pytm_model_sort sort, uint64_t flip)
{
    for (size_t i = 0; i < n; i++)
        ke[i] = (struct model_kent){ .k = first(sort, &rows[i]) ^ flip,
                               .idx = (uint32_t)i };
}

/* ke[i] = (first number of rows[i], i) for i < n. */
static void
fill_kents(struct model_kent *ke, const struct pytm_model_row *rows, size_t n,
           enum pytm_model_sort sort, uint64_t flip)
{
    switch (sort) {
#define FILL_CASE(e, name, title, seq)                                      \
    case PYTM_MODEL_SORT_##e:                                               \
        fill_kents_as(ke, rows, n, PYTM_MODEL_SORT_##e, flip);              \
        break;
        PYTM_MODEL_SORTS(FILL_CASE)
#undef FILL_CASE
    default:
        break;
    }
}

static inline ALWAYS_INLINE void
fill_ents_as(struct model_ent *e, const struct pytm_model_row *rows,
             const struct model_kent *sel, size_t n, enum pytm_model_sort sort,
             uint64_t flip)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = sel ? sel[i].idx : (uint32_t)i;
        e[i] = make_ent(sort, flip, &rows[idx], idx);
    }
}

/* e[i] = the entry of row sel[i].idx (sel NULL: of row i), i < n. */
static void
fill_ents(struct model_ent *e, const struct pytm_model_row *rows,
          const struct model_kent *sel, size_t n, enum pytm_model_sort sort,
          uint64_t flip)
{
    switch (sort) {
#define FILL_CASE(e_, name, title, seq)                                     \
    case PYTM_MODEL_SORT_##e_:                                              \
        fill_ents_as(e, rows, sel, n, PYTM_MODEL_SORT_##e_, flip);          \
        break;
        PYTM_MODEL_SORTS(FILL_CASE)
#undef FILL_CASE
    default:
        break;
    }
}

/* Sorts e[0..n) fully (tmp[0..n) scratch); returns where the result is. */
static struct model_ent *
sort_ents(const struct sorter *so, struct model_ent *e, struct model_ent *tmp, size_t n)
{
    struct model_ent *sorted = pytm_model_radix_sort(e, tmp, n);
    struct model_ent *spare = sorted == e ? tmp : e;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && sorted[j].k == sorted[i].k; j++)
            ;
        if (j - i > 1)
            msort(so, sorted + i, spare + i, j - i);
    }
    return sorted;
}

/* Puts the m rows sorted[0..m).idx first, in that order, keeping the
 * other rows after them in any order: the selected rows go to the spare
 * array, unselected rows in the front are moved into the holes the
 * selected ones leave behind, then the front is copied back. O(n) bytes
 * + O(m) rows. */
static int
place_top(struct pytm_model_table *t, struct pytm_model_work *w,
          const struct model_ent *sorted, size_t m)
{
    size_t n = t->n_rows;
    if (pytm_model_grow((void **)&w->mark, &w->mark_cap, n, 1))
        return PYTM_E_NOMEM;
    unsigned char *sel = w->mark;
    memset(sel, 0, n);
    struct pytm_model_row *front = w->rows2;
    for (size_t i = 0; i < m; i++) {
        if (i + 8 < m)
            __builtin_prefetch(&t->rows[sorted[i + 8].idx]);
        sel[sorted[i].idx] = 1;
        front[i] = t->rows[sorted[i].idx];
    }
    size_t hole = m;
    for (size_t i = 0; i < m; i++) {
        if (sel[i])
            continue;
        while (!sel[hole])
            hole++; /* as many holes at >= m as unselected rows below m */
        t->rows[hole++] = t->rows[i];
    }
    memcpy(t->rows, front, m * sizeof *front);
    return 0;
}

int
pytm_model_sort_top(struct pytm_model_table *t, enum pytm_model_sort sort,
                    bool descending, size_t k)
{
    if (!t || (unsigned)sort >= PYTM_MODEL_N_SORTS)
        return PYTM_E_INVAL;
    size_t n = t->n_rows;
    if (k > n)
        k = n;
    if (t->sort == sort && t->descending == descending && t->n_sorted >= k
        && t->n_sorted <= n)
        return 0; /* already in that order as far as asked */
    if (n < 2) {
        t->sort = sort;
        t->descending = descending;
        t->n_sorted = n;
        return 0;
    }
    struct pytm_model_work *w = pytm_model_work(t);
    if (!w || pytm_model_grow((void **)&w->rows2, &w->rows2_cap, t->rows_cap_,
                              sizeof *w->rows2))
        return PYTM_E_NOMEM;
    struct sorter so = {
        .t = t,
        .sign = descending ? -1 : 1,
        .seq = t->group == PYTM_MODEL_TRACEBACK,
    };
    uint64_t flip = descending ? UINT64_MAX : 0;
    size_t m = n;
    if (k < n / 2) {
        /* partial: select on the first number alone (small entries),
           then build full entries for the m candidates only */
        if (pytm_model_grow(&w->ents, &w->ents_cap, 2 * n * sizeof(struct model_kent), 1))
            return PYTM_E_NOMEM;
        struct model_kent *ke = w->ents;
        fill_kents(ke, t->rows, n, sort, flip);
        m = pytm_model_radix_select(ke, n, k ? k : 1, ke + n);
        size_t kbytes = 2 * n * sizeof(struct model_kent);
        size_t need = kbytes + 2 * m * sizeof(struct model_ent);
        if (pytm_model_grow(&w->ents, &w->ents_cap, need, 1))
            return PYTM_E_NOMEM;
        const struct model_kent *sel = (const struct model_kent *)w->ents + n;
        struct model_ent *e = (struct model_ent *)((char *)w->ents + kbytes);
        fill_ents(e, t->rows, sel, m, sort, flip);
        struct model_ent *sorted = sort_ents(&so, e, e + m, m);
        if (place_top(t, w, sorted, m))
            return PYTM_E_NOMEM;
    } else {
        if (pytm_model_grow(&w->ents, &w->ents_cap, 2 * n * sizeof(struct model_ent), 1))
            return PYTM_E_NOMEM;
        struct model_ent *e = w->ents;
        fill_ents(e, t->rows, NULL, n, sort, flip);
        struct model_ent *sorted = sort_ents(&so, e, e + n, n);
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
    }
    t->sort = sort;
    t->descending = descending;
    t->n_sorted = m;
    return 0;
}

int
pytm_model_sort(struct pytm_model_table *t, enum pytm_model_sort sort,
                bool descending)
{
    return pytm_model_sort_top(t, sort, descending, SIZE_MAX);
}
