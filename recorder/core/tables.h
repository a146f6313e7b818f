/* recorder/core/tables: the recorder's private hash tables.
 *
 * Plain C (no Python.h). All memory comes straight from mmap, never from
 * Python's allocators (we are called from inside them) nor from malloc
 * (a RAW hook may sit on top of malloc). Every table is open addressing
 * with inline entries and linear probing, grows by rehashing into a table
 * twice the size when it is 70% full, and reports PYTM_E_NOMEM when it
 * cannot grow; the recorder then drops the record and counts it.
 *
 * - struct pytm_traces: block address -> trace record (size, weights,
 *   traceback id, domain), records kept dense behind a 16-byte-slot
 *   index (details below). Deletion is backward-shift (no tombstones),
 *   so heavy alloc/free churn never degrades probing.
 * - struct pytm_fcache: (code object, instruction offset) -> arena frame
 *   id. Insert-only until cleared. The keys are borrowed: the caller
 *   holds a strong reference to each code object while it is cached.
 * - struct pytm_tbcache: (raw traceback (nframe x (code, lasti), plus the
 *   total stack depth), thread identity) -> that thread's arena
 *   traceback id. Insert-only until cleared; keys of more than one frame
 *   live in a side pool.
 * - the sampled-block filters (pytm_filter_*): byte counters indexed by
 *   address, see below.
 *
 * Thread-safety: none inside; each table has exactly one protecting lock
 * chosen by its owner (recorder/core/hooks.c documents which).
 */
#ifndef PYTM_RECORDER_TABLES_H
#define PYTM_RECORDER_TABLES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snap.h"

/* Zero-filled private anonymous mapping of `bytes` (rounded up to a
 * page), or NULL. Shared by the tables; not for the hot path. */
void *pytm_tables_map(size_t bytes);
void pytm_tables_unmap(void *p, size_t bytes);

/* ---- trace table ------------------------------------------------------ */

/* One recorded block, as handed in and out of the table. */
struct pytm_trace_rec {
    uintptr_t ptr;     /* block address (key, != 0) */
    uint64_t size;     /* the block's true size */
    int64_t est_size;  /* bytes it stands for (== size when exact) */
    int64_t est_count; /* blocks it stands for (== 1 when exact) */
    uint32_t tb;       /* arena traceback id */
    uint32_t domain;   /* tracemalloc domain (0: Python allocators) */
};

/* Index slot: 16 bytes, four per cache line. ptr == 0: empty. */
struct pytm_trace_slot {
    uintptr_t ptr;
    uint64_t at; /* position of the record in recs[] / keys[] */
};

/* Live records are kept dense: recs[0 .. count) in exactly the layout a
 * snapshot stores (struct pytm_snap_trace), keys[0 .. count) their block
 * addresses, and an open-addressing index (linear probing, backward-
 * shift deletion, no tombstones) maps an address to its position. A pop
 * moves the last record into the hole (swap-remove) and repoints its
 * index slot, so a snapshot is one memcpy of recs[] and growth rehashes
 * from keys[] (sequential) instead of scanning the index. The dense
 * arrays are sized for the index's hard limit (7/8 of its slots) with
 * MAP_NORESERVE, so their untouched tail costs no memory, and grow with
 * mremap (no copy, no refault).
 *
 * Staging: a new address's index slot is a cache miss (the index is far
 * bigger than the caches and the hash scatters on purpose). So a put of
 * an address that filter[] proves absent only appends the record and
 * stages (ptr, at) in stage[], prefetching its index slot; the staged
 * slots are written when stage[] is full, by which time their lines
 * have arrived. filter[] counts live entries per 16-byte address granule
 * modulo its size (saturating at 255, then sticky), so consecutive
 * allocations touch the same filter lines; a zero proves absence (and
 * also answers most frees of unrecorded blocks at once). Every lookup
 * checks stage[] before the index. The filter is 16 MiB of reserved
 * address space per table (MAP_NORESERVE); pages are touched only where
 * recorded addresses fall, one byte per 16 bytes of traced address span
 * modulo 256 MiB. It exists only once the index has reached
 * 2^PYTM_TRACES_FILTER_FROM slots (filter == NULL before: every lookup
 * probes the index, which is then small enough to stay in cache), so a
 * sampled-mode table, whose few records are scattered one per filter
 * page, costs no filter pages. */
