/* model/model_group: building a table, i.e. grouping a snapshot's
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
    const struct model_fkh *fkh; /* per frame id: key and content hash;
                                    [n_frames] = the unknown frame */
    uint32_t *frow;    /* F/L: per canonical frame id, its row + 1 */
    uint32_t *canon;   /* F/L: per frame id, the lowest id with its key */
    uint32_t *tbh;     /* TRACEBACK: per traceback, its key's hash */
    const uint64_t *key; /* TRACEBACK: the current tb's frame keys, oldest
                            first, at t->seq_ + key_at */
    uint64_t key_at;
    struct pytm_model_work *w;
    size_t mask;
    int err;           /* first PYTM_E_NOMEM, sticky */
};

/* Distance (in tracebacks or frames) at which the hash slot of a later
 * one is prefetched: the index is far bigger than the caches, so without
 * it every lookup waits for memory. */
#define PREFETCH_AHEAD 16

#define SLOT_ROW(v) ((uint32_t)(v))
#define SLOT_TAG(h32) ((uint64_t)(h32) << 32)

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

/* Does row r have the key (fkey, plus g->key[0..n) for TRACEBACK)? */
static bool
same_key(const struct grouper *g, const struct pytm_model_row *r,
         uint64_t fkey, uint32_t n)
{
    if (r->key_ != fkey)
        return false;
    if (g->t->group != PYTM_MODEL_TRACEBACK)
        return true;
    return r->nframe == n
           && memcmp(g->t->seq_ + r->seq_at_, g->key, n * sizeof *g->key) == 0;
}

/* A new row of key fkey (F/L) or g->key[0..n) (TRACEBACK, fkey =
 * key[0], already in t->seq_ at g->key_at) with content hash h, for
 * frame fid / traceback tb. Returns its index. */
static uint32_t
new_row(struct grouper *g, uint32_t h, uint64_t fkey, uint32_t n, uint32_t fid,
        uint32_t tb)
{
    struct pytm_model_table *t = g->t;
    uint64_t at = t->group == PYTM_MODEL_TRACEBACK ? g->key_at : 0;
    size_t ri = t->n_rows++; /* capacity reserved by prepare() */
    struct pytm_model_row *r = &t->rows[ri];
    memset(r, 0, sizeof *r);
    r->size_diff = INT64_MIN; /* REP_SIZE: no member yet */
    r->count_diff = -1;       /* LAST_TB: none (tb indices are >= 0) */
    if (fid < g->s->n_frames) {
        r->str = g->s->frames[fid].filename;
        r->lineno = t->group == PYTM_MODEL_FILENAME ? 0 : g->s->frames[fid].lineno;
    } else {
        r->str = g->s->n_strings;
    }
    r->filename = r->str < g->s->n_strings ? pytm_snap_string(g->s, r->str)
                                           : MODEL_UNKNOWN_NAME;
    r->tb = tb;
    r->nframe = n;
    r->key_ = fkey;
    r->seq_at_ = at;
    r->hash_ = h;
    return (uint32_t)ri;
}

/* TRACEBACK: the row of key g->key[0..n) whose hash is h, created for
 * traceback tb when new. Returns its index. */
static uint32_t
lookup(struct grouper *g, uint32_t h, uint32_t n, uint32_t tb)
{
    struct pytm_model_table *t = g->t;
    size_t i = (size_t)h & g->mask;
    for (uint64_t v; (v = g->slot[i]) != 0; i = (i + 1) & g->mask)
        if ((v & ~(uint64_t)UINT32_MAX) == SLOT_TAG(h)
            && same_key(g, &t->rows[SLOT_ROW(v) - 1], g->key[0], n))
            return SLOT_ROW(v) - 1;
    /* the row's filename/line are those of the most recent frame */
    uint32_t ri = new_row(g, h, g->key[0], n, tb_fid(g->s, tb, 0), tb);
    g->slot[i] = SLOT_TAG(h) | (uint64_t)(ri + 1);
    return ri;
}

/* While grouping, a row's diff fields (== its own figures until a diff,
 * filled by finish_rows) hold its grouping state instead, so that one
 * traceback's accounting touches one row and nothing else: */
#define REP_SIZE size_diff /* size of the representative traceback */
#define LAST_TB count_diff /* last traceback counted in n_tbs */

/* Adds traceback tb's figures to row ri. */
static void
account(struct grouper *g, uint32_t ri, uint32_t tb)
{
    const struct pytm_snap_tb *st = &g->s->tbs[tb];
    struct pytm_model_row *r = &g->t->rows[ri];
    if (st->size > r->REP_SIZE) {
        /* representative: largest member, lowest index on ties */
        r->REP_SIZE = st->size;
        r->tb = tb;
        if (g->t->group == PYTM_MODEL_TRACEBACK)
            r->total_nframe = st->total_nframe;
    }
    r->size += st->size;
    r->count += st->count;
    r->samples += st->samples;
    if (r->LAST_TB != (int64_t)tb) {
        r->LAST_TB = tb;
        r->n_tbs++;
    }
}

