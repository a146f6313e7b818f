/* model/snap_merge.c: merging several processes' snapshots (see
 * snap_merge.h). Two passes: sizes first (with overflow checks against
 * the uint32 indices), then one exact malloc per array and a copy that
 * shifts every index by the running offsets of the earlier inputs. */
#include "snap_merge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pytm_error.h"

/* "[<pid>] ": at most 1 + 20 + 2 bytes. */
#define PREFIX_MAX 24

static int
prefix(char *buf, int64_t pid)
{
    return snprintf(buf, PREFIX_MAX, "[%" PRId64 "] ", pid);
}

/* Sizes of the merged arrays, or PYTM_E_NOMEM when they overflow.
 * splits: when any input has per-thread figures, every input gets
 * splits in the merge (an input without them: one split of thread 0
 * per tb, so that the per-thread totals still sum to the whole). */
struct sizes {
    uint64_t strings, pool, frames, frame_ids, tbs, threads, splits;
    bool any_splits;
};

static int
count(const struct pytm_snap_merge_in *in, size_t n, bool split,
      struct sizes *z)
{
    memset(z, 0, sizeof *z);
    for (size_t i = 0; i < n; i++)
        z->any_splits = z->any_splits || in[i].snap->n_splits != 0;
    for (size_t i = 0; i < n; i++) {
        const struct pytm_snap *s = in[i].snap;
        char p[PREFIX_MAX];
        uint64_t plen = split ? (uint64_t)prefix(p, in[i].pid) : 0;
        z->strings += s->n_strings;
        z->pool += s->str_pool_size + plen * s->n_strings;
        z->frames += s->n_frames;
        z->frame_ids += s->n_frame_ids;
        z->tbs += s->n_tbs;
        z->threads += s->n_threads;
        if (z->any_splits)
            z->splits += s->n_splits ? s->n_splits : s->n_tbs;
        if (z->strings >= UINT32_MAX || z->frames >= UINT32_MAX
            || z->frame_ids >= UINT32_MAX || z->tbs >= UINT32_MAX
            || z->threads >= UINT32_MAX || z->splits >= UINT32_MAX
            || z->pool >= (uint64_t)SIZE_MAX / 2)
            return PYTM_E_NOMEM;
    }
    return 0;
}

static void *
alloc_n(uint64_t n, size_t elem)
{
    return malloc(n ? (size_t)n * elem : 1);
}

/* Appends input s's threads and splits (its tbs start at tb0, its
 * strings at s0, its threads at out->n_threads). */
static void
merge_threads(struct pytm_snap *out, const struct pytm_snap *s, uint32_t s0,
              uint32_t tb0, bool any_splits)
{
    uint32_t t0 = out->n_threads;
    for (uint32_t k = 0; k < s->n_threads; k++) {
        struct pytm_snap_thread *t = &out->threads[out->n_threads++];
        *t = s->threads[k];
        if (t->py_name != PYTM_SNAP_NO_NAME)
            t->py_name += s0;
    }
    if (!any_splits)
        return;
    for (uint64_t k = 0; k < s->n_splits; k++) {
        struct pytm_snap_split *p = &out->splits[out->n_splits++];
        *p = s->splits[k];
        p->tb += tb0;
        if (p->thread)
            p->thread += t0;
    }
    for (uint32_t k = 0; s->n_splits == 0 && k < s->n_tbs; k++) {
        const struct pytm_snap_tb *b = &s->tbs[k];
        out->splits[out->n_splits++] = (struct pytm_snap_split){
            .tb = tb0 + k, .thread = 0, .size = b->size, .count = b->count,
            .samples = b->samples, .alloc_size = b->alloc_size,
            .alloc_count = b->alloc_count, .alloc_samples = b->alloc_samples};
    }
}

static void
merge_meta(struct pytm_snap *out, const struct pytm_snap_merge_in *in,
           size_t n)
{
    bool all_exited = n > 0;
    for (size_t i = 0; i < n; i++) {
        const struct pytm_snap *s = in[i].snap;
        struct pytm_snap_totals *t = &out->totals;
        t->traced_current += s->totals.traced_current;
        t->traced_peak += s->totals.traced_peak;
        t->n_allocs += s->totals.n_allocs;
        t->n_samples += s->totals.n_samples;
        t->n_frees += s->totals.n_frees;
        t->n_dropped += s->totals.n_dropped;
        t->live_samples += s->totals.live_samples;
        t->clear_epoch += s->totals.clear_epoch;
        t->threads_unknown += s->totals.threads_unknown;
        t->stacks_folded += s->totals.stacks_folded;
        if (s->totals.sample_interval_now > t->sample_interval_now)
            t->sample_interval_now = s->totals.sample_interval_now;
        if (!(s->meta.flags & PYTM_SNAP_EXITED))
            all_exited = false;
        if (s->meta.sample_interval != in[0].snap->meta.sample_interval)
            out->meta.sample_interval = 0;
    }
    if (all_exited)
        out->meta.flags |= PYTM_SNAP_EXITED;
}