#define PYTM_TRACES_STAGE 16u
#define PYTM_TRACES_FILTER_BITS 24u
#define PYTM_TRACES_FILTER_FROM 16u

struct pytm_traces {
    struct pytm_trace_slot *slots; /* NULL until init */
    size_t mask;                   /* index capacity - 1 (a power of 2) */
    size_t count;                  /* live entries (staged included) */
    size_t grow_at;                /* count that triggers a rehash */
    unsigned shift;                /* 64 - log2(index capacity) */
    unsigned n_stage;              /* entries in stage[] */
    struct pytm_snap_trace *recs;  /* dense records */
    uintptr_t *keys;               /* dense addresses, keys[i] <-> recs[i] */
    size_t rec_cap;                /* entries mapped in recs[] and keys[] */
    uint8_t *filter; /* 2^PYTM_TRACES_FILTER_BITS counters, or NULL */
    struct pytm_trace_slot stage[PYTM_TRACES_STAGE]; /* not yet indexed */
};

/* Maps an initial index of 2^bits slots (bits in [4, 40]).
 * Returns 0 or PYTM_E_NOMEM (then *t is empty and unusable). */
int pytm_traces_init(struct pytm_traces *t, unsigned bits);

/* Unmaps everything; *t becomes empty (lookups miss, puts fail). */
void pytm_traces_free(struct pytm_traces *t);

/* Drops every entry. Shrinks back to 2^bits slots when larger (a fresh
 * mapping), else zeroes in place and hands the dense pages back.
 * 0 or PYTM_E_NOMEM (then *t is freed). */
int pytm_traces_reset(struct pytm_traces *t, unsigned bits);

/* Inserts rec (rec->ptr != 0). Returns 0 when inserted, 1 when an entry
 * for the same address existed: it is replaced and its old value stored
 * in *old. PYTM_E_NOMEM when the table is full and cannot grow (nothing
 * changed). Invalidates positions in recs[] only by appending. */
int pytm_traces_put(struct pytm_traces *t, const struct pytm_trace_rec *rec,
                    struct pytm_trace_rec *old);

/* Removes the entry for ptr into *out and returns true, or false (no
 * change) when there is none. The last record moves into its place. */
bool pytm_traces_pop(struct pytm_traces *t, uintptr_t ptr,
                     struct pytm_trace_rec *out);

/* True and *out filled when ptr is recorded; false (no change) else. */
bool pytm_traces_get(const struct pytm_traces *t, uintptr_t ptr,
                     struct pytm_trace_rec *out);

/* Bytes of memory the table holds: the index, the live part of the
 * dense arrays and the resident pages of the filter (mincore), at page
 * granularity. O(filter pages): not for the hot path. */
size_t pytm_traces_memory(const struct pytm_traces *t);

/* Index capacity in slots (0 before init). */
static inline size_t
pytm_traces_capacity(const struct pytm_traces *t)
{
    return t->slots ? t->mask + 1 : 0;
}

/* The live records, recs[0 .. t->count), in no particular order; valid
 * until the next put/pop/reset. */
static inline const struct pytm_snap_trace *
pytm_traces_records(const struct pytm_traces *t)
{
    return t->recs;
}

/* Starts loading the index slot where ptr's lookup begins, so that a
 * put/pop/get issued a little later finds it in cache. Never faults
 * (a prefetch of any address is harmless); no-op before init. */
static inline void
pytm_traces_prefetch(const struct pytm_traces *t, uintptr_t ptr)
{
    if (t->slots != NULL)
        __builtin_prefetch(&t->slots[((uint64_t)(ptr >> 4) *
                                      UINT64_C(0x9E3779B97F4A7C15)) >>
                                     t->shift],
                           1);
}

/* ---- frame cache ------------------------------------------------------ */

