/* tui/model_group: building a table, i.e. grouping a snapshot's
 * tracebacks into rows.
 *
 * One pass over the tracebacks. Each taking-part traceback is mapped to
 * its group (or, cumulative, to one group per frame) through an
 * open-addressing hash index keyed by content (model_int.h), so the
 * whole build is O(#tbs + #frame ids) after ranking the strings. The
 * index and per-row work arrays live in t->work_ and are reused by the
 * next build.
 */
#include "model.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "pytm_error.h"

/* Build-time view of the work buffers. */
struct grouper {
    struct pytm_model_table *t;
    const struct pytm_snap *s;
    uint64_t *slot;    /* hash index (model_int.h, pytm_model_work) */
    struct pytm_model_rowx *rowx; /* per row */
    const uint64_t *fk; /* per frame id: its key; [n_frames] = unknown */
    uint32_t *frow;    /* F/L: per frame id, its row + 1 */
    uint64_t *tbh;     /* TRACEBACK: per traceback, its key's hash */
    uint64_t *tmp;     /* TRACEBACK: the current tb's keys, oldest first */
    size_t tmp_cap;
    struct pytm_model_work *w;
    size_t mask;
    int err;           /* first PYTM_E_NOMEM, sticky */
};

#define SLOT_ROW(v) ((uint32_t)(v))
#define SLOT_TAG(h) ((h) & 0xffffffff00000000ull)

static bool
takes_part(const struct pytm_snap_tb *tb)
{
    return tb->size != 0 || tb->count != 0 || tb->samples != 0;
}

/* Frame id of frame k (0 = most recent) of tb; n_frames for the
 * "<unknown>" frame of a traceback without frames. */
static uint32_t
tb_fid(const struct pytm_snap *s, uint32_t tb, uint32_t k)
{
    const struct pytm_snap_tb *t = &s->tbs[tb];
    return t->nframe ? s->frame_ids[t->frames_at + k] : s->n_frames;
}

/* Does row r have the key (fkey, plus g->tmp[0..n) for TRACEBACK)? */
static bool
same_key(const struct grouper *g, const struct pytm_model_row *r,
         uint64_t fkey, uint32_t n)
{
    if (r->key_ != fkey)
        return false;
    if (g->t->group != PYTM_MODEL_TRACEBACK)
        return true;
    return r->nframe == n
           && memcmp(g->t->seq_ + r->seq_at_, g->tmp, n * sizeof *g->tmp) == 0;
}

/* The row of key fkey (F/L) or g->tmp[0..n) (TRACEBACK, fkey = tmp[0])
 * whose hash is h, created for frame fid / traceback tb when new.
 * Returns its index, or UINT32_MAX with g->err set. */
static uint32_t
lookup(struct grouper *g, uint64_t h, uint64_t fkey, uint32_t n, uint32_t fid,
       uint32_t tb)
{
    struct pytm_model_table *t = g->t;
    size_t i = (size_t)h & g->mask;
    for (uint64_t v; (v = g->slot[i]) != 0; i = (i + 1) & g->mask)
        if (SLOT_TAG(v) == SLOT_TAG(h)
            && same_key(g, &t->rows[SLOT_ROW(v) - 1], fkey, n))
            return SLOT_ROW(v) - 1;
    /* new row */
    uint64_t at = 0;
    if (t->group == PYTM_MODEL_TRACEBACK) {
        uint64_t *k = pytm_model_seq_alloc(t, n, &at);
        if (!k) {
            g->err = PYTM_E_NOMEM;
            return UINT32_MAX;
        }
        memcpy(k, g->tmp, n * sizeof *k);
    }
    size_t ri = t->n_rows++; /* capacity reserved by prepare() */
    g->slot[i] = SLOT_TAG(h) | (uint64_t)(ri + 1);
    g->rowx[ri].rep_size = INT64_MIN;
    g->rowx[ri].last_tb = UINT32_MAX;
    struct pytm_model_row *r = &t->rows[ri];
    memset(r, 0, sizeof *r);
    if (fid < g->s->n_frames) {
        r->str = g->s->frames[fid].filename;
        r->lineno = t->group == PYTM_MODEL_FILENAME ? 0 : g->s->frames[fid].lineno;
    } else {
        r->str = g->s->n_strings;
    }
    r->tb = tb;
    r->nframe = n;
    r->key_ = fkey;
    r->seq_at_ = at;
    return (uint32_t)ri;
}

/* Adds traceback tb's figures to row ri. */
static void
account(struct grouper *g, uint32_t ri, uint32_t tb)
{
    const struct pytm_snap_tb *st = &g->s->tbs[tb];
    struct pytm_model_row *r = &g->t->rows[ri];
    struct pytm_model_rowx *x = &g->rowx[ri];
    if (st->size > x->rep_size) {
        /* representative: largest member, lowest index on ties */
        x->rep_size = st->size;
        r->tb = tb;
        if (g->t->group == PYTM_MODEL_TRACEBACK)
            r->total_nframe = st->total_nframe;
    }
    r->size += st->size;
    r->count += st->count;
    r->samples += st->samples;
    if (x->last_tb != tb) {
        x->last_tb = tb;
        r->n_tbs++;
    }
}