int
pytm_snap_merge(struct pytm_snap *out, const struct pytm_snap_merge_in *in,
                size_t n, bool split)
{
    if (!out || (n && !in))
        return PYTM_E_INVAL;
    pytm_snap_free(out);
    for (size_t i = 0; i < n; i++)
        if (!in[i].snap)
            return PYTM_E_INVAL;
    struct sizes z;
    int rc = count(in, n, split, &z);
    if (rc)
        return rc;
    out->str_pool = alloc_n(z.pool, 1);
    out->str_off = alloc_n(z.strings, sizeof *out->str_off);
    out->str_len = alloc_n(z.strings, sizeof *out->str_len);
    out->frames = alloc_n(z.frames, sizeof *out->frames);
    out->frame_ids = alloc_n(z.frame_ids, sizeof *out->frame_ids);
    out->tbs = alloc_n(z.tbs, sizeof *out->tbs);
    out->threads = z.threads ? alloc_n(z.threads, sizeof *out->threads) : NULL;
    out->splits = z.splits ? alloc_n(z.splits, sizeof *out->splits) : NULL;
    const char *cmd = n ? in[0].snap->meta.cmdline : NULL;
    out->meta.cmdline = strdup(cmd ? cmd : "");
    if (!out->str_pool || !out->str_off || !out->str_len || !out->frames
        || !out->frame_ids || !out->tbs || !out->meta.cmdline
        || (z.threads && !out->threads) || (z.splits && !out->splits)) {
        pytm_snap_free(out);
        return PYTM_E_NOMEM;
    }
    if (n) {
        const struct pytm_snap_meta *m = &in[0].snap->meta;
        out->meta.pid = m->pid;
        out->meta.start_realtime_ns = m->start_realtime_ns;
        out->meta.taken_realtime_ns = m->taken_realtime_ns;
        out->meta.sample_interval = m->sample_interval;
        out->meta.nframe = m->nframe;
    }
    uint64_t pool = 0;
    uint32_t ns = 0, nf = 0, nid = 0, nt = 0;
    for (size_t i = 0; i < n; i++) {
        const struct pytm_snap *s = in[i].snap;
        char p[PREFIX_MAX];
        size_t plen = split ? (size_t)prefix(p, in[i].pid) : 0;
        uint32_t s0 = ns, f0 = nf;
        for (uint32_t k = 0; k < s->n_strings; k++) {
            out->str_off[ns] = pool;
            out->str_len[ns] = (uint32_t)(s->str_len[k] + plen);
            memcpy(out->str_pool + pool, p, plen);
            memcpy(out->str_pool + pool + plen, pytm_snap_string(s, k),
                   (size_t)s->str_len[k] + 1);
            pool += plen + s->str_len[k] + 1;
            ns++;
        }
        for (uint32_t k = 0; k < s->n_frames; k++) {
            out->frames[nf].filename = s->frames[k].filename + s0;
            out->frames[nf].lineno = s->frames[k].lineno;
            nf++;
        }
        uint32_t id0 = nid;
        for (uint32_t k = 0; k < s->n_frame_ids; k++)
            out->frame_ids[nid++] = s->frame_ids[k] + f0;
        merge_threads(out, s, s0, nt, z.any_splits);
        for (uint32_t k = 0; k < s->n_tbs; k++) {
            out->tbs[nt] = s->tbs[k];
            out->tbs[nt].frames_at += id0;
            nt++;
        }
    }
    out->str_pool_size = pool;
    out->n_strings = ns;
    out->n_frames = nf;
    out->n_frame_ids = nid;
    out->n_tbs = nt;
    merge_meta(out, in, n);
    return 0;
}

bool
pytm_snap_merge_split_pid(const char *name, int64_t *pid, const char **rest)
{
    *pid = 0;
    *rest = name;
    if (!name || name[0] != '[')
        return false;
    int64_t v = 0;
    const char *q = name + 1;
    while (*q >= '0' && *q <= '9' && v < INT64_MAX / 10)
        v = v * 10 + (*q++ - '0');
    if (q == name + 1 || q[0] != ']' || q[1] != ' ')
        return false;
    *pid = v;
    *rest = q + 2;
    return true;
}
