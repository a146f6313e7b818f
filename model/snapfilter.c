/* model/snapfilter: filter_traces in C (rules in snapfilter.h).
 *
 * Two passes: (1) per FRAME filter, one byte per traceback saying
 * whether its frames hit the filter's pattern (the per-traceback part
 * of Filter._match, before `inclusive` and the domain); (2) per trace,
 * combine those bytes with the trace's domain. Python is never called.
 */
#include "snapfilter.h"

#include <stdlib.h>
#include <string.h>

#include "pytm_error.h"
#include "snap.h"

static bool
frame_ok(const struct pytm_snapfilter *f, uint32_t str, uint32_t lineno)
{
    if (!f->name_match[str])
        return false;
    return f->any_lineno || lineno == f->lineno;
}

/* Does any frame (all_frames) or the most recent frame of tb hit f? */
static bool
tb_hit(const struct pytm_snap *s, const struct pytm_snapfilter *f, uint32_t tb)
{
    const struct pytm_snap_tb *t = &s->tbs[tb];
    if (t->nframe == 0)
        return frame_ok(f, s->n_strings, 0); /* ("<unknown>", 0) */
    uint32_t n = f->all_frames ? t->nframe : 1;
    for (uint32_t i = 0; i < n; i++) {
        const struct pytm_snap_frame *fr =
            &s->frames[s->frame_ids[t->frames_at + i]];
        if (frame_ok(f, fr->filename, fr->lineno))
            return true;
    }
    return false;
}

/* Filter._match / DomainFilter._match given the traceback's hit. */
static bool
verdict(const struct pytm_snapfilter *f, bool hit, uint32_t domain)
{
    bool same_domain = !f->never_domain && domain == f->domain;
    if (f->kind == PYTM_SNAPFILTER_DOMAIN)
        return f->inclusive ? same_domain : !same_domain;
    bool res = f->inclusive ? hit : !hit;
    if (f->any_domain)
        return res;
    return f->inclusive ? (res && same_domain) : (res || !same_domain);
}

static bool
filters_ok(const struct pytm_snap *s, const struct pytm_snapfilter *filters,
           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct pytm_snapfilter *f = &filters[i];
        if (f->kind == PYTM_SNAPFILTER_DOMAIN)
            continue;
        if (f->kind != PYTM_SNAPFILTER_FRAME || f->name_match == NULL
            || f->name_match_len != (size_t)s->n_strings + 1)
            return false;
    }
    return true;
}

bool
pytm_snapfilter_match(const struct pytm_snap *s,
                      const struct pytm_snapfilter *f, uint64_t trace)
{
    const struct pytm_snap_trace *t = &s->traces[trace];
    bool hit = f->kind == PYTM_SNAPFILTER_FRAME && tb_hit(s, f, t->tb);
    return verdict(f, hit, t->domain);
}

/* Keep-or-drop for trace t, given hits[i * n_tbs + tb] per filter. */
static bool
keep_trace(const struct pytm_snap_trace *t,
           const struct pytm_snapfilter *filters, size_t n,
           const uint8_t *hits, uint32_t n_tbs, bool have_inclusive)
{
    bool any_inclusive = false;
    for (size_t i = 0; i < n; i++) {
        const struct pytm_snapfilter *f = &filters[i];
        bool hit = f->kind == PYTM_SNAPFILTER_FRAME
                   && hits[i * (size_t)n_tbs + t->tb];
        bool match = verdict(f, hit, t->domain);
        if (f->inclusive)
            any_inclusive |= match;
        else if (!match)
            return false;
    }
    return !have_inclusive || any_inclusive;
}

/* *out = the tables of src without any trace. */
static int
copy_tables(const struct pytm_snap *src, struct pytm_snap *out)
{
    struct pytm_snap shallow = *src;
    shallow.n_traces = 0;
    shallow.traces = NULL;
    int err = pytm_snap_copy(out, &shallow);
    /* Re-aggregated from the kept traces, which cannot be told apart by
     * thread: the per-thread parts are zeroed, but kept for their
     * (arena tb -> merged tb) map (get_object_traceback's index). */
    for (uint64_t i = 0; err == 0 && i < out->n_splits; i++) {
        struct pytm_snap_split *p = &out->splits[i];
        p->size = p->count = p->samples = 0;
        p->alloc_size = p->alloc_count = p->alloc_samples = 0;
    }
    return err;
}

