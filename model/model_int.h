/* model/model_int: helpers shared by the model's files (model.c,
 * model_rank.c, model_sort.c, model_diff.c). Not part of the model API:
 * only those files include it.
 *
 * Content keys. Every string of a snapshot gets a content rank
 * (model_rank.c): equal bytes <=> equal rank, rank order == byte order.
 * A frame's key is then one 64-bit integer
 *
 *     fkey = rank(filename) << 32 | lineno
 *
 * whose integer order is tracemalloc's Frame order (filename, lineno),
 * and a traceback's key is the sequence of its frames' fkeys. After a
 * diff both snapshots' ranks come from one merged order, so keys of the
 * two sides compare directly.
 */
#ifndef PYTM_MODEL_MODEL_INT_H
#define PYTM_MODEL_MODEL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "snap.h"

#define MODEL_UNKNOWN_NAME "<unknown>"
#define MODEL_UNKNOWN_LEN 9u

/* Rank of string index `str` of a snapshot with n_strings strings, where
 * str == n_strings is the virtual "<unknown>". */
static inline uint64_t
model_fkey(const uint32_t *srank, uint32_t str, uint32_t lineno)
{
    return ((uint64_t)srank[str] << 32) | lineno;
}

/* fkey of frame id `fid` of snapshot s. */
static inline uint64_t
model_frame_fkey(const struct pytm_snap *s, const uint32_t *srank, uint32_t fid)
{
    const struct pytm_snap_frame *f = &s->frames[fid];
    return model_fkey(srank, f->filename, f->lineno);
}

/* The k-th frame key (0 = most recent) of traceback tb, with nframe 0
 * read as the one frame ("<unknown>", 0). */
static inline uint64_t
model_tb_fkey(const struct pytm_snap *s, const uint32_t *srank, uint32_t tb,
              uint32_t k)
{
    const struct pytm_snap_tb *t = &s->tbs[tb];
    if (t->nframe == 0)
        return model_fkey(srank, s->n_strings, 0);
    return model_frame_fkey(s, srank, s->frame_ids[t->frames_at + k]);
}

/* Frames of tb's key (nframe, or 1 for the "<unknown>" frame). */
static inline uint32_t
model_tb_len(const struct pytm_snap *s, uint32_t tb)
{
    uint32_t n = s->tbs[tb].nframe;
    return n ? n : 1u;
}

/* 64-bit mix (splitmix64 finaliser). */
static inline uint64_t
model_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* The srank array of the row's side. */
static inline const uint32_t *
model_row_srank(const struct pytm_model_table *t, const struct pytm_model_row *r)
{
    return (r->flags & PYTM_MODEL_ROW_BASE) ? t->srank_base_ : t->srank_;
}

/* Ranks the strings of t->snap into t->srank_ / t->sorder_ / t->n_ranks_
 * (model_rank.c). 0 or PYTM_E_NOMEM. */
int pytm_model_rank_strings(struct pytm_model_table *t);

/* Re-ranks t->srank_ and fills t->srank_base_ (allocated here) from one
 * merged content order of t's and base's strings. *cmap (*bmap) maps
 * t's (base's) previous ranks to the joint ones (malloc'd, [n_ranks_]
 * of each table before the call; the caller frees them).
 * 0 or PYTM_E_NOMEM (then nothing changed). */
int pytm_model_rank_joint(struct pytm_model_table *t,
                          const struct pytm_model_table *base, uint32_t **cmap,
                          uint32_t **bmap);

/* A frame key with its rank translated through map. */
static inline uint64_t
model_fkey_remap(uint64_t k, const uint32_t *map)
{
    return ((uint64_t)map[k >> 32] << 32) | (k & UINT32_MAX);
}

/* Content hashes. A row's hash_ hashes its key's CONTENT (string bytes
 * and line numbers), never ranks, so it is the same for equal keys of
 * any two tables: a diff joins on the hashes stored at build time
 * without re-hashing, whatever the joint rank space turns out to be.
 *
 *   string   sh = model_bytes_hash(bytes)          (per snapshot string)
 *   frame    fh = model_frame_hash(sh, lineno)     (lineno 0 for FILENAME)
 *   F/L row  hash_ = (uint32_t)fh
 *   TB row   hash_ = model_seq_done(model_seq_add(... fh of each frame,
 *            oldest first))
 */

