/* recorder/core/tables: trace table and sampled-block filters (see tables.h).
 *
 * Trace table: an index of 2^k 16-byte slots {ptr, at}, linear probing,
 * home slot = Fibonacci hash of (ptr >> 4), pointing into dense arrays
 * recs[] (the records, snapshot layout) and keys[] (their addresses).
 *
 *   index  [ . | p7,2 | . | p3,0 | p9,1 | . | ... ]   (ptr, at)
 *   recs   [ r3 | r9 | r7 ]      keys [ p3 | p9 | p7 ]      count = 3
 *
 * pop(p3): slot of p3 deleted by backward shift (after emptying slot i,
 * every following entry of the same cluster whose home is not in (i, j]
 * moves back into the hole, so no tombstones ever accumulate and a
 * lookup stops at the first empty slot); then the last record (r7, p7)
 * moves to position 0 and p7's slot is repointed: at = 0, count = 2.
 *
 * Why: a snapshot is a memcpy of recs[]; a rehash reads keys[]
 * sequentially (prefetching ahead) into an index faulted in with one
 * madvise; the dense arrays grow in place with mremap. A put of a new
 * address does no dependent random access: the filter byte (its line is
 * shared by neighbouring addresses, so consecutive allocations hit it),
 * an append, and a staged index write whose line was prefetched up to
 * PYTM_TRACES_STAGE puts earlier (tables.h). With ~1M live blocks the
 * old inline 40-byte-record table spent most of an exact-mode allocation
 * waiting for that one index line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mremap */
#endif
#include "tables.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pytm_error.h"

/* pytm_filter_main: GIL. pytm_filter_raw: written under the RAW lock. */
/* Page-aligned so that clearing can hand the pages back (madvise). */
uint8_t pytm_filter_main[1u << PYTM_FILTER_MAIN_BITS]
    __attribute__((aligned(4096)));
_Atomic uint8_t pytm_filter_raw[1u << PYTM_FILTER_RAW_BITS]
    __attribute__((aligned(4096)));

#define FIB64 UINT64_C(0x9E3779B97F4A7C15)
#define MAX_BITS 40u
#define MIN_BITS 4u
#define PREFETCH_AHEAD 16u
#define POPULATE_MIN ((size_t)1 << 20)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

static size_t
page_round(size_t bytes)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (bytes + pg - 1) & ~(pg - 1);
}