/* Ends grouping: the diff fields get their meaning back. */
static void
finish_rows(struct pytm_model_table *t)
{
    for (size_t i = 0; i < t->n_rows; i++) {
        t->rows[i].size_diff = t->rows[i].size;
        t->rows[i].count_diff = t->rows[i].count;
    }
}

/* F/L: the row of frame fid, memoised per frame id (one load when hot)
 * and per canonical frame id (the row of an equal key). */
static uint32_t
frame_row(struct grouper *g, uint32_t fid, uint32_t tb)
{
    uint32_t m = g->frow[fid];
    if (m)
        return m - 1;
    uint32_t c = g->canon[fid];
    m = g->frow[c];
    if (!m) {
        uint64_t fkey = g->fkh[c].k;
        if (g->t->group == PYTM_MODEL_FILENAME)
            fkey &= ~(uint64_t)UINT32_MAX;
        m = new_row(g, (uint32_t)g->fkh[c].h, fkey, 1, c, tb) + 1;
        g->frow[c] = m;
    }
    g->frow[fid] = m;
    return m - 1;
}

/* F/L: canon[fid] = the lowest frame id with fid's key, so that rows
 * can be memoised per canonical id without a hash lookup in the
 * (random-order) traceback pass. FILENAME keys are filename ranks: a
 * direct table. LINENO keys (exact integers in this snapshot's ranks)
 * are deduplicated through the hash index, its slots prefetched ahead
 * in this sequential pass. */
static void
canon_frames(struct grouper *g)
{
    const struct pytm_snap *s = g->s;
    uint32_t nf = s->n_frames + 1; /* + the "<unknown>" frame */
    const struct model_fkh *fkh = g->fkh;
    if (g->t->group == PYTM_MODEL_FILENAME) {
        uint64_t *first = g->slot; /* [n_ranks_]: canonical id + 1 */
        for (uint32_t f = 0; f < nf; f++) {
            uint32_t rank = (uint32_t)(fkh[f].k >> 32);
            if (!first[rank])
                first[rank] = (uint64_t)f + 1;
            g->canon[f] = (uint32_t)first[rank] - 1;
        }
        return;
    }
    for (uint32_t f = 0; f < nf; f++) {
        if (f + PREFETCH_AHEAD < nf)
            __builtin_prefetch(&g->slot[(uint32_t)fkh[f + PREFETCH_AHEAD].h & g->mask]);
        uint32_t h = (uint32_t)fkh[f].h;
        size_t i = (size_t)h & g->mask;
        uint64_t v;
        for (; (v = g->slot[i]) != 0; i = (i + 1) & g->mask)
            if ((v & ~(uint64_t)UINT32_MAX) == SLOT_TAG(h)
                && fkh[SLOT_ROW(v) - 1].k == fkh[f].k)
                break;
        if (v) {
            g->canon[f] = SLOT_ROW(v) - 1;
        } else {
            g->slot[i] = SLOT_TAG(h) | ((uint64_t)f + 1);
            g->canon[f] = f;
        }
    }
}


/* TRACEBACK pass 1, sequential: writes every taking-part traceback's
 * frame keys (oldest first) to t->seq_ one after the other, and its
 * content hash to tbh (0 for the others). A row then points at the keys
 * of its first traceback (no copy); a later traceback with the same key
 * leaves its copy unused. 0 or PYTM_E_NOMEM. */
static int
key_tracebacks(struct grouper *g)
{
    const struct pytm_snap *s = g->s;
    for (uint32_t i = 0; i < s->n_tbs; i++) {
        if (!takes_part(&s->tbs[i])) {
            g->tbh[i] = 0;
            continue;
        }
        uint32_t n = model_tb_len(s, i);
        uint64_t at;
        uint64_t *k = pytm_model_seq_alloc(g->t, n, &at);
        if (!k)
            return PYTM_E_NOMEM;
        uint64_t h = model_seq_init(n);
        for (uint32_t f = 0; f < n; f++) {
            uint32_t fid = tb_fid(s, i, n - 1 - f);
            k[f] = g->fkh[fid].k;
            h = model_seq_add(h, g->fkh[fid].h);
        }
        g->tbh[i] = model_seq_done(h);
    }
    return 0;
}

/* TRACEBACK pass 2: every taking-part traceback joins the row of its
 * key (hash index, slots prefetched ahead). */
/* True when traceback st takes part; then counts it in t's totals
 * (before the filter: the base of "% of total"). */