/* *out = tables of src + the traces of src for which keep(i) holds.
 * `kept` is an array of src->n_traces entries (or one) owned by us. */
static int
finish(const struct pytm_snap *src, struct pytm_snap *out,
       struct pytm_snap_trace *kept, uint64_t n_kept)
{
    int err = copy_tables(src, out);
    if (err < 0) {
        free(kept);
        pytm_snap_free(out);
        return err;
    }
    /* give back the unused tail (if shrinking fails, the larger block is
     * still valid) */
    struct pytm_snap_trace *shrunk =
        realloc(kept, (n_kept ? n_kept : 1) * sizeof(*kept));
    out->traces = shrunk ? shrunk : kept;
    out->n_traces = n_kept;
    out->meta.flags |= PYTM_SNAP_HAS_TRACES;
    pytm_snap_aggregate_traces(out);
    return 0;
}

static bool
src_ok(const struct pytm_snap *src)
{
    return src != NULL && (src->meta.flags & PYTM_SNAP_HAS_TRACES)
           && (src->n_traces == 0 || src->traces != NULL);
}

/* One trace array big enough for every trace of src (at least one
 * element, so that NULL always means out of memory). */
static struct pytm_snap_trace *
alloc_traces(const struct pytm_snap *src)
{
    uint64_t cap = src->n_traces ? src->n_traces : 1;
    if (cap > SIZE_MAX / sizeof(struct pytm_snap_trace))
        return NULL;
    return malloc((size_t)cap * sizeof(struct pytm_snap_trace));
}

int
pytm_snapfilter_apply(const struct pytm_snap *src,
                      const struct pytm_snapfilter *filters, size_t n,
                      struct pytm_snap *out)
{
    if (out == NULL)
        return PYTM_E_INVAL;
    pytm_snap_free(out);
    if (!src_ok(src) || (n > 0 && filters == NULL)
        || !filters_ok(src, filters, n))
        return PYTM_E_INVAL;

    uint32_t n_tbs = src->n_tbs;
    uint8_t *hits = calloc(n ? n : 1, n_tbs ? n_tbs : 1);
    struct pytm_snap_trace *kept = alloc_traces(src);
    if (hits == NULL || kept == NULL) {
        free(hits);
        free(kept);
        return PYTM_E_NOMEM;
    }
    bool have_inclusive = false;
    for (size_t i = 0; i < n; i++) {
        have_inclusive |= filters[i].inclusive;
        if (filters[i].kind != PYTM_SNAPFILTER_FRAME)
            continue;
        for (uint32_t tb = 0; tb < n_tbs; tb++)
            hits[i * (size_t)n_tbs + tb] = tb_hit(src, &filters[i], tb);
    }
    uint64_t n_kept = 0;
    for (uint64_t i = 0; i < src->n_traces; i++) {
        const struct pytm_snap_trace *t = &src->traces[i];
        if (keep_trace(t, filters, n, hits, n_tbs, have_inclusive))
            kept[n_kept++] = *t;
    }
    free(hits);
    return finish(src, out, kept, n_kept);
}

int
pytm_snapfilter_select(const struct pytm_snap *src, const uint8_t *keep,
                       size_t n_keep, struct pytm_snap *out)
{
    if (out == NULL)
        return PYTM_E_INVAL;
    pytm_snap_free(out);
    if (!src_ok(src) || n_keep != src->n_traces || (n_keep && keep == NULL))
        return PYTM_E_INVAL;
    struct pytm_snap_trace *kept = alloc_traces(src);
    if (kept == NULL)
        return PYTM_E_NOMEM;
    uint64_t n_kept = 0;
    for (uint64_t i = 0; i < src->n_traces; i++)
        if (keep[i])
            kept[n_kept++] = src->traces[i];
    return finish(src, out, kept, n_kept);
}
