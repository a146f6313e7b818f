/* shm/reader_snap.c: copying a live arena into a struct pytm_snap.
 *
 * Order of work, each step on private copies only:
 *   1. re-fstat: the object must still hold arena_size bytes;
 *   2. load_published(): acquire-load the table counters in the reverse
 *      order of dependency, tracebacks -> thread_ids (then each
 *      identity's py_name, read_thread_ids) -> frame_ids -> frames ->
 *      strings.
 *      Each pairs with the release store of the same counter in
 *      arena_intern.c; because a traceback is published after its frames
 *      and a frame after its filename, a counter loaded later is at least
 *      as new as what the earlier one depends on: every id we copy names
 *      an entry we also copy;
 *   3. each counter must be <= its section's capacity, and the file
 *      must hold data, not a hole, from the section's start up to the
 *      end of what the counter publishes (SEEK_HOLE; else CORRUPT);
 *   4. memcpy the immutable part of each table, then walk and check the
 *      private copy (the writer may scribble on the shared one meanwhile;
 *      a hostile writer then produces garbage that fails the checks,
 *      never an out-of-bounds access);
 *   5. aggregates and counters: relaxed atomic loads, field by field;
 *   6. per-thread tracebacks (tb.thread) merged back into one per stack,
 *      their parts kept as splits (model/snap_threads.h);
 *   7. pytm_snap_validate().
 * The string pool is copied as is: the snapshot's string i starts at the
 * record's bytes (record offset + 4), and the record's NUL closes it.
 */
#define _GNU_SOURCE /* SEEK_HOLE */
#include "reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pytm_clock.h"
#include "pytm_error.h"
#include "reader_internal.h"
#include "snap_threads.h"

struct published {
    uint64_t tbs, thread_ids, frame_ids, frames, strings;
    struct pytm_snap_thread *threads; /* malloc'd, thread_ids entries */
};

/* Copies the thread identities below `used`, acquire-loading each
 * py_name (paired with the release in arena_intern.c
 * pytm_arena_thread_set_name) before strings_used is loaded, so a name
 * set is a string we copy. py_name stays a string id (record offset)
 * here; translated once strings are read. */
static int
read_thread_ids(const struct pytm_reader *r, struct published *p)
{
    if (p->thread_ids == 0)
        return 0;
    p->threads = calloc(p->thread_ids, sizeof *p->threads);
    if (!p->threads)
        return PYTM_E_NOMEM;
    const struct pytm_arena_thread_id *src =
        (const struct pytm_arena_thread_id *)(r->map
                                              + r->id.thread_ids.offset);
    for (uint64_t i = 0; i < p->thread_ids; i++) {
        struct pytm_snap_thread *t = &p->threads[i];
        t->tid = src[i].tid;
        t->ident = src[i].ident;
        memcpy(t->os_name, src[i].os_name, sizeof t->os_name);
        t->os_name[sizeof t->os_name - 1] = '\0';
        t->py_name = atomic_load_explicit(&src[i].py_name,
                                          memory_order_acquire);
    }
    return 0;
}

/* 0 when the file holds data over [offset, offset + bytes): the first
 * hole at or after offset lies at or beyond the end of the published
 * bytes. The writer allocates and writes every byte below a count
 * before it publishes the count (shm/arena_backing.h), so a hole there
 * is a broken or hostile file: PYTM_E_CORRUPT, before we read it. On
 * tmpfs even a read fault on a hole allocates a page, and raises
 * SIGBUS in the reader when tmpfs is full. A file system without
 * SEEK_HOLE (EINVAL) is not checked; ENXIO (offset past the end) means
 * the file shrank. */
static int
check_no_hole(const struct pytm_reader *r, uint64_t offset, uint64_t bytes)
{
    if (bytes == 0)
        return 0;
    off_t hole = lseek(r->fd, (off_t)offset, SEEK_HOLE);
    if (hole < 0)
        return errno == EINVAL ? 0
               : errno == ENXIO ? PYTM_E_TRUNCATED
                                : PYTM_E_IO;
    return (uint64_t)hole < offset + bytes ? PYTM_E_CORRUPT : 0;
}

