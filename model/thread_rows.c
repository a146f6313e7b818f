/* model/thread_rows.c: per-thread rows and their diff (see
 * thread_rows.h; their order is thread_rows_sort.c). The diff matches
 * rows to base threads through an index of the base's identities sorted
 * by (tid, ident): O((n + m) log m) even for a hostile snapshot with
 * thousands of threads. */
#include "thread_rows.h"

#include <stdlib.h>
#include <string.h>

#include "pytm_error.h"
#include "snap.h"
#include "snap_threads.h"

void
pytm_thread_rows_init(struct pytm_thread_rows *t)
{
    memset(t, 0, sizeof *t);
}

void
pytm_thread_rows_free(struct pytm_thread_rows *t)
{
    free(t->rows);
    pytm_thread_rows_init(t);
}

static int64_t
sub_i64(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static void
identity(const struct pytm_snap *s, uint32_t k, int64_t *tid, uint64_t *ident)
{
    *tid = 0;
    *ident = 0;
    if (k >= 1 && k <= s->n_threads) {
        *tid = s->threads[k - 1].tid;
        *ident = s->threads[k - 1].ident;
    }
}

uint32_t
pytm_thread_rows_find(const struct pytm_snap *s, int64_t tid, uint64_t ident)
{
    if (tid == 0 && ident == 0)
        return 0;
    for (uint32_t i = 0; i < s->n_threads; i++)
        if (s->threads[i].tid == tid && s->threads[i].ident == ident)
            return i + 1;
    return PYTM_THREAD_ROWS_NONE;
}

/* Per-thread totals of s, n_threads + 1 entries (caller frees). */
static struct pytm_snap_thread_total *
totals_of(const struct pytm_snap *s)
{
    struct pytm_snap_thread_total *v = malloc(((size_t)s->n_threads + 1) * sizeof *v);
    if (v)
        pytm_snap_threads_totals(s, v);
    return v;
}

static int
push(struct pytm_thread_rows *t, const struct pytm_thread_row *r)
{
    if (t->n_rows == t->cap_) {
        size_t c = t->cap_ ? 2 * t->cap_ : 8;
        struct pytm_thread_row *p = realloc(t->rows, c * sizeof *p);
        if (!p)
            return PYTM_E_NOMEM;
        t->rows = p;
        t->cap_ = c;
    }
    t->rows[t->n_rows++] = *r;
    return 0;
}

static struct pytm_thread_row
row_of(const struct pytm_snap *s, const struct pytm_snap_thread_total *tt)
{
    struct pytm_thread_row r = {.thread = tt->thread, .size = tt->size,
                                .count = tt->count, .size_diff = tt->size,
                                .count_diff = tt->count};
    r.name = pytm_snap_thread_name(s, tt->thread);
    identity(s, tt->thread, &r.tid, &r.ident);
    return r;
}

/* A base thread's identity, for the sorted index of join_base. */
struct ident_key {
    int64_t tid;
    uint64_t ident;
    uint32_t k;
};

static int
ident_cmp(const void *x, const void *y)
{
    const struct ident_key *a = x, *b = y;
    if (a->tid != b->tid)
        return a->tid < b->tid ? -1 : 1;
    if (a->ident != b->ident)
        return a->ident < b->ident ? -1 : 1;
    return a->k < b->k ? -1 : a->k > b->k; /* first index wins */
}

/* Index of base thread k with the row's identity, or NONE. */
static uint32_t
lookup(const struct ident_key *idx, size_t n, const struct pytm_thread_row *r)
{
    if (r->tid == 0 && r->ident == 0)
        return 0;
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first entry >= (tid, ident) */
        size_t mid = lo + (hi - lo) / 2;
        const struct ident_key *m = &idx[mid];
        if (m->tid < r->tid || (m->tid == r->tid && m->ident < r->ident))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && idx[lo].tid == r->tid && idx[lo].ident == r->ident)
        return idx[lo].k;
    return PYTM_THREAD_ROWS_NONE;
}

/* Joins base's totals into t's rows: a matched row gets its diff, a
 * base thread without a row (taking part in base) is appended. */
static int
join_base(struct pytm_thread_rows *t, const struct pytm_snap *base)
{
    size_t nb = base->n_threads;
    struct pytm_snap_thread_total *bt = totals_of(base);
    size_t *at = calloc(nb + 1, sizeof *at); /* row index + 1, 0: none */
    struct ident_key *idx = malloc((nb ? nb : 1) * sizeof *idx);
    int rc = bt && at && idx ? 0 : PYTM_E_NOMEM;
    if (rc == 0) {
        for (uint32_t i = 0; i < nb; i++)
            idx[i] = (struct ident_key){base->threads[i].tid,
                                        base->threads[i].ident, i + 1};
        qsort(idx, nb, sizeof *idx, ident_cmp);
    }
    for (size_t i = 0; rc == 0 && i < t->n_rows; i++) {
        uint32_t k = lookup(idx, nb, &t->rows[i]);
        if (k != PYTM_THREAD_ROWS_NONE && at[k] == 0)
            at[k] = i + 1;
    }
    for (uint32_t k = 0; rc == 0 && k <= nb; k++) {
        if (at[k]) {
            struct pytm_thread_row *r = &t->rows[at[k] - 1];
            r->size_diff = sub_i64(r->size, bt[k].size);
            r->count_diff = sub_i64(r->count, bt[k].count);
        } else if (bt[k].size || bt[k].count) {
            struct pytm_thread_row r = row_of(base, &bt[k]);
            r.flags = PYTM_THREAD_ROW_BASE;
            r.size = r.count = 0;
            r.size_diff = sub_i64(0, bt[k].size);
            r.count_diff = sub_i64(0, bt[k].count);
            rc = push(t, &r);
        }
    }
    free(bt);
    free(at);
    free(idx);
    return rc;
}

int
pytm_thread_rows_build(struct pytm_thread_rows *t, const struct pytm_snap *s,
                       const struct pytm_snap *base)
{
    if (!t || !s)
        return PYTM_E_INVAL;
    t->n_rows = 0;
    t->diffed = false;
    t->total_size = t->total_count = 0;
    struct pytm_snap_thread_total *tt = totals_of(s);
    int rc = tt ? 0 : PYTM_E_NOMEM;
    for (uint32_t k = 0; rc == 0 && k <= s->n_threads; k++) {
        t->total_size = (int64_t)((uint64_t)t->total_size + (uint64_t)tt[k].size);
        t->total_count = (int64_t)((uint64_t)t->total_count + (uint64_t)tt[k].count);
        if (tt[k].size || tt[k].count) {
            struct pytm_thread_row r = row_of(s, &tt[k]);
            rc = push(t, &r);
        }
    }
    free(tt);
    if (rc == 0 && base) {
        rc = join_base(t, base);
        t->diffed = rc == 0;
    }
    t->sort = PYTM_MODEL_N_SORTS; /* in no order yet */
    if (rc == 0)
        rc = pytm_thread_rows_sort(t, PYTM_MODEL_SORT_SIZE, true);
    if (rc) {
        t->n_rows = 0;
        t->diffed = false;
    }
    return rc;
}
