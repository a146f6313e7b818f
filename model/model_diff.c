/* model/model_diff: joining a table with a baseline table by content key,
 * as tracemalloc's _compare_grouped_stats does with two dicts.
 *
 * 1. Both tables' strings are re-ranked in one merged order
 *    (model_rank.c); cmap / bmap translate each side's old ranks.
 * 2. Every row already carries a content hash of its key (hash_, set at
 *    build time and independent of ranks, model_int.h), so the base
 *    rows go into a hash index (the current table's reused slot buffer)
 *    without re-hashing, and every current row probes it once. A
 *    candidate pair is confirmed by comparing both keys translated to
 *    the joint ranks on the fly.
 * 3. The current rows' keys and sequences are translated in place; the
 *    unmatched base rows are appended with translated copies of their
 *    keys (so *base may be freed afterwards).
 * O(rows + their frames) for both tables; no allocation once the work
 * buffers have grown.
 */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "pytm_error.h"

#define PREFETCH_AHEAD 16
#define SLOT_ROW(v) ((uint32_t)(v))
#define SLOT_TAG(h32) ((uint64_t)(h32) << 32)
#define TAG_MASK (~(uint64_t)UINT32_MAX)

static bool
tables_match(const struct pytm_model_table *cur,
             const struct pytm_model_table *base)
{
    if (!cur->snap || !base->snap || cur->diffed || base->diffed
        || cur->group != base->group || cur->cumulative != base->cumulative)
        return false;
    if (!cur->filter_ || !base->filter_)
        return cur->filter_ == base->filter_;
    return strcmp(cur->filter_, base->filter_) == 0;
}

/* The two sides of a join, each with its old-rank -> joint-rank map. */
struct join {
    struct pytm_model_table *cur;
    const struct pytm_model_table *base;
    const uint32_t *cmap, *bmap;
    bool cid, bid;      /* cmap / bmap is the identity (the usual case for
                           two snapshots of one process: the baseline's
                           strings are a subset of the current ones) */
    uint64_t *slot;
    size_t mask;
    unsigned char *mark;
};

/* Do current row a and base row b have the same key? */
static bool
same_key(const struct join *j, const struct pytm_model_row *a,
         const struct pytm_model_row *b)
{
    if (model_fkey_remap(a->key_, j->cmap) != model_fkey_remap(b->key_, j->bmap))
        return false;
    if (j->cur->group != PYTM_MODEL_TRACEBACK)
        return true;
    if (a->nframe != b->nframe)
        return false;
    const uint64_t *ka = j->cur->seq_ + a->seq_at_;
    const uint64_t *kb = j->base->seq_ + b->seq_at_;
    for (uint32_t k = 1; k < a->nframe; k++)
        if (model_fkey_remap(ka[k], j->cmap) != model_fkey_remap(kb[k], j->bmap))
            return false;
    return true;
}

/* Indexes the base rows, joins every current row (fills its diffs,
 * marks its base row) and translates its key_ to the joint ranks.
 * Returns how many base rows stayed unmatched; *matched_frames gets the
 * frame keys of the matched base rows. */
static size_t
join_rows(struct join *j, size_t *matched_frames)
{
    const struct pytm_model_row *brow = j->base->rows;
    size_t nb = j->base->n_rows, mask = j->mask;
    for (size_t i = 0; i < nb; i++) {
        if (i + PREFETCH_AHEAD < nb)
            __builtin_prefetch(&j->slot[brow[i + PREFETCH_AHEAD].hash_ & mask]);
        size_t s = brow[i].hash_ & mask;
        while (j->slot[s])
            s = (s + 1) & mask;
        j->slot[s] = SLOT_TAG(brow[i].hash_) | (uint64_t)(i + 1);
    }
    struct pytm_model_row *crow = j->cur->rows;
    size_t nc = j->cur->n_rows, only_base = nb, mf = 0;
    for (size_t i = 0; i < nc; i++) {
        if (i + PREFETCH_AHEAD < nc)
            __builtin_prefetch(&j->slot[crow[i + PREFETCH_AHEAD].hash_ & mask]);
        struct pytm_model_row *r = &crow[i];
        uint64_t tag = SLOT_TAG(r->hash_);
        for (size_t s = r->hash_ & mask; j->slot[s]; s = (s + 1) & mask) {
            size_t bi = SLOT_ROW(j->slot[s]) - 1;
            if ((j->slot[s] & TAG_MASK) == tag && !j->mark[bi]
                && same_key(j, r, &brow[bi])) {
                j->mark[bi] = 1;
                only_base--;
                mf += brow[bi].nframe;
                r->size_diff = r->size - brow[bi].size;
                r->count_diff = r->count - brow[bi].count;
                break;
            }
        }
        r->key_ = model_fkey_remap(r->key_, j->cmap); /* after the probe */
    }
    *matched_frames = mf;
    return only_base;
}

