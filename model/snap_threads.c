/* model/snap_threads.c: merging per-thread tracebacks, per-thread
 * totals and the thread filter (see snap_threads.h).
 *
 * The merge hashes each traceback's stack (its frame ids, nframe and
 * total_nframe) into an open-addressing table of merged indices, so it
 * is O(total frames) even when a hostile arena makes every stack equal.
 */
#include "snap_threads.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pytm_error.h"

/* Wrapping adds: hostile figures must not be signed-overflow UB. */
static int64_t
add_i64(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int64_t
sub_i64(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static uint64_t
stack_hash(const struct pytm_snap *s, const struct pytm_snap_tb *t)
{
    uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)t->nframe << 32)
                 ^ t->total_nframe;
    for (uint32_t i = 0; i < t->nframe; i++) {
        h ^= s->frame_ids[t->frames_at + i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 29;
    return h * 0xbf58476d1ce4e5b9ull;
}

static bool
stack_equal(const struct pytm_snap *s, const struct pytm_snap_tb *a,
            const struct pytm_snap_tb *b)
{
    return a->nframe == b->nframe && a->total_nframe == b->total_nframe
           && (a->nframe == 0 || a->frames_at == b->frames_at
               || memcmp(&s->frame_ids[a->frames_at],
                         &s->frame_ids[b->frames_at],
                         (size_t)a->nframe * sizeof *s->frame_ids) == 0);
}

static void
add_aggregates(struct pytm_snap_tb *to, const struct pytm_snap_tb *from)
{
    to->size = add_i64(to->size, from->size);
    to->count = add_i64(to->count, from->count);
    to->samples = add_i64(to->samples, from->samples);
    to->alloc_size += from->alloc_size;
    to->alloc_count += from->alloc_count;
    to->alloc_samples += from->alloc_samples;
}

/* merged[i] = index of tb i's stack in the merged list (first seen
 * order); returns the number of stacks, or -1 when out of memory. */
static int64_t
map_stacks(const struct pytm_snap *s, uint32_t *merged, uint32_t *first)
{
    uint64_t cap = 16;
    while (cap < (uint64_t)s->n_tbs * 2)
        cap *= 2;
    uint32_t *slot = malloc(cap * sizeof *slot); /* merged index + 1 */
    if (!slot)
        return -1;
    memset(slot, 0, cap * sizeof *slot);
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n_tbs; i++) {
        const struct pytm_snap_tb *t = &s->tbs[i];
        uint64_t j = stack_hash(s, t) & (cap - 1);
        for (;; j = (j + 1) & (cap - 1)) {
            if (slot[j] == 0) {
                first[n] = i;
                slot[j] = ++n;
                merged[i] = n - 1;
                break;
            }
            if (stack_equal(s, &s->tbs[first[slot[j] - 1]], t)) {
                merged[i] = slot[j] - 1;
                break;
            }
        }
    }
    free(slot);
    return n;
}

int
pytm_snap_threads_split(struct pytm_snap *s, const uint16_t *thread)
{
    if (!s || s->n_splits != 0 || (s->n_tbs && !thread))
        return PYTM_E_INVAL;
    for (uint32_t i = 0; i < s->n_tbs; i++)
        if (thread[i] > s->n_threads)
            return PYTM_E_CORRUPT;
    if (s->n_tbs == 0)
        return 0;
    uint32_t *merged = malloc((size_t)s->n_tbs * sizeof *merged);
    uint32_t *first = malloc((size_t)s->n_tbs * sizeof *first);
    struct pytm_snap_split *sp = calloc(s->n_tbs, sizeof *sp);
    struct pytm_snap_tb *tbs = NULL;
    int64_t n = -1;
    if (merged && first && sp)
        n = map_stacks(s, merged, first);
    if (n > 0)
        tbs = calloc((size_t)n, sizeof *tbs);
    if (!tbs) {
        free(merged);
        free(first);
        free(sp);
        return PYTM_E_NOMEM;
    }
    for (int64_t m = 0; m < n; m++) {
        const struct pytm_snap_tb *f = &s->tbs[first[m]];
        tbs[m].frames_at = f->frames_at;
        tbs[m].nframe = f->nframe;
        tbs[m].total_nframe = f->total_nframe;
    }
    for (uint32_t i = 0; i < s->n_tbs; i++) {
        const struct pytm_snap_tb *t = &s->tbs[i];
        add_aggregates(&tbs[merged[i]], t);
        sp[i] = (struct pytm_snap_split){
            .tb = merged[i], .thread = thread[i], .size = t->size,
            .count = t->count, .samples = t->samples,
            .alloc_size = t->alloc_size, .alloc_count = t->alloc_count,
            .alloc_samples = t->alloc_samples};
    }
    for (uint64_t i = 0; i < s->n_traces; i++)
        if (s->traces[i].tb < s->n_tbs)
            s->traces[i].tb = merged[s->traces[i].tb];
    free(s->tbs);
    s->tbs = tbs;
    s->splits = sp;
    s->n_splits = s->n_tbs;
    s->n_tbs = (uint32_t)n;
    free(merged);
    free(first);
    return 0;
}

void
pytm_snap_threads_totals(const struct pytm_snap *s,
                         struct pytm_snap_thread_total *out)
{
    for (uint32_t k = 0; k <= s->n_threads; k++)
        out[k] = (struct pytm_snap_thread_total){.thread = k};
    /* what no split accounts for goes to "unknown": all of it without
     * splits, and all of a filtered copy's (its splits are zeroed) */
    for (uint32_t i = 0; i < s->n_tbs; i++) {
        out[0].size = add_i64(out[0].size, s->tbs[i].size);
        out[0].count = add_i64(out[0].count, s->tbs[i].count);
    }
    for (uint64_t i = 0; i < s->n_splits; i++) {
        const struct pytm_snap_split *p = &s->splits[i];
        uint32_t k = p->thread <= s->n_threads ? p->thread : 0;
        out[k].size = add_i64(out[k].size, p->size);
        out[k].count = add_i64(out[k].count, p->count);
        out[0].size = sub_i64(out[0].size, p->size);
        out[0].count = sub_i64(out[0].count, p->count);
    }
}

const char *
pytm_snap_thread_name(const struct pytm_snap *s, uint32_t k)
{
    if (k == 0 || k > s->n_threads)
        return "<unknown>";
    const struct pytm_snap_thread *t = &s->threads[k - 1];
    if (t->py_name != PYTM_SNAP_NO_NAME && t->py_name < s->n_strings)
        return pytm_snap_string(s, t->py_name);
    return t->os_name[0] ? t->os_name : "<unknown>";
}

int
pytm_snap_threads_filter(struct pytm_snap *s, uint32_t k)
{
    uint64_t n_keep = 0;
    for (uint64_t i = 0; i < s->n_splits; i++)
        n_keep += s->splits[i].thread == k;
    struct pytm_snap_split *kept = NULL;
    if (n_keep) {
        kept = malloc(n_keep * sizeof *kept);
        if (!kept)
            return PYTM_E_NOMEM;
    }
    bool keep_all = s->n_splits == 0 && k == 0;
    if (!keep_all)
        for (uint32_t i = 0; i < s->n_tbs; i++) {
            struct pytm_snap_tb *t = &s->tbs[i];
            t->size = t->count = t->samples = 0;
            t->alloc_size = t->alloc_count = t->alloc_samples = 0;
        }
    uint64_t j = 0;
    for (uint64_t i = 0; i < s->n_splits; i++) {
        const struct pytm_snap_split *p = &s->splits[i];
        if (p->thread != k || p->tb >= s->n_tbs)
            continue;
        struct pytm_snap_tb *t = &s->tbs[p->tb];
        struct pytm_snap_tb part = {
            .size = p->size, .count = p->count, .samples = p->samples,
            .alloc_size = p->alloc_size, .alloc_count = p->alloc_count,
            .alloc_samples = p->alloc_samples};
        add_aggregates(t, &part);
        kept[j++] = *p;
    }
    free(s->splits);
    s->splits = kept;
    s->n_splits = j;
    if (!keep_all) {
        free(s->traces);
        s->traces = NULL;
        s->n_traces = 0;
        s->meta.flags &= ~PYTM_SNAP_HAS_TRACES;
    }
    return 0;
}
