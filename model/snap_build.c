/* model/snap_build.c: incremental construction of a struct pytm_snap.
 *
 * struct pytm_snap keeps counts but no capacities (snap.h is the shared
 * model and stays minimal), and every array is "one malloc" per the
 * contract. The builders therefore read an array's real capacity with
 * malloc_usable_size() and grow it geometrically (x2) when full. That
 * stays correct whoever allocated the array (the reader and the dump
 * decoder allocate exact sizes, then the Python layer may append), at
 * the price of depending on glibc (as does the rest of shm/).
 */
#include "snap.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "pytm_error.h"

/* Ensures *p can hold n_now + n_add elements of `elem` bytes. On failure
 * *p is untouched. 0 or PYTM_E_NOMEM. */
static int
reserve(void **p, size_t elem, uint64_t n_now, uint64_t n_add)
{
    if (n_add > SIZE_MAX / elem || n_now > SIZE_MAX / elem - n_add)
        return PYTM_E_NOMEM;
    size_t need = (size_t)(n_now + n_add) * elem;
    size_t have = *p ? malloc_usable_size(*p) : 0;
    if (need <= have)
        return 0;
    size_t cap = have > SIZE_MAX / 2 ? need : have * 2;
    if (cap < need)
        cap = need;
    if (cap < 16 * elem)
        cap = 16 * elem;
    void *q = realloc(*p, cap);
    if (!q)
        return PYTM_E_NOMEM;
    *p = q;
    return 0;
}

int
pytm_snap_add_string(struct pytm_snap *s, const char *str, size_t len,
                     uint32_t *idx)
{
    if (!s || (!str && len))
        return PYTM_E_INVAL;
    if (s->n_strings == UINT32_MAX || len > UINT32_MAX)
        return PYTM_E_NOMEM;
    if (reserve((void **)&s->str_pool, 1, s->str_pool_size, (uint64_t)len + 1)
        || reserve((void **)&s->str_off, sizeof *s->str_off, s->n_strings, 1)
        || reserve((void **)&s->str_len, sizeof *s->str_len, s->n_strings, 1))
        return PYTM_E_NOMEM;
    uint64_t off = s->str_pool_size;
    if (len)
        memcpy(s->str_pool + off, str, len);
    s->str_pool[off + len] = '\0';
    s->str_pool_size = off + len + 1;
    s->str_off[s->n_strings] = off;
    s->str_len[s->n_strings] = (uint32_t)len;
    if (idx)
        *idx = s->n_strings;
    s->n_strings++;
    return 0;
}

int
pytm_snap_add_frame(struct pytm_snap *s, uint32_t filename, uint32_t lineno,
                    uint32_t *idx)
{
    if (!s)
        return PYTM_E_INVAL;
    if (s->n_frames == UINT32_MAX
        || reserve((void **)&s->frames, sizeof *s->frames, s->n_frames, 1))
        return PYTM_E_NOMEM;
    s->frames[s->n_frames].filename = filename;
    s->frames[s->n_frames].lineno = lineno;
    if (idx)
        *idx = s->n_frames;
    s->n_frames++;
    return 0;
}

int
pytm_snap_add_tb(struct pytm_snap *s, const uint32_t *frame_ids,
                 uint32_t nframe, uint32_t total_nframe, uint32_t *idx)
{
    if (!s || (!frame_ids && nframe))
        return PYTM_E_INVAL;
    if (s->n_tbs == UINT32_MAX
        || (uint64_t)s->n_frame_ids + nframe > UINT32_MAX)
        return PYTM_E_NOMEM;
    if (reserve((void **)&s->frame_ids, sizeof *s->frame_ids, s->n_frame_ids,
                nframe)
        || reserve((void **)&s->tbs, sizeof *s->tbs, s->n_tbs, 1))
        return PYTM_E_NOMEM;
    if (nframe)
        memcpy(s->frame_ids + s->n_frame_ids, frame_ids,
               (size_t)nframe * sizeof *frame_ids);
    struct pytm_snap_tb *tb = &s->tbs[s->n_tbs];
    memset(tb, 0, sizeof *tb);
    tb->frames_at = s->n_frame_ids;
    tb->nframe = nframe;
    tb->total_nframe = total_nframe;
    s->n_frame_ids += nframe;
    if (idx)
        *idx = s->n_tbs;
    s->n_tbs++;
    return 0;
}

int
pytm_snap_add_trace(struct pytm_snap *s, const struct pytm_snap_trace *trace)
{
    if (!s || !trace)
        return PYTM_E_INVAL;
    if (reserve((void **)&s->traces, sizeof *s->traces, s->n_traces, 1))
        return PYTM_E_NOMEM;
    s->traces[s->n_traces++] = *trace;
    s->meta.flags |= PYTM_SNAP_HAS_TRACES;
    return 0;
}