void *
pytm_tables_map(size_t bytes)
{
    if (bytes == 0)
        return NULL;
    void *p = mmap(NULL, page_round(bytes), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void
pytm_tables_unmap(void *p, size_t bytes)
{
    if (p != NULL && bytes != 0)
        munmap(p, page_round(bytes));
}

static inline size_t
home(const struct pytm_traces *t, uintptr_t ptr)
{
    return (size_t)(((uint64_t)(ptr >> 4) * FIB64) >> t->shift);
}

#define FILTER_BYTES ((size_t)1 << PYTM_TRACES_FILTER_BITS)

static inline uint8_t *
fcount(const struct pytm_traces *t, uintptr_t ptr)
{
    return &t->filter[(ptr >> 4) & (FILTER_BYTES - 1)];
}

/* False only when ptr is proven absent. Without a filter (a small
 * table) every lookup goes to the index. */
static inline bool
maybe_present(const struct pytm_traces *t, uintptr_t ptr)
{
    return t->filter == NULL || *fcount(t, ptr) != 0;
}

static inline void
filter_inc(struct pytm_traces *t, uintptr_t ptr)
{
    if (t->filter == NULL)
        return;
    uint8_t *c = fcount(t, ptr);
    if (*c != 255)
        (*c)++;
}

static inline void
filter_dec(struct pytm_traces *t, uintptr_t ptr)
{
    if (t->filter == NULL)
        return;
    uint8_t *c = fcount(t, ptr);
    if (*c != 255 && *c != 0)
        (*c)--;
}

/* Maps the filter once the index has 2^PYTM_TRACES_FILTER_FROM slots and
 * counts the live keys (staged ones included) into it. Before that the
 * index is small enough to stay in cache, so the filter saves nothing,
 * while in sampled mode, where recorded blocks lie tens of KiB apart,
 * each of them kept a 4 KiB filter page resident (728 KiB on
 * mixed_stdlib). 0 or PYTM_E_NOMEM (no filter: still correct). */
static int
filter_attach(struct pytm_traces *t)
{
    if (t->filter != NULL ||
        t->mask + 1 < ((size_t)1 << PYTM_TRACES_FILTER_FROM))
        return 0;
    uint8_t *f = pytm_tables_map(FILTER_BYTES);
    if (f == NULL)
        return PYTM_E_NOMEM;
    t->filter = f;
    for (size_t k = 0; k < t->count; k++)
        filter_inc(t, t->keys[k]);
    return 0;
}

/* Entries the dense arrays must hold for an index of cap slots: the
 * hard limit of put (7/8 full). */
static size_t
dense_cap(size_t cap)
{
    return cap / 8 * 7;
}

static int
index_alloc(struct pytm_traces *t, unsigned bits)
{
    if (bits < MIN_BITS)
        bits = MIN_BITS;
    if (bits > MAX_BITS)
        return PYTM_E_NOMEM;
    size_t cap = (size_t)1 << bits;
    struct pytm_trace_slot *s = pytm_tables_map(cap * sizeof(*s));
    if (s == NULL)
        return PYTM_E_NOMEM;
    t->slots = s;
    t->mask = cap - 1;
    t->grow_at = cap / 10 * 7;
    t->shift = 64u - bits;
    return 0;
}

/* Grows (or first maps, when *p is NULL) a dense array from old_n to
 * new_n entries of `size` bytes. 0 or PYTM_E_NOMEM (*p unchanged). */
static int
dense_resize(void **p, size_t size, size_t old_n, size_t new_n)
{
    if (*p == NULL) {
        void *q = pytm_tables_map(new_n * size);
        if (q == NULL)
            return PYTM_E_NOMEM;
        *p = q;
        return 0;
    }
    size_t a = page_round(old_n * size), b = page_round(new_n * size);
    if (a == b)
        return 0;
    void *q = mremap(*p, a, b, MREMAP_MAYMOVE);
    if (q == MAP_FAILED)
        return PYTM_E_NOMEM;
    *p = q;
    return 0;
}

/* Makes recs[] and keys[] hold n entries (n >= rec_cap). */
static int
dense_reserve(struct pytm_traces *t, size_t n)
{
    if (n <= t->rec_cap)
        return 0;
    if (dense_resize((void **)&t->recs, sizeof(*t->recs), t->rec_cap, n) < 0)
        return PYTM_E_NOMEM;
    if (dense_resize((void **)&t->keys, sizeof(*t->keys), t->rec_cap, n) < 0) {
        /* recs[] is bigger than needed: harmless, its tail untouched;
         * rec_cap keeps the smaller size both arrays hold. */
        return PYTM_E_NOMEM;
    }
    t->rec_cap = n;
    return 0;
}

static void
dense_unmap(struct pytm_traces *t)
{
    /* recs[] may be mapped larger than rec_cap (a failed keys[] resize):
     * munmap of the recorded size leaves that tail mapped until exit, a
     * bounded leak of untouched pages on an out-of-memory path. */
    if (t->recs != NULL)
        pytm_tables_unmap(t->recs, t->rec_cap * sizeof(*t->recs));
    if (t->keys != NULL)
        pytm_tables_unmap(t->keys, t->rec_cap * sizeof(*t->keys));
}

int
pytm_traces_init(struct pytm_traces *t, unsigned bits)
{
    memset(t, 0, sizeof(*t));
    if (index_alloc(t, bits) < 0)
        return PYTM_E_NOMEM;
    if (filter_attach(t) < 0 ||
        dense_reserve(t, dense_cap(t->mask + 1)) < 0) {
        pytm_traces_free(t);
        return PYTM_E_NOMEM;
    }
    return 0;
}

void
pytm_traces_free(struct pytm_traces *t)
{
    if (t->slots != NULL)
        pytm_tables_unmap(t->slots, (t->mask + 1) * sizeof(*t->slots));
    dense_unmap(t);
    if (t->filter != NULL)
        pytm_tables_unmap(t->filter, FILTER_BYTES);
    memset(t, 0, sizeof(*t));
}

int
pytm_traces_reset(struct pytm_traces *t, unsigned bits)
{
    if (t->slots != NULL && t->mask + 1 <= ((size_t)1 << bits)) {
        if (t->count != 0) {
            memset(t->slots, 0, (t->mask + 1) * sizeof(*t->slots));
            /* Hand the dense pages back (they read back as zero). */
            madvise(t->recs, page_round(t->count * sizeof(*t->recs)),
                    MADV_DONTNEED);
            madvise(t->keys, page_round(t->count * sizeof(*t->keys)),
                    MADV_DONTNEED);
            if (t->filter != NULL &&
                madvise(t->filter, FILTER_BYTES, MADV_DONTNEED) != 0)
                memset(t->filter, 0, FILTER_BYTES);
        }
        t->count = 0;
        t->n_stage = 0;
        return 0;
    }
    pytm_traces_free(t);
    return pytm_traces_init(t, bits);
}

/* Index slot holding ptr, or NULL. */
static inline struct pytm_trace_slot *
find(const struct pytm_traces *t, uintptr_t ptr)
{
    size_t i = home(t, ptr);
    for (;;) {
        uintptr_t p = t->slots[i].ptr;
        if (p == ptr)
            return &t->slots[i];
        if (p == 0)
            return NULL;
        i = (i + 1) & t->mask;
    }
}

/* The slot (staged or indexed) holding ptr, or NULL. Like find(), it
 * returns a writable slot of a const table: callers that write (put,
 * pop) own the table non-const. */
static inline struct pytm_trace_slot *
find_any(const struct pytm_traces *t, uintptr_t ptr)
{
    for (unsigned j = 0; j < t->n_stage; j++) {
        if (t->stage[j].ptr == ptr)
            return (struct pytm_trace_slot *)&t->stage[j];
    }
    return find(t, ptr);
}

/* Places (ptr, at) into an index known to have room and no such key. */
static void
index_insert(struct pytm_trace_slot *slots, size_t mask, unsigned shift,
             uintptr_t ptr, size_t at)
{
    size_t i = (size_t)(((uint64_t)(ptr >> 4) * FIB64) >> shift);
    while (slots[i].ptr != 0)
        i = (i + 1) & mask;
    slots[i].ptr = ptr;
    slots[i].at = at;
}

/* Writes the staged slots into the index (their keys are absent). */
static void
flush_stage(struct pytm_traces *t)
{
    for (unsigned j = 0; j < t->n_stage; j++)
        index_insert(t->slots, t->mask, t->shift, t->stage[j].ptr,
                     (size_t)t->stage[j].at);
    t->n_stage = 0;
}

/* Rebuilds a twice bigger index from keys[] (staged keys included, so
 * the stage empties). */
static int
grow(struct pytm_traces *t)
{
    unsigned bits = 64u - t->shift + 1u;
    if (bits > MAX_BITS)
        return PYTM_E_NOMEM;
    size_t cap = (size_t)1 << bits;
    if (dense_reserve(t, dense_cap(cap)) < 0)
        return PYTM_E_NOMEM;
    struct pytm_traces bigger = *t;
    if (index_alloc(&bigger, bits) < 0)
        return PYTM_E_NOMEM;
    /* The rehash (at 35% load) writes to every page of a big index:
     * fault them all in with one call rather than a trap per page. Best
     * effort (EINVAL before Linux 5.14, ENOMEM: left to demand paging). */
    size_t bytes = page_round(cap * sizeof(*bigger.slots));
    if (bytes >= POPULATE_MIN)
        (void)madvise(bigger.slots, bytes, MADV_POPULATE_WRITE);
    /* Random writes into a table far bigger than the caches: start
     * loading the slot of the key PREFETCH_AHEAD positions on, so that
     * many misses are in flight at once. */
    for (size_t k = 0; k < t->count; k++) {
        if (k + PREFETCH_AHEAD < t->count)
            pytm_traces_prefetch(&bigger, t->keys[k + PREFETCH_AHEAD]);
        index_insert(bigger.slots, bigger.mask, bigger.shift, t->keys[k], k);
    }
    pytm_tables_unmap(t->slots, (t->mask + 1) * sizeof(*t->slots));
    bigger.n_stage = 0;
    *t = bigger;
    /* A filter that cannot be mapped only costs speed. */
    (void)filter_attach(t);
    return 0;
}

static inline void
load(const struct pytm_traces *t, size_t at, struct pytm_trace_rec *out)
{
    const struct pytm_snap_trace *r = &t->recs[at];
    out->ptr = t->keys[at];
    out->size = r->size;
    out->est_size = r->est_size;
    out->est_count = r->est_count;
    out->tb = r->tb;
    out->domain = r->domain;
}

static inline void
store(struct pytm_traces *t, size_t at, const struct pytm_trace_rec *in)
{
    struct pytm_snap_trace *r = &t->recs[at];
    r->size = in->size;
    r->est_size = in->est_size;
    r->est_count = in->est_count;
    r->tb = in->tb;
    r->domain = in->domain;
    t->keys[at] = in->ptr;
}

int
pytm_traces_put(struct pytm_traces *t, const struct pytm_trace_rec *rec,
                struct pytm_trace_rec *old)
{
    if (t->slots == NULL)
        return PYTM_E_NOMEM;
    if (maybe_present(t, rec->ptr)) {
        struct pytm_trace_slot *s = find_any(t, rec->ptr);
        if (s != NULL) {
            size_t at = (size_t)s->at;
            load(t, at, old);
            store(t, at, rec);
            return 1;
        }
    }
    /* Absent. */
    if (t->count + 1 > t->grow_at && grow(t) < 0) {
        /* Keep working while there is physical room: a full index would
         * make probing loop forever, so stop at 7/8 (what the dense
         * arrays are sized for). */
        if (t->count + 1 > dense_cap(t->mask + 1) ||
            t->count + 1 > t->rec_cap)
            return PYTM_E_NOMEM;
    }
    if (t->n_stage == PYTM_TRACES_STAGE)
        flush_stage(t);
    t->stage[t->n_stage].ptr = rec->ptr;
    t->stage[t->n_stage].at = t->count;
    t->n_stage++;
    pytm_traces_prefetch(t, rec->ptr);
    filter_inc(t, rec->ptr);
    store(t, t->count++, rec);
    return 0;
}

/* Empties index slot i by backward shift. */
static void
index_delete(struct pytm_traces *t, size_t i)
{
    size_t j = i;
    for (;;) {
        j = (j + 1) & t->mask;
        uintptr_t p = t->slots[j].ptr;
        if (p == 0)
            break;
        size_t k = home(t, p);
        /* Entry j may move to i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].ptr = 0;
}

bool
pytm_traces_pop(struct pytm_traces *t, uintptr_t ptr,
                struct pytm_trace_rec *out)
{
    if (t->slots == NULL || ptr == 0 || !maybe_present(t, ptr))
        return false;
    size_t at;
    unsigned j = 0;
    while (j < t->n_stage && t->stage[j].ptr != ptr)
        j++;
    if (j < t->n_stage) {
        at = (size_t)t->stage[j].at;
        t->stage[j] = t->stage[--t->n_stage];
    }
    else {
        struct pytm_trace_slot *s = find(t, ptr);
        if (s == NULL)
            return false;
        at = (size_t)s->at;
        index_delete(t, (size_t)(s - t->slots));
    }
    load(t, at, out);
    filter_dec(t, ptr);
    size_t last = --t->count;
    if (at != last) {
        /* Swap-remove: the last record fills the hole. Its key is live
         * and distinct from ptr, so find_any() cannot miss. */
        t->recs[at] = t->recs[last];
        t->keys[at] = t->keys[last];
        find_any(t, t->keys[at])->at = at;
    }
    return true;
}

bool
pytm_traces_get(const struct pytm_traces *t, uintptr_t ptr,
                struct pytm_trace_rec *out)
{
    if (t->slots == NULL || ptr == 0 || !maybe_present(t, ptr))
        return false;
    const struct pytm_trace_slot *s = find_any(t, ptr);
    if (s == NULL)
        return false;
    load(t, (size_t)s->at, out);
    return true;
}

/* Bytes of the filter backed by memory: it is touched only where
 * recorded addresses fall. All of it when mincore fails. */
static size_t
filter_resident(const struct pytm_traces *t)
{
    enum { PAGE = 4096, NPAGE = FILTER_BYTES / PAGE };
    unsigned char vec[NPAGE];
    if (t->filter == NULL)
        return 0;
    if ((size_t)sysconf(_SC_PAGESIZE) != PAGE ||
        mincore(t->filter, FILTER_BYTES, vec) != 0)
        return FILTER_BYTES;
    size_t n = 0;
    for (size_t i = 0; i < NPAGE; i++)
        n += vec[i] & 1u;
    return n * PAGE;
}

size_t
pytm_traces_memory(const struct pytm_traces *t)
{
    if (t->slots == NULL)
        return 0;
    return page_round((t->mask + 1) * sizeof(*t->slots)) +
           filter_resident(t) + page_round(t->count * sizeof(*t->recs)) +
           page_round(t->count * sizeof(*t->keys));
}

/* Zeroes a page-aligned .bss array: MADV_DONTNEED on private anonymous
 * memory makes the pages read back as zero and frees them; memset is
 * the fallback. */
static void
zero_pages(void *p, size_t bytes)
{
    if (madvise(p, bytes, MADV_DONTNEED) != 0)
        memset(p, 0, bytes);
}

void
pytm_filter_main_clear(void)
{
    zero_pages(pytm_filter_main, sizeof(pytm_filter_main));
}

void
pytm_filter_raw_clear(void)
{
    zero_pages((void *)pytm_filter_raw, sizeof(pytm_filter_raw));
}

double
pytm_filter_main_load(void)
{
    size_t nz = 0;
    for (size_t i = 0; i < (1u << PYTM_FILTER_MAIN_BITS); i++)
        nz += pytm_filter_main[i] != 0;
    return (double)nz / (double)(1u << PYTM_FILTER_MAIN_BITS);
}