static inline bool
take_part(struct pytm_model_table *t, const struct pytm_snap_tb *st)
{
    if (!takes_part(st))
        return false;
    t->n_tbs++;
    t->total_size += st->size;
    t->total_count += st->count;
    return true;
}

static void
group_tracebacks(struct grouper *g)
{
    struct pytm_model_table *t = g->t;
    const struct pytm_snap *s = g->s;
    if ((g->err = key_tracebacks(g)) != 0)
        return;
    const uint32_t *th = g->tbh;
    uint64_t off = 0;
    for (uint32_t i = 0; i < s->n_tbs; i++) {
        if (i + PREFETCH_AHEAD < s->n_tbs)
            __builtin_prefetch(&g->slot[th[i + PREFETCH_AHEAD] & g->mask]);
        if (!take_part(t, &s->tbs[i]))
            continue;
        uint32_t n = model_tb_len(s, i);
        g->key = t->seq_ + off;
        g->key_at = off;
        off += n;
        account(g, lookup(g, th[i], n, i), i);
    }
}

static void
group_frames(struct grouper *g)
{
    struct pytm_model_table *t = g->t;
    const struct pytm_snap *s = g->s;
    for (uint32_t i = 0; i < s->n_tbs; i++) {
        if (!take_part(t, &s->tbs[i]))
            continue;
        uint32_t n = t->cumulative ? model_tb_len(s, i) : 1;
        for (uint32_t k = 0; k < n; k++)
            account(g, frame_row(g, tb_fid(s, i, k), i), i);
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
    size_t nf = (size_t)snap->n_frames + 1;
    /* TRACEBACK indexes rows; LINENO every frame's key (canon_frames);
       FILENAME uses the slots as a table by rank */
    size_t keys = t->group == PYTM_MODEL_TRACEBACK ? cap
                  : t->group == PYTM_MODEL_LINENO  ? nf
                                                   : t->n_ranks_;
    size_t slots = 16;
    while (slots < keys * 2)
        slots <<= 1;
    size_t n_tbh = t->group == PYTM_MODEL_TRACEBACK ? snap->n_tbs : 0;
    if (pytm_model_grow((void **)&w->slot, &w->slot_cap, slots, sizeof *w->slot)
        || pytm_model_grow((void **)&w->fkh, &w->fkh_cap, nf, sizeof *w->fkh)
        || pytm_model_grow((void **)&w->frow, &w->frow_cap, nf, sizeof *w->frow)
        || pytm_model_grow((void **)&w->canon, &w->canon_cap, nf, sizeof *w->canon)
        || pytm_model_grow((void **)&w->tbh, &w->tbh_cap, n_tbh, sizeof *w->tbh)
        || pytm_model_grow((void **)&w->sh, &w->sh_cap,
                           (size_t)snap->n_strings + 1, sizeof *w->sh)
        || pytm_model_reserve(t, cap))
        return PYTM_E_NOMEM;
    memset(w->slot, 0, slots * sizeof *w->slot);
    memset(w->frow, 0, nf * sizeof *w->frow);
    for (uint32_t i = 0; i < snap->n_strings; i++)
        w->sh[i] = model_bytes_hash(snap->str_pool + snap->str_off[i],
                                    snap->str_len[i]);
    w->sh[snap->n_strings] = model_bytes_hash(MODEL_UNKNOWN_NAME,
                                              MODEL_UNKNOWN_LEN);
    bool by_file = t->group == PYTM_MODEL_FILENAME;
    for (uint32_t i = 0; i < snap->n_frames; i++) {
        const struct pytm_snap_frame *f = &snap->frames[i];
        w->fkh[i].k = model_fkey(t->srank_, f->filename, f->lineno);
        w->fkh[i].h = model_frame_hash(w->sh[f->filename], by_file ? 0 : f->lineno);
    }
    w->fkh[snap->n_frames].k = model_fkey(t->srank_, snap->n_strings, 0);
    w->fkh[snap->n_frames].h = model_frame_hash(w->sh[snap->n_strings], 0);
    *g = (struct grouper){
        .t = t,
        .s = snap,
        .slot = w->slot,
        .fkh = w->fkh,
        .frow = w->frow,
        .canon = w->canon,
        .tbh = w->tbh,
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
    t->unsorted_ = opts->unsorted;
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
        else {
            canon_frames(&g);
            group_frames(&g);
        }
        err = g.err;
    }
    if (!err)
        finish_rows(t);
    if (!err)
        err = apply_filter(t);
    if (!err && !t->unsorted_)
        err = pytm_model_sort(t, PYTM_MODEL_SORT_SIZE, true);
    if (err)
        t->n_rows = t->n_sorted = 0;
    return err;
}