/* Translates the current rows' frame sequences to the joint ranks (their
 * key_ already is, join_rows), then appends the unmatched base rows with
 * translated copies of their keys. Rows and the sequence store must
 * have room (reserved by the caller). */
static void
translate_and_append(struct join *j)
{
    struct pytm_model_table *cur = j->cur;
    const struct pytm_model_table *base = j->base;
    bool tb = cur->group == PYTM_MODEL_TRACEBACK;
    if (tb && !j->cid)
        for (size_t i = 0; i < cur->seq_len_; i++)
            cur->seq_[i] = model_fkey_remap(cur->seq_[i], j->cmap);
    for (size_t i = 0; i < base->n_rows; i++) {
        if (j->mark[i])
            continue;
        const struct pytm_model_row *b = &base->rows[i];
        if (tb && i + PREFETCH_AHEAD < base->n_rows) {
            /* base rows are sorted, so their keys are scattered */
            const uint64_t *ahead =
                base->seq_ + base->rows[i + PREFETCH_AHEAD].seq_at_;
            __builtin_prefetch(ahead);
            __builtin_prefetch(ahead + 8);
        }
        struct pytm_model_row *r = &cur->rows[cur->n_rows++];
        *r = *b;
        r->flags |= PYTM_MODEL_ROW_BASE;
        r->key_ = model_fkey_remap(b->key_, j->bmap);
        r->size_diff = -b->size;
        r->count_diff = -b->count;
        r->size = r->count = r->samples = 0;
        if (tb) {
            uint64_t at;
            uint64_t *k = pytm_model_seq_alloc(cur, b->nframe, &at); /* room
                                                          reserved */
            const uint64_t *src = base->seq_ + b->seq_at_;
            if (j->bid)
                memcpy(k, src, b->nframe * sizeof *k);
            else
                for (uint32_t f = 0; f < b->nframe; f++)
                    k[f] = model_fkey_remap(src[f], j->bmap);
            r->seq_at_ = at;
        }
    }
}

static bool
is_identity(const uint32_t *map, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (map[i] != i)
            return false;
    return true;
}

int
pytm_model_diff(struct pytm_model_table *cur,
                const struct pytm_model_table *base)
{
    if (!cur || !base || !tables_match(cur, base))
        return PYTM_E_INVAL;
    uint32_t *cmap = NULL, *bmap = NULL;
    size_t nb = base->n_rows, slots = 16;
    while (slots < nb * 2)
        slots <<= 1;
    struct pytm_model_work *w = pytm_model_work(cur);
    int err = PYTM_E_NOMEM;
    if (!w || pytm_model_grow((void **)&w->slot, &w->slot_cap, slots, sizeof *w->slot)
        || pytm_model_grow((void **)&w->mark, &w->mark_cap, nb ? nb : 1, 1))
        goto out;
    uint32_t cur_ranks = cur->n_ranks_;
    if ((err = pytm_model_rank_joint(cur, base, &cmap, &bmap)) != 0)
        goto out;
    cur->base_snap = base->snap;
    memset(w->slot, 0, slots * sizeof *w->slot);
    memset(w->mark, 0, nb);
    struct join j = {
        .cur = cur, .base = base, .cmap = cmap, .bmap = bmap,
        .cid = is_identity(cmap, cur_ranks),
        .bid = is_identity(bmap, base->n_ranks_),
        .slot = w->slot, .mask = slots - 1, .mark = w->mark,
    };
    size_t mf;
    size_t only_base = join_rows(&j, &mf);
    /* base->seq_ holds its rows' keys (and those of rows its filter
       dropped): an upper bound on the unmatched rows' keys */
    size_t nf = cur->group == PYTM_MODEL_TRACEBACK ? base->seq_len_ - mf : 0;
    err = PYTM_E_NOMEM;
    if (pytm_model_reserve(cur, cur->n_rows + only_base))
        goto out;
    if (nf) { /* reserve, then give back: the appends cannot fail */
        uint64_t at;
        if (nf > UINT32_MAX || !pytm_model_seq_alloc(cur, (uint32_t)nf, &at))
            goto out;
        cur->seq_len_ = at;
    }
    translate_and_append(&j);
    cur->diffed = true;
    cur->base_total_size = base->total_size;
    cur->base_total_count = base->total_count;
    cur->n_sorted = 0;
    if (!cur->unsorted_)
        err = pytm_model_sort(cur, PYTM_MODEL_SORT_COMPARE, true);
    else
        err = 0;
out:
    free(cmap);
    free(bmap);
    if (err)
        pytm_model_reset(cur);
    return err;
}