/* F/L: the row of frame fid (memoised per frame id). */
static uint32_t
frame_row(struct grouper *g, uint32_t fid, uint32_t tb)
{
    uint32_t m = g->frow[fid];
    if (m)
        return m - 1;
    uint64_t fkey = g->fk[fid];
    if (g->t->group == PYTM_MODEL_FILENAME)
        fkey &= ~(uint64_t)UINT32_MAX;
    uint32_t ri = lookup(g, model_key_hash(fkey), fkey, 1, fid, tb);
    if (ri != UINT32_MAX)
        g->frow[fid] = ri + 1;
    return ri;
}

/* Distance (in tracebacks) at which the hash slot of a later traceback
 * is prefetched: the index is far bigger than the caches, so without it
 * every lookup waits for memory. */
#define PREFETCH_AHEAD 16

/* Hash of traceback tb's key, streaming its frames oldest first (the
 * same value as model_seq_hash over the key). */
static uint64_t
tb_hash(const struct grouper *g, uint32_t tb)
{
    uint32_t n = model_tb_len(g->s, tb);
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (uint32_t k = n; k-- > 0;) {
        h = (h ^ g->fk[tb_fid(g->s, tb, k)]) * 0xff51afd7ed558ccdull;
        h = (h << 29) | (h >> 35);
    }
    return model_mix(h);
}

static void
group_tracebacks(struct grouper *g)
{
    struct pytm_model_table *t = g->t;
    const struct pytm_snap *s = g->s;
    uint64_t *th = g->tbh;
    for (uint32_t i = 0; i < s->n_tbs; i++)
        th[i] = takes_part(&s->tbs[i]) ? tb_hash(g, i) : 0;
    for (uint32_t i = 0; i < s->n_tbs && !g->err; i++) {
        if (i + PREFETCH_AHEAD < s->n_tbs)
            __builtin_prefetch(&g->slot[th[i + PREFETCH_AHEAD] & g->mask]);
        const struct pytm_snap_tb *st = &s->tbs[i];
        if (!takes_part(st))
            continue;
        t->n_tbs++;
        t->total_size += st->size;
        t->total_count += st->count;
        uint32_t n = model_tb_len(s, i);
        if (n > g->tmp_cap) {
            if (pytm_model_grow((void **)&g->w->tmp, &g->w->tmp_cap, n,
                                sizeof *g->tmp)) {
                g->err = PYTM_E_NOMEM;
                return;
            }
            g->tmp = g->w->tmp;
            g->tmp_cap = g->w->tmp_cap;
        }
        for (uint32_t k = 0; k < n; k++)
            g->tmp[n - 1 - k] = g->fk[tb_fid(s, i, k)];
        /* the row's filename/line are those of the most recent frame */
        uint32_t ri = lookup(g, th[i], g->tmp[0], n, tb_fid(s, i, 0), i);
        if (ri != UINT32_MAX)
            account(g, ri, i);
    }
}

static void
group_frames(struct grouper *g)
{
    struct pytm_model_table *t = g->t;
    const struct pytm_snap *s = g->s;
    uint64_t mask = t->group == PYTM_MODEL_FILENAME ? ~(uint64_t)UINT32_MAX
                                                    : UINT64_MAX;
    for (uint32_t i = 0; i < s->n_tbs && !g->err; i++) {
        if (!t->cumulative && i + PREFETCH_AHEAD < s->n_tbs) {
            uint32_t fid = tb_fid(s, i + PREFETCH_AHEAD, 0);
            __builtin_prefetch(&g->slot[model_key_hash(g->fk[fid] & mask) & g->mask]);
        }
        const struct pytm_snap_tb *st = &s->tbs[i];
        if (!takes_part(st))
            continue;
        t->n_tbs++;
        t->total_size += st->size;
        t->total_count += st->count;
        uint32_t n = t->cumulative ? model_tb_len(s, i) : 1;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t ri = frame_row(g, tb_fid(s, i, k), i);
            if (ri != UINT32_MAX)
                account(g, ri, i);
        }
    }
}

/* Keeps the rows whose filename matches t->filter_ (per string, cached). */
static int
apply_filter(struct pytm_model_table *t)
{
    if (!t->filter_)
        return 0;
    size_t n = (size_t)t->snap->n_strings + 1;
    signed char *memo = calloc(n, 1); /* 0 unknown, 1 match, -1 no */
    if (!memo)
        return PYTM_E_NOMEM;
    size_t out = 0;
    for (size_t i = 0; i < t->n_rows; i++) {
        struct pytm_model_row *r = &t->rows[i];
        if (memo[r->str] == 0)
            memo[r->str] = fnmatch(t->filter_, r->filename, 0) == 0 ? 1 : -1;
        if (memo[r->str] > 0)
            t->rows[out++] = *r;
    }
    t->n_rows = out;
    free(memo);
    return 0;
}