struct pytm_fcache_ent {
    const void *code; /* borrowed code object; NULL = empty slot */
    int32_t lasti;    /* instruction index in the code */
    uint32_t frame;   /* arena frame id */
};

struct pytm_fcache {
    struct pytm_fcache_ent *slots;
    size_t mask, count, grow_at;
    unsigned shift;
};

int pytm_fcache_init(struct pytm_fcache *c, unsigned bits);
void pytm_fcache_free(struct pytm_fcache *c);

/* True and *frame set when (code, lasti) is cached. */
bool pytm_fcache_get(const struct pytm_fcache *c, const void *code,
                     int32_t lasti, uint32_t *frame);

/* Adds a key known to be absent (code != NULL). 0 or PYTM_E_NOMEM. */
int pytm_fcache_put(struct pytm_fcache *c, const void *code, int32_t lasti,
                    uint32_t frame);

/* Calls release(code, arg) once per cached entry, then empties the
 * cache (keeping its capacity). release may be NULL. */
void pytm_fcache_clear(struct pytm_fcache *c,
                       void (*release)(const void *code, void *arg),
                       void *arg);

size_t pytm_fcache_memory(const struct pytm_fcache *c);

/* ---- raw traceback cache ---------------------------------------------- */

/* One frame as captured, before any line-number work. pad must be 0
 * (keys are compared with memcmp). */
struct pytm_rawframe {
    const void *code;
    int32_t lasti;
    uint32_t pad;
};

struct pytm_tbcache_ent {
    uint64_t hash;
    const void *code0; /* first frame inline (fast reject and nframe 1) */
    int32_t lasti0;
    uint32_t nframe;   /* 0 = empty slot (keys always have >= 1 frame) */
    uint32_t total_nframe;
    uint32_t tb;       /* arena traceback id */
    uint32_t thread;   /* identity (tb.thread value) the key was asked for */
    uint32_t pool_at;  /* nframe > 1: index of frames[0] in the pool */
};

struct pytm_tbcache {
    struct pytm_tbcache_ent *slots;
    size_t mask, count, grow_at;
    unsigned shift;
    struct pytm_rawframe *pool; /* keys of more than one frame */
    size_t pool_used, pool_cap; /* in frames; pool_used <= UINT32_MAX */
};

int pytm_tbcache_init(struct pytm_tbcache *c, unsigned bits);
void pytm_tbcache_free(struct pytm_tbcache *c);

/* Hash of the key (frames f, total_nframe, thread); nframe >= 1.
 * `thread` is the identity the traceback is asked for (the arena's
 * tb.thread value of pytm_threads_identity, 0 = unknown): the same
 * stack on two threads is two keys, each naming its thread's tb. */
uint64_t pytm_tbcache_hash(const struct pytm_rawframe *f, uint32_t nframe,
                           uint32_t total_nframe, uint32_t thread);

/* True and *tb set when the key (with its precomputed hash) is cached. */
bool pytm_tbcache_get(const struct pytm_tbcache *c, uint64_t hash,
                      const struct pytm_rawframe *f, uint32_t nframe,
                      uint32_t total_nframe, uint32_t thread, uint32_t *tb);

/* Adds a key known to be absent, with the tb the arena gave for it
 * (which may be another thread's when the arena folded the stack).
 * 0 or PYTM_E_NOMEM (nothing changed). */
int pytm_tbcache_put(struct pytm_tbcache *c, uint64_t hash,
                     const struct pytm_rawframe *f, uint32_t nframe,
                     uint32_t total_nframe, uint32_t thread, uint32_t tb);

/* Empties the cache and its pool (keeping capacity). */
void pytm_tbcache_clear(struct pytm_tbcache *c);

size_t pytm_tbcache_memory(const struct pytm_tbcache *c);

/* ---- sampled-block filters ------------------------------------------- */

