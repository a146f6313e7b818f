/* tui/model_diff: joining a table with a baseline table by content key,
 * as tracemalloc's _compare_grouped_stats does with two dicts.
 *
 * 1. Both tables' strings are re-ranked in one merged order
 *    (model_rank.c), and every stored key is translated to it: the
 *    current rows' keys and sequences in place, the base rows' copies
 *    appended to the current table's sequence store. Keys of both sides
 *    are then comparable integers; nothing reads the snapshots again.
 * 2. The base rows go into a hash index; every current row probes it
 *    once. Hashes are computed in a sequential pass first so that the
 *    index slots can be prefetched ahead of the probes.
 * O(rows + their frames) for both tables.
 */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "pytm_error.h"

#define PREFETCH_AHEAD 16
#define SLOT_ROW(v) ((uint32_t)(v))
#define SLOT_TAG(h) ((h) & 0xffffffff00000000ull)

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

/* Translates cur's keys and appends base's translated sequences to
 * cur->seq_; *base_off receives where they start. */
static int
translate(struct pytm_model_table *cur, const struct pytm_model_table *base,
          const uint32_t *cmap, const uint32_t *bmap, uint64_t *base_off)
{
    for (size_t i = 0; i < cur->n_rows; i++)
        cur->rows[i].key_ = model_fkey_remap(cur->rows[i].key_, cmap);
    *base_off = 0;
    if (cur->group != PYTM_MODEL_TRACEBACK)
        return 0;
    for (size_t i = 0; i < cur->seq_len_; i++)
        cur->seq_[i] = model_fkey_remap(cur->seq_[i], cmap);
    if (base->seq_len_ > UINT32_MAX)
        return PYTM_E_NOMEM;
    uint64_t *k = pytm_model_seq_alloc(cur, (uint32_t)base->seq_len_, base_off);
    if (!k)
        return PYTM_E_NOMEM;
    for (size_t i = 0; i < base->seq_len_; i++)
        k[i] = model_fkey_remap(base->seq_[i], bmap);
    return 0;
}

/* Joins cur's rows with the base rows brow[0..nb) (already translated,
 * flagged BASE): fills the diffs of matched current rows, marks matched
 * base rows. Returns how many base rows stayed unmatched, or -1 on
 * NOMEM. */
static long long
join(struct pytm_model_table *cur, const struct pytm_model_row *brow, size_t nb,
     bool *matched)
{
    size_t nc = cur->n_rows, slots = 16;
    while (slots < nb * 2)
        slots <<= 1;
    size_t mask = slots - 1, nh = nb > nc ? nb : nc;
    uint64_t *slot = calloc(slots, sizeof *slot);
    uint64_t *h = malloc((nh ? nh : 1) * sizeof *h);
    if (!slot || !h) {
        free(slot);
        free(h);
        return -1;
    }
    for (size_t i = 0; i < nb; i++)
        h[i] = pytm_model_row_hash(cur, &brow[i]);
    for (size_t i = 0; i < nb; i++) {
        if (i + PREFETCH_AHEAD < nb)
            __builtin_prefetch(&slot[h[i + PREFETCH_AHEAD] & mask]);
        size_t s = (size_t)h[i] & mask;
        while (slot[s])
            s = (s + 1) & mask;
        slot[s] = SLOT_TAG(h[i]) | (uint64_t)(i + 1);
    }
    for (size_t i = 0; i < nc; i++)
        h[i] = pytm_model_row_hash(cur, &cur->rows[i]);
    long long only_base = (long long)nb;
    for (size_t i = 0; i < nc; i++) {
        if (i + PREFETCH_AHEAD < nc)
            __builtin_prefetch(&slot[h[i + PREFETCH_AHEAD] & mask]);
        struct pytm_model_row *r = &cur->rows[i];
        for (size_t s = (size_t)h[i] & mask; slot[s]; s = (s + 1) & mask) {
            size_t bi = SLOT_ROW(slot[s]) - 1;
            if (SLOT_TAG(slot[s]) == SLOT_TAG(h[i]) && !matched[bi]
                && pytm_model_key_cmp(cur, r, &brow[bi]) == 0) {
                matched[bi] = true;
                only_base--;
                r->size_diff = r->size - brow[bi].size;
                r->count_diff = r->count - brow[bi].count;
                break;
            }
        }
    }
    free(slot);
    free(h);
    return only_base;
}

int
pytm_model_diff(struct pytm_model_table *cur,
                const struct pytm_model_table *base)
{
    if (!cur || !base || !tables_match(cur, base))
        return PYTM_E_INVAL;
    uint32_t *cmap = NULL, *bmap = NULL;
    size_t nb = base->n_rows;
    bool *matched = calloc(nb ? nb : 1, sizeof *matched);
    struct pytm_model_row *brow = malloc((nb ? nb : 1) * sizeof *brow);
    int err = PYTM_E_NOMEM;
    if (!matched || !brow)
        goto out;
    if ((err = pytm_model_rank_joint(cur, base, &cmap, &bmap)) != 0)
        goto out;
    cur->base_snap = base->snap;
    uint64_t off;
    if ((err = translate(cur, base, cmap, bmap, &off)) != 0)
        goto out;
    for (size_t i = 0; i < nb; i++) {
        brow[i] = base->rows[i];
        brow[i].flags |= PYTM_MODEL_ROW_BASE;
        brow[i].key_ = model_fkey_remap(brow[i].key_, bmap);
        brow[i].seq_at_ += off;
    }
    long long only_base = join(cur, brow, nb, matched);
    err = PYTM_E_NOMEM;
    if (only_base < 0 || pytm_model_reserve(cur, cur->n_rows + (size_t)only_base))
        goto out;
    for (size_t i = 0; i < nb; i++) {
        if (matched[i])
            continue;
        struct pytm_model_row *r = &cur->rows[cur->n_rows++];
        *r = brow[i];
        r->size_diff = -brow[i].size;
        r->count_diff = -brow[i].count;
        r->size = r->count = r->samples = 0;
    }
    cur->diffed = true;
    cur->base_total_size = base->total_size;
    cur->base_total_count = base->total_count;
    err = pytm_model_sort(cur, PYTM_MODEL_SORT_COMPARE, true);
out:
    free(cmap);
    free(bmap);
    free(matched);
    free(brow);
    if (err)
        pytm_model_reset(cur);
    return err;
}