/* Upper bound on the number of rows. */
static size_t
max_rows(const struct pytm_model_table *t, const struct pytm_snap *s)
{
    size_t by_key = t->group == PYTM_MODEL_FILENAME ? (size_t)t->n_ranks_
                    : t->group == PYTM_MODEL_LINENO ? (size_t)s->n_frames + 1
                                                    : (size_t)s->n_tbs;
    if (!t->cumulative && (size_t)s->n_tbs < by_key)
        by_key = s->n_tbs;
    return by_key ? by_key : 1;
}

/* Sizes the work buffers for up to cap rows, computes every frame's key
 * and sets up *g. */
static int
prepare(struct grouper *g, struct pytm_model_table *t,
        const struct pytm_snap *snap)
{
    struct pytm_model_work *w = pytm_model_work(t);
    if (!w)
        return PYTM_E_NOMEM;
    size_t cap = max_rows(t, snap);
    size_t slots = 16;
    while (slots < cap * 2)
        slots <<= 1;
    size_t nf = (size_t)snap->n_frames + 1;
    size_t n_tbh = t->group == PYTM_MODEL_TRACEBACK ? snap->n_tbs : 0;
    if (pytm_model_grow((void **)&w->slot, &w->slot_cap, slots, sizeof *w->slot)
        || pytm_model_grow((void **)&w->rowx, &w->rowx_cap, cap, sizeof *w->rowx)
        || pytm_model_grow((void **)&w->fk, &w->fk_cap, nf, sizeof *w->fk)
        || pytm_model_grow((void **)&w->frow, &w->frow_cap, nf, sizeof *w->frow)
        || pytm_model_grow((void **)&w->tbh, &w->tbh_cap, n_tbh, sizeof *w->tbh)
        || pytm_model_grow((void **)&w->tmp, &w->tmp_cap, 64, sizeof *w->tmp)
        || pytm_model_reserve(t, cap))
        return PYTM_E_NOMEM;
    memset(w->slot, 0, slots * sizeof *w->slot);
    memset(w->frow, 0, nf * sizeof *w->frow);
    for (uint32_t i = 0; i < snap->n_frames; i++)
        w->fk[i] = model_frame_fkey(snap, t->srank_, i);
    w->fk[snap->n_frames] = model_fkey(t->srank_, snap->n_strings, 0);
    *g = (struct grouper){
        .t = t,
        .s = snap,
        .slot = w->slot,
        .rowx = w->rowx,
        .fk = w->fk,
        .frow = w->frow,
        .tbh = w->tbh,
        .tmp = w->tmp,
        .tmp_cap = w->tmp_cap,
        .w = w,
        .mask = slots - 1,
    };
    return 0;
}

int
pytm_model_build(struct pytm_model_table *t, const struct pytm_snap *snap,
                 const struct pytm_model_opts *opts)
{
    if (!t)
        return PYTM_E_INVAL;
    pytm_model_reset(t);
    t->n_tbs = 0;
    t->total_size = t->total_count = 0;
    t->snap = NULL;
    if (!snap || !opts || (unsigned)opts->group >= PYTM_MODEL_N_GROUPS
        || (opts->cumulative && opts->group == PYTM_MODEL_TRACEBACK))
        return PYTM_E_INVAL;
    t->snap = snap;
    t->group = opts->group;
    t->cumulative = opts->cumulative;
    free(t->filter_);
    t->filter_ = NULL;
    if (opts->filter && opts->filter[0]) {
        t->filter_ = strdup(opts->filter);
        if (!t->filter_)
            return PYTM_E_NOMEM;
    }
    struct grouper g;
    int err = pytm_model_rank_strings(t);
    if (!err)
        err = prepare(&g, t, snap);
    if (!err) {
        if (t->group == PYTM_MODEL_TRACEBACK)
            group_tracebacks(&g);
        else
            group_frames(&g);
        err = g.err;
    }
    if (!err) {
        for (size_t i = 0; i < t->n_rows; i++) {
            struct pytm_model_row *r = &t->rows[i];
            r->size_diff = r->size;
            r->count_diff = r->count;
            r->filename = r->str < snap->n_strings ? pytm_snap_string(snap, r->str)
                                                   : MODEL_UNKNOWN_NAME;
        }
        err = apply_filter(t);
    }
    if (!err)
        err = pytm_model_sort(t, PYTM_MODEL_SORT_SIZE, true);
    if (err)
        t->n_rows = 0;
    return err;
}
