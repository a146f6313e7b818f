/* model/model_rank: content ranks of strings, row keys and their order.
 *
 * Ranking a snapshot's strings once (S log S for S strings, usually a
 * few hundred filenames) turns every later key comparison and hash into
 * integer work: see model_int.h for the fkey encoding.
 */
#define _GNU_SOURCE /* qsort_r */
#include "model_int.h"

#include <stdlib.h>
#include <string.h>

#include "pytm_error.h"

/* Bytes of string i of s (i == n_strings: "<unknown>"). */
static const char *
str_bytes(const struct pytm_snap *s, uint32_t i, uint32_t *len)
{
    if (i >= s->n_strings) {
        *len = MODEL_UNKNOWN_LEN;
        return MODEL_UNKNOWN_NAME;
    }
    *len = s->str_len[i];
    return s->str_pool + s->str_off[i];
}

/* Byte-wise (unsigned) comparison, a proper prefix first: code point
 * order for UTF-8, as Python compares str. */
static int
bytes_cmp(const char *a, uint32_t la, const char *b, uint32_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c)
        return c;
    return (la > lb) - (la < lb);
}

static int
str_cmp(const struct pytm_snap *sa, uint32_t a, const struct pytm_snap *sb,
        uint32_t b)
{
    uint32_t la, lb;
    const char *pa = str_bytes(sa, a, &la);
    const char *pb = str_bytes(sb, b, &lb);
    return bytes_cmp(pa, la, pb, lb);
}

static int
sorder_cmp(const void *x, const void *y, void *ctx)
{
    const struct pytm_snap *s = ctx;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    int c = str_cmp(s, a, s, b);
    if (c)
        return c;
    return (a > b) - (a < b); /* deterministic among equal strings */
}

int
pytm_model_rank_strings(struct pytm_model_table *t)
{
    const struct pytm_snap *s = t->snap;
    size_t n = (size_t)s->n_strings + 1;
    uint32_t *rank = realloc(t->srank_, n * sizeof *rank);
    if (!rank)
        return PYTM_E_NOMEM;
    t->srank_ = rank;
    uint32_t *order = realloc(t->sorder_, n * sizeof *order);
    if (!order)
        return PYTM_E_NOMEM;
    t->sorder_ = order;
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, n, sizeof *order, sorder_cmp, (void *)s);
    uint32_t r = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && str_cmp(s, order[i - 1], s, order[i]) != 0)
            r++;
        rank[order[i]] = r;
    }
    t->n_ranks_ = r + 1;
    return 0;
}

int
pytm_model_rank_joint(struct pytm_model_table *t,
                      const struct pytm_model_table *base, uint32_t **cmap,
                      uint32_t **bmap)
{
    const struct pytm_snap *sc = t->snap, *sb = base->snap;
    size_t nc = (size_t)sc->n_strings + 1, nb = (size_t)sb->n_strings + 1;
    uint32_t *rc = malloc(nc * sizeof *rc);
    uint32_t *rb = malloc(nb * sizeof *rb);
    uint32_t *mc = malloc((size_t)t->n_ranks_ * sizeof *mc);
    uint32_t *mb = malloc((size_t)base->n_ranks_ * sizeof *mb);
    if (!rc || !rb || !mc || !mb) {
        free(rc);
        free(rb);
        free(mc);
        free(mb);
        return PYTM_E_NOMEM;
    }
    /* Merge the two content orders; equal content gets one rank. */
    size_t i = 0, j = 0;
    uint32_t r = 0;
    const struct pytm_snap *ps = NULL;
    uint32_t prev = 0;
    while (i < nc || j < nb) {
        bool take_cur;
        if (i == nc)
            take_cur = false;
        else if (j == nb)
            take_cur = true;
        else
            take_cur = str_cmp(sc, t->sorder_[i], sb, base->sorder_[j]) <= 0;
        const struct pytm_snap *s = take_cur ? sc : sb;
        uint32_t idx = take_cur ? t->sorder_[i++] : base->sorder_[j++];
        if (ps && str_cmp(ps, prev, s, idx) != 0)
            r++;
        if (take_cur) {
            mc[t->srank_[idx]] = r;
            rc[idx] = r;
        } else {
            mb[base->srank_[idx]] = r;
            rb[idx] = r;
        }
        ps = s;
        prev = idx;
    }
    free(t->srank_);
    t->srank_ = rc;
    free(t->srank_base_);
    t->srank_base_ = rb;
    t->n_ranks_ = r + 1;
    *cmap = mc;
    *bmap = mb;
    return 0;
}

int
pytm_model_key_cmp(const struct pytm_model_table *t,
                   const struct pytm_model_row *a,
                   const struct pytm_model_row *b)
{
    if (a->key_ != b->key_)
        return a->key_ < b->key_ ? -1 : 1;
    if (t->group != PYTM_MODEL_TRACEBACK)
        return 0;
    /* Traceback order: tuple of frames, oldest first, prefix first. */
    const uint64_t *ka = t->seq_ + a->seq_at_, *kb = t->seq_ + b->seq_at_;
    uint32_t n = a->nframe < b->nframe ? a->nframe : b->nframe;
    for (uint32_t k = 1; k < n; k++)
        if (ka[k] != kb[k])
            return ka[k] < kb[k] ? -1 : 1;
    return (a->nframe > b->nframe) - (a->nframe < b->nframe);
}

uint64_t *
pytm_model_seq_alloc(struct pytm_model_table *t, uint32_t n, uint64_t *at)
{
    if (t->seq_cap_ - t->seq_len_ < n) {
        size_t cap = t->seq_cap_ ? t->seq_cap_ : 1024;
        while (cap - t->seq_len_ < n) {
            if (cap > SIZE_MAX / 2 / sizeof *t->seq_)
                return NULL;
            cap *= 2;
        }
        uint64_t *p = realloc(t->seq_, cap * sizeof *p);
        if (!p)
            return NULL;
        t->seq_ = p;
        t->seq_cap_ = cap;
    }
    *at = t->seq_len_;
    t->seq_len_ += n;
    return t->seq_ + *at;
}