/* Hash of n bytes: 8 at a time, one multiply each, a full mix at the end. */
static inline uint64_t
model_bytes_hash(const char *p, size_t n)
{
    uint64_t h = 0x2d358dccaa6c78a5ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        h = (h ^ v) * 0x9fb21c651e98df25ull;
        h = (h << 31) | (h >> 33);
    }
    uint64_t tail = 0;
    memcpy(&tail, p + i, n - i);
    return model_mix((h ^ tail) * 0x9fb21c651e98df25ull);
}

/* Hash of a frame (filename's model_bytes_hash, line). */
static inline uint64_t
model_frame_hash(uint64_t sh, uint32_t lineno)
{
    return model_mix(sh ^ ((uint64_t)lineno * 0x9e3779b97f4a7c15ull));
}

/* Streaming hash of a frame sequence: start with model_seq_init(n), add
 * each frame hash oldest first, finish with model_seq_done. */
static inline uint64_t
model_seq_init(uint32_t n)
{
    return 0x9e3779b97f4a7c15ull ^ n;
}

static inline uint64_t
model_seq_add(uint64_t h, uint64_t fh)
{
    h = (h ^ fh) * 0xff51afd7ed558ccdull;
    return (h << 29) | (h >> 35);
}

static inline uint32_t
model_seq_done(uint64_t h)
{
    return (uint32_t)model_mix(h);
}

/* Reserves n frame keys at the end of t->seq_, stores their offset in
 * *at and returns where to write them (valid until the next call), or
 * NULL when out of memory (nothing reserved). */
uint64_t *pytm_model_seq_alloc(struct pytm_model_table *t, uint32_t n,
                               uint64_t *at);

/* Writes tb's frame keys oldest first into out[0 .. model_tb_len). */
static inline void
model_tb_seq(const struct pytm_snap *s, const uint32_t *srank, uint32_t tb,
             uint64_t *out)
{
    uint32_t n = model_tb_len(s, tb);
    for (uint32_t k = 0; k < n; k++)
        out[n - 1 - k] = model_tb_fkey(s, srank, tb, k);
}

/* A frame's key (fkey) and content hash, side by side: the traceback
 * pass reads both for every frame. */
struct model_fkh {
    uint64_t k;
    uint64_t h;
};

/* Buffers kept across builds so that a refresh does not fault in fresh
 * pages every time. Each array grows geometrically, never shrinks. */
struct pytm_model_work {
    uint64_t *slot;    /* hash index: a 32-bit content hash << 32 | an
                          index + 1; 0 = empty. Building: TRACEBACK rows,
                          LINENO frame keys (canon_frames), FILENAME a
                          plain table by filename rank. Diffing: base rows */
    size_t slot_cap;
    struct model_fkh *fkh; /* per frame id (+1 for "<unknown>"): its key
                              and content hash (lineno 0 for FILENAME) */
    size_t fkh_cap;
    uint32_t *frow;    /* F/L, per frame id: its row index + 1, 0 = not
                          known yet (always set for canonical ids) */
    size_t frow_cap;
    uint32_t *canon;   /* F/L, per frame id: the lowest frame id with the
                          same key (model_group.c) */
    size_t canon_cap;
    uint32_t *tbh;     /* TRACEBACK: per traceback, the hash of its key */
    size_t tbh_cap;
    uint64_t *sh;      /* per string (+1 for "<unknown>"): bytes hash */
    size_t sh_cap;
    unsigned char *mark; /* diff: per base row, 1 once joined; partial
                            sort: per row, 1 when put in front */
    size_t mark_cap;
    void *ents;        /* sort entries (model_sort.c) */
    size_t ents_cap;   /* bytes */
    struct pytm_model_row *rows2; /* sort output, swapped with rows */
    size_t rows2_cap;
};

/* Makes *p hold at least n elements of `size` bytes (contents kept).
 * 0 or PYTM_E_NOMEM (then *p, *cap unchanged). */
int pytm_model_grow(void **p, size_t *cap, size_t n, size_t size);

/* t->work_, allocated on first use; NULL when out of memory. */
struct pytm_model_work *pytm_model_work(struct pytm_model_table *t);

/* Empties t's rows and diff state, keeps buffers. */
void pytm_model_reset(struct pytm_model_table *t);

/* Ensures t->rows can hold n rows. 0 or PYTM_E_NOMEM. */
int pytm_model_reserve(struct pytm_model_table *t, size_t n);

#endif /* PYTM_MODEL_MODEL_INT_H */