/* A free() must find out whether its block was recorded. Most blocks are
 * not (sampling), so before any table lookup we test a byte counter
 * indexed by the address: counter = number of recorded live blocks whose
 * address maps to it, saturating (and then sticky) at 255. A zero
 * counter proves the block is unrecorded; non-zero falls through to the
 * table. Index: (ptr >> PYTM_FILTER_SHIFT) & (2^bits - 1): one counter
 * per 128-byte granule (up to eight 16-byte blocks share it), so the
 * index covers 2^bits * 128 bytes of address space before wrapping; a
 * false positive costs one table miss. Every 4 KiB filter page a
 * recorded block lands in stays resident, and with sampling those
 * blocks are scattered, so the resident filter is about one page per
 * 4096 granules of heap the samples ever touched: the granule sets the
 * memory (main: 2^18 counters = 256 KiB, 32 MiB of reach; measured
 * resident on mixed_stdlib sampled 592-708 KiB at 16 bytes x 2^20,
 * 176-224 KiB at 64 bytes; on steady 148 KiB at 64 bytes, about half at
 * 128: issue 13). Coarser granules cost no instruction, only false
 * positives on heaps smaller than the reach: about granule / interval of
 * the unsampled frees (0.8% at 128 bytes and the default 16 KiB). The
 * array is static .bss: untouched pages cost nothing and the hot path is
 * a single load from a constant address.
 *
 * pytm_filter_main: recorded MEM/OBJ blocks; read and written only with
 * the GIL held. pytm_filter_raw: recorded RAW blocks; written only under
 * the RAW lock, read without it (relaxed atomic byte loads: a free reads
 * the counter of its own live block, whose increment happened before the
 * block's address could reach the freeing thread). */
#define PYTM_FILTER_SHIFT 7
#define PYTM_FILTER_MAIN_BITS 18
#define PYTM_FILTER_RAW_BITS 16

extern uint8_t pytm_filter_main[1u << PYTM_FILTER_MAIN_BITS];
extern _Atomic uint8_t pytm_filter_raw[1u << PYTM_FILTER_RAW_BITS];

static inline size_t
pytm_filter_main_index(uintptr_t ptr)
{
    return (size_t)(ptr >> PYTM_FILTER_SHIFT) &
           ((1u << PYTM_FILTER_MAIN_BITS) - 1u);
}

static inline size_t
pytm_filter_raw_index(uintptr_t ptr)
{
    return (size_t)(ptr >> PYTM_FILTER_SHIFT) &
           ((1u << PYTM_FILTER_RAW_BITS) - 1u);
}

static inline bool
pytm_filter_main_maybe(const void *ptr)
{
    return pytm_filter_main[pytm_filter_main_index((uintptr_t)ptr)] != 0;
}

static inline void
pytm_filter_main_inc(uintptr_t ptr)
{
    uint8_t *c = &pytm_filter_main[pytm_filter_main_index(ptr)];
    if (*c != 255)
        (*c)++;
}

static inline void
pytm_filter_main_dec(uintptr_t ptr)
{
    uint8_t *c = &pytm_filter_main[pytm_filter_main_index(ptr)];
    if (*c != 255 && *c != 0)
        (*c)--;
}

static inline bool
pytm_filter_raw_maybe(const void *ptr)
{
    return atomic_load_explicit(
               &pytm_filter_raw[pytm_filter_raw_index((uintptr_t)ptr)],
               memory_order_relaxed) != 0;
}

/* RAW lock held. */
static inline void
pytm_filter_raw_inc(uintptr_t ptr)
{
    _Atomic uint8_t *c = &pytm_filter_raw[pytm_filter_raw_index(ptr)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    if (v != 255)
        atomic_store_explicit(c, (uint8_t)(v + 1), memory_order_relaxed);
}

/* RAW lock held. */
static inline void
pytm_filter_raw_dec(uintptr_t ptr)
{
    _Atomic uint8_t *c = &pytm_filter_raw[pytm_filter_raw_index(ptr)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    if (v != 255 && v != 0)
        atomic_store_explicit(c, (uint8_t)(v - 1), memory_order_relaxed);
}

/* Zero both filters (main: GIL held; raw: RAW lock held too). */
void pytm_filter_main_clear(void);
void pytm_filter_raw_clear(void);

/* Fraction of non-zero counters in the main filter, for diagnostics. */
double pytm_filter_main_load(void);

#endif /* PYTM_RECORDER_TABLES_H */