static int
load_published(const struct pytm_reader *r, struct published *p)
{
    const struct pytm_arena_published *lp =
        &pytm_reader_live_header_(r)->published;
    /* Acquire, in this order: see step 2 above. Each pairs with the
     * release store of the same field in arena_intern.c. */
    p->tbs = atomic_load_explicit(&lp->tracebacks_used, memory_order_acquire);
    p->thread_ids = atomic_load_explicit(&lp->thread_ids_used,
                                         memory_order_acquire);
    if (p->thread_ids > r->id.thread_ids.capacity)
        return PYTM_E_CORRUPT; /* capacity 0 without FLAG_THREADS */
    int rc = check_no_hole(r, r->id.thread_ids.offset,
                           p->thread_ids
                               * sizeof(struct pytm_arena_thread_id));
    if (rc == 0)
        rc = read_thread_ids(r, p);
    if (rc != 0)
        return rc;
    p->frame_ids = atomic_load_explicit(&lp->frame_ids_used,
                                        memory_order_acquire);
    p->frames = atomic_load_explicit(&lp->frames_used, memory_order_acquire);
    p->strings = atomic_load_explicit(&lp->strings_used, memory_order_acquire);
    const struct pytm_arena_header *id = &r->id;
    if (p->tbs > id->tracebacks.capacity
        || p->frame_ids > id->frame_ids.capacity
        || p->frames > id->frames.capacity
        || p->strings > id->strings.capacity || p->strings % 4 != 0)
        return PYTM_E_CORRUPT;
    /* No hole below a count (step 3); the counts are within capacity,
     * so no product overflows. */
    if ((rc = check_no_hole(r, id->tracebacks.offset,
                            p->tbs * sizeof(struct pytm_arena_tb)))
            != 0
        || (rc = check_no_hole(r, id->frame_ids.offset,
                               p->frame_ids * sizeof(uint32_t)))
               != 0
        || (rc = check_no_hole(r, id->frames.offset,
                               p->frames * sizeof(struct pytm_arena_frame)))
               != 0)
        return rc;
    return check_no_hole(r, id->strings.offset, p->strings);
}

static void *
copy_out(const struct pytm_reader *r, uint64_t offset, uint64_t bytes)
{
    if (bytes == 0)
        return NULL;
    void *p = malloc(bytes);
    if (p)
        memcpy(p, r->map + offset, bytes);
    return p;
}

/* Walks the pool copy record by record; fills str_off/str_len. */
static int
read_strings(const struct pytm_reader *r, uint64_t used, struct pytm_snap *s)
{
    if (used == 0)
        return 0;
    s->str_pool = copy_out(r, r->id.strings.offset, used);
    if (!s->str_pool)
        return PYTM_E_NOMEM;
    s->str_pool_size = used;
    uint64_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t off = 0, i = 0;
        while (off < used) {
            uint32_t len;
            if (used - off < 4)
                return PYTM_E_CORRUPT;
            memcpy(&len, s->str_pool + off, sizeof len);
            uint64_t rs = PYTM_ARENA_STRING_RECORD_SIZE(len);
            if (rs > used - off || s->str_pool[off + 4 + len] != '\0')
                return PYTM_E_CORRUPT;
            if (pass == 1) {
                s->str_off[i] = off + 4;
                s->str_len[i] = len;
            }
            i++;
            off += rs;
        }
        if (pass == 0) {
            n = i;
            if (n > UINT32_MAX)
                return PYTM_E_CORRUPT;
            s->str_off = malloc(n * sizeof *s->str_off);
            s->str_len = malloc(n * sizeof *s->str_len);
            if (!s->str_off || !s->str_len)
                return PYTM_E_NOMEM;
        }
    }
    s->n_strings = (uint32_t)n;
    return 0;
}

