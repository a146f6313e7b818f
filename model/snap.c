/* model/snap.c: snapshot lifecycle, validation, deep copy, re-aggregation.
 * The builders (pytm_snap_add_*) are in snap_build.c.
 *
 * pytm_snap_validate is the gate every producer passes a snapshot
 * through; it must be O(size) even on hostile input, so it checks every
 * frame_ids[] entry once (< n_frames) and every traceback's range once
 * (inside frame_ids), rather than walking each range: overlapping ranges
 * in a crafted dump cannot make it quadratic. This is slightly stricter
 * than snap.h (an id outside every range must also be valid); every
 * producer writes only ids it has checked, so no valid input is lost.
 */
#include "snap.h"

#include <stdlib.h>
#include <string.h>

#include "pytm_error.h"

void
pytm_snap_init(struct pytm_snap *s)
{
    memset(s, 0, sizeof *s);
}

void
pytm_snap_free(struct pytm_snap *s)
{
    if (!s)
        return;
    free(s->meta.cmdline);
    free(s->str_pool);
    free(s->str_off);
    free(s->str_len);
    free(s->frames);
    free(s->frame_ids);
    free(s->tbs);
    free(s->traces);
    free(s->threads);
    free(s->splits);
    pytm_snap_init(s);
}

static int
validate_strings(const struct pytm_snap *s)
{
    if (s->str_pool_size && !s->str_pool)
        return PYTM_E_CORRUPT;
    if (s->n_strings && (!s->str_off || !s->str_len))
        return PYTM_E_CORRUPT;
    for (uint32_t i = 0; i < s->n_strings; i++) {
        uint64_t off = s->str_off[i];
        uint64_t len = s->str_len[i];
        /* off + len < pool size, without overflow: room for the NUL */
        if (off >= s->str_pool_size || len >= s->str_pool_size - off)
            return PYTM_E_CORRUPT;
        if (s->str_pool[off + len] != '\0')
            return PYTM_E_CORRUPT;
    }
    return 0;
}

static int
validate_frames(const struct pytm_snap *s)
{
    if (s->n_frames && !s->frames)
        return PYTM_E_CORRUPT;
    for (uint32_t i = 0; i < s->n_frames; i++)
        if (s->frames[i].filename >= s->n_strings)
            return PYTM_E_CORRUPT;
    if (s->n_frame_ids && !s->frame_ids)
        return PYTM_E_CORRUPT;
    for (uint32_t i = 0; i < s->n_frame_ids; i++)
        if (s->frame_ids[i] >= s->n_frames)
            return PYTM_E_CORRUPT;
    return 0;
}

static int
validate_tbs(const struct pytm_snap *s)
{
    if (s->n_tbs && !s->tbs)
        return PYTM_E_CORRUPT;
    for (uint32_t i = 0; i < s->n_tbs; i++) {
        uint64_t end = (uint64_t)s->tbs[i].frames_at + s->tbs[i].nframe;
        if (end > s->n_frame_ids)
            return PYTM_E_CORRUPT;
    }
    return 0;
}

static int
validate_traces(const struct pytm_snap *s)
{
    if (s->n_traces == 0)
        return 0;
    if (!s->traces || !(s->meta.flags & PYTM_SNAP_HAS_TRACES))
        return PYTM_E_CORRUPT;
    for (uint64_t i = 0; i < s->n_traces; i++)
        if (s->traces[i].tb >= s->n_tbs)
            return PYTM_E_CORRUPT;
    return 0;
}

static int
validate_threads(const struct pytm_snap *s)
{
    if ((s->n_threads && !s->threads) || (s->n_splits && !s->splits))
        return PYTM_E_CORRUPT;
    for (uint32_t i = 0; i < s->n_threads; i++) {
        if (s->threads[i].py_name != PYTM_SNAP_NO_NAME
            && s->threads[i].py_name >= s->n_strings)
            return PYTM_E_CORRUPT;
        if (memchr(s->threads[i].os_name, '\0', sizeof s->threads[i].os_name)
            == NULL)
            return PYTM_E_CORRUPT;
    }
    for (uint64_t i = 0; i < s->n_splits; i++)
        if (s->splits[i].tb >= s->n_tbs || s->splits[i].thread > s->n_threads)
            return PYTM_E_CORRUPT;
    return 0;
}

int
pytm_snap_validate(const struct pytm_snap *s)
{
    if (!s)
        return PYTM_E_INVAL;
    int rc = validate_strings(s);
    if (rc == 0)
        rc = validate_frames(s);
    if (rc == 0)
        rc = validate_tbs(s);
    if (rc == 0)
        rc = validate_traces(s);
    if (rc == 0)
        rc = validate_threads(s);
    return rc;
}

/* malloc + memcpy of n elements; NULL result only when n == 0 or out of
 * memory (then *ok is cleared). */
static void *
dup_array(const void *src, uint64_t n, size_t elem, bool *ok)
{
    if (n == 0 || !src)
        return NULL;
    if (n > SIZE_MAX / elem) {
        *ok = false;
        return NULL;
    }
    void *p = malloc((size_t)n * elem);
    if (!p) {
        *ok = false;
        return NULL;
    }
    memcpy(p, src, (size_t)n * elem);
    return p;
}

int
pytm_snap_copy(struct pytm_snap *dst, const struct pytm_snap *src)
{
    struct pytm_snap d;
    bool ok = true;
    if (!dst || !src)
        return PYTM_E_INVAL;
    d = *src; /* scalars; every pointer is replaced below */
    d.meta.cmdline = src->meta.cmdline ? strdup(src->meta.cmdline) : NULL;
    if (src->meta.cmdline && !d.meta.cmdline)
        ok = false;
    d.str_pool = dup_array(src->str_pool, src->str_pool_size, 1, &ok);
    d.str_off = dup_array(src->str_off, src->n_strings, sizeof *d.str_off, &ok);
    d.str_len = dup_array(src->str_len, src->n_strings, sizeof *d.str_len, &ok);
    d.frames = dup_array(src->frames, src->n_frames, sizeof *d.frames, &ok);
    d.frame_ids = dup_array(src->frame_ids, src->n_frame_ids,
                            sizeof *d.frame_ids, &ok);
    d.tbs = dup_array(src->tbs, src->n_tbs, sizeof *d.tbs, &ok);
    d.traces = dup_array(src->traces, src->n_traces, sizeof *d.traces, &ok);
    d.threads = dup_array(src->threads, src->n_threads, sizeof *d.threads, &ok);
    d.splits = dup_array(src->splits, src->n_splits, sizeof *d.splits, &ok);
    if (!ok) {
        pytm_snap_free(&d);
        pytm_snap_init(dst);
        return PYTM_E_NOMEM;
    }
    *dst = d;
    return 0;
}

void
pytm_snap_aggregate_traces(struct pytm_snap *s)
{
    for (uint32_t i = 0; i < s->n_tbs; i++) {
        s->tbs[i].size = 0;
        s->tbs[i].count = 0;
        s->tbs[i].samples = 0;
    }
    for (uint64_t i = 0; i < s->n_traces; i++) {
        const struct pytm_snap_trace *t = &s->traces[i];
        if (t->tb >= s->n_tbs)
            continue; /* unvalidated input: skip rather than overrun */
        s->tbs[t->tb].size += t->est_size;
        s->tbs[t->tb].count += t->est_count;
        s->tbs[t->tb].samples += 1;
    }
}