/* Index of the string whose record starts at byte `sid`, or -1. */
static int64_t
string_index(const struct pytm_snap *s, uint32_t sid)
{
    uint64_t want = (uint64_t)sid + 4;
    uint64_t lo = 0, hi = s->n_strings;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (s->str_off[mid] < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_strings && s->str_off[lo] == want ? (int64_t)lo : -1;
}

static int
read_frames(const struct pytm_reader *r, uint64_t used, struct pytm_snap *s)
{
    if (used == 0)
        return 0;
    /* struct pytm_arena_frame and struct pytm_snap_frame are both
     * {u32 filename; u32 lineno}: copy, then translate in place. */
    static_assert(sizeof(struct pytm_arena_frame)
                      == sizeof(struct pytm_snap_frame), "frame copy");
    s->frames = copy_out(r, r->id.frames.offset,
                         used * sizeof(struct pytm_snap_frame));
    if (!s->frames)
        return PYTM_E_NOMEM;
    s->n_frames = (uint32_t)used;
    for (uint64_t i = 0; i < used; i++) {
        int64_t idx = string_index(s, s->frames[i].filename);
        if (idx < 0)
            return PYTM_E_CORRUPT; /* not a record start below strings_used */
        s->frames[i].filename = (uint32_t)idx;
    }
    return 0;
}

static int
read_frame_ids(const struct pytm_reader *r, uint64_t used, struct pytm_snap *s)
{
    if (used == 0)
        return 0;
    s->frame_ids = copy_out(r, r->id.frame_ids.offset, used * sizeof(uint32_t));
    if (!s->frame_ids)
        return PYTM_E_NOMEM;
    s->n_frame_ids = (uint32_t)used;
    for (uint64_t i = 0; i < used; i++)
        if (s->frame_ids[i] >= s->n_frames)
            return PYTM_E_CORRUPT;
    return 0;
}

/* Moves the identities into s, py_name translated to a string index
 * (an id that is no record start below strings_used: CORRUPT). */
static int
take_threads(struct published *p, struct pytm_snap *s)
{
    for (uint64_t i = 0; i < p->thread_ids; i++) {
        uint32_t *n = &p->threads[i].py_name;
        if (*n == PYTM_ARENA_NO_NAME)
            continue;
        int64_t idx = string_index(s, *n);
        if (idx < 0)
            return PYTM_E_CORRUPT;
        *n = (uint32_t)idx;
    }
    s->threads = p->threads;
    s->n_threads = (uint32_t)p->thread_ids;
    p->threads = NULL;
    return 0;
}

static int
read_tbs(const struct pytm_reader *r, uint64_t used, struct pytm_snap *s,
         uint16_t **thread)
{
    if (used == 0)
        return 0;
    s->tbs = calloc(used, sizeof *s->tbs);
    *thread = malloc(used * sizeof **thread);
    if (!s->tbs || !*thread)
        return PYTM_E_NOMEM;
    s->n_tbs = (uint32_t)used;
    const struct pytm_arena_tb *src =
        (const struct pytm_arena_tb *)(r->map + r->id.tracebacks.offset);
    const memory_order rx = memory_order_relaxed;
    for (uint64_t i = 0; i < used; i++) {
        const struct pytm_arena_tb *a = &src[i];
        struct pytm_snap_tb *t = &s->tbs[i];
        t->frames_at = a->frames_at;
        t->nframe = a->nframe;
        t->total_nframe = a->total_nframe;
        /* relaxed: may go from k to 0 once (folded); either is valid.
         * Checked by pytm_snap_threads_split. */
        (*thread)[i] = atomic_load_explicit(&a->thread, rx);
        if ((uint64_t)t->frames_at + t->nframe > s->n_frame_ids)
            return PYTM_E_CORRUPT;
        t->size = atomic_load_explicit(&a->size, rx);
        t->count = atomic_load_explicit(&a->count, rx);
        t->samples = atomic_load_explicit(&a->samples, rx);
        t->alloc_size = atomic_load_explicit(&a->alloc_size, rx);
        t->alloc_count = atomic_load_explicit(&a->alloc_count, rx);
        t->alloc_samples = atomic_load_explicit(&a->alloc_samples, rx);
    }
    return 0;
}

static void
read_totals(const struct pytm_reader *r, struct pytm_snap_totals *t)
{
    const struct pytm_arena_counters *c =
        &pytm_reader_live_header_(r)->counters;
    const memory_order rx = memory_order_relaxed;
    t->traced_current = atomic_load_explicit(&c->traced_current, rx);
    t->traced_peak = atomic_load_explicit(&c->traced_peak, rx);
    /* The writer stores current, then raises peak: a read between the
     * two sees current > peak. The true peak is never below current, so
     * report that bound rather than a torn pair (tests/python/test_load). */
    if (t->traced_peak < t->traced_current)
        t->traced_peak = t->traced_current;
    t->n_allocs = atomic_load_explicit(&c->n_allocs, rx);
    t->n_samples = atomic_load_explicit(&c->n_samples, rx);
    t->n_frees = atomic_load_explicit(&c->n_frees, rx);
    t->n_dropped = atomic_load_explicit(&c->n_dropped, rx);
    t->live_samples = atomic_load_explicit(&c->live_samples, rx);
    t->clear_epoch = atomic_load_explicit(&c->clear_epoch, rx);
    t->sample_interval_now =
        atomic_load_explicit(&c->sample_interval_now, rx);
    t->threads_unknown = atomic_load_explicit(&c->threads_unknown, rx);
    t->stacks_folded = atomic_load_explicit(&c->stacks_folded, rx);
}

static int
read_meta(struct pytm_reader *r, struct pytm_snap_meta *m)
{
    m->pid = r->id.pid;
    m->start_realtime_ns = r->id.start_realtime_ns;
    m->taken_realtime_ns = pytm_clock_ns(CLOCK_REALTIME);
    m->sample_interval = r->id.sample_interval;
    m->nframe = r->id.nframe;
    m->flags = pytm_reader_liveness(r) == PYTM_LIVE_EXITED ? PYTM_SNAP_EXITED
                                                            : 0;
    m->cmdline = strdup(r->id.cmdline); /* NUL checked at attach */
    return m->cmdline ? 0 : PYTM_E_NOMEM;
}

int
pytm_reader_snap(struct pytm_reader *r, struct pytm_snap *out)
{
    if (!r || !out)
        return PYTM_E_INVAL;
    pytm_snap_free(out);
    int rc = pytm_reader_check_size_(r);
    if (rc != 0)
        return rc;
    struct published p = {0};
    uint16_t *thread = NULL;
    struct pytm_snap s;
    pytm_snap_init(&s);
    rc = load_published(r, &p);
    if (rc == 0)
        rc = read_strings(r, p.strings, &s);
    if (rc == 0)
        rc = read_frames(r, p.frames, &s);
    if (rc == 0)
        rc = read_frame_ids(r, p.frame_ids, &s);
    if (rc == 0)
        rc = take_threads(&p, &s);
    if (rc == 0)
        rc = read_tbs(r, p.tbs, &s, &thread);
    /* The counters right after the aggregates, before the merge (which
     * takes milliseconds on many tbs): a live writer's records between
     * the two reads are what makes them disagree (step 5). */
    if (rc == 0)
        read_totals(r, &s.totals);
    if (rc == 0)
        rc = pytm_snap_threads_split(&s, thread);
    free(thread);
    free(p.threads);
    if (rc == 0)
        rc = read_meta(r, &s.meta);
    if (rc == 0)
        rc = pytm_snap_validate(&s);
    if (rc != 0) {
        pytm_snap_free(&s);
        return rc;
    }
    *out = s;
    return 0;
}
