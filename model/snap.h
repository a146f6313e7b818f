/* model/snap: an in-memory snapshot of traced memory.
 *
 * The one data model every consumer shares: the arena reader fills it
 * from a live process, the dump decoder fills it from a .pytm file, the
 * dump encoder writes it, the viewer's model groups it, and the Python
 * API wraps it. Plain C, owns all of its memory (one malloc per array).
 *
 * Invariants (pytm_snap_validate checks them all; every producer must
 * call it before handing a snapshot to anyone, every consumer may rely
 * on them afterwards):
 * - strings: n_strings entries; string i is str_pool[str_off[i] ..
 *   str_off[i]+str_len[i]) followed by a NUL inside str_pool_size.
 * - frames[i].filename < n_strings.
 * - tbs[i].frames_at + tbs[i].nframe <= n_frame_ids; every frame id in
 *   that range < n_frames. Frames are most recent first.
 * - traces[i].tb < n_tbs.
 * - splits[i].tb < n_tbs, splits[i].thread <= n_threads (0 = unknown);
 *   threads[i].py_name < n_strings or PYTM_SNAP_NO_NAME.
 * Per-thread figures (model/snap_threads.h): tbs[] holds one entry per
 * stack, whatever thread recorded it; when the producer knew threads,
 * splits[] holds the per-(stack, thread) parts, whose sums are tbs[].
 * Sizes and counts are estimates when meta.sample_interval != 1.
 */
#ifndef PYTM_MODEL_SNAP_H
#define PYTM_MODEL_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pytm_snap_meta {
    int64_t pid;
    uint64_t start_realtime_ns; /* when tracing started */
    uint64_t taken_realtime_ns; /* when this snapshot was taken */
    uint64_t sample_interval;   /* 1 = exact */
    uint32_t nframe;            /* traceback limit */
    uint32_t flags;             /* PYTM_SNAP_* */
    char *cmdline;              /* owned, NUL-terminated, may be "" */
};

#define PYTM_SNAP_EXITED 0x1u /* the process had exited when taken */
#define PYTM_SNAP_HAS_TRACES 0x2u /* traces[] lists every recorded block */

struct pytm_snap_totals {
    int64_t traced_current;
    int64_t traced_peak;
    uint64_t n_allocs;
    uint64_t n_samples;
    uint64_t n_frees;
    uint64_t n_dropped;
    uint64_t live_samples;
    uint64_t clear_epoch;
    /* Live arenas only (0 = unknown, e.g. loaded from a dump): the
     * interval in force now, above meta.sample_interval once a full
     * arena made sampled mode back off. Not stored in dumps. */
    uint64_t sample_interval_now;
    /* Per-thread bookkeeping (arena counters threads_unknown and
     * stacks_folded, docs/arena.md "Threads"; dumps: the threads
     * section): threads that got no identity (the table was full) and
     * stacks whose figures went to "unknown" once the split budget ran
     * out. 0 without per-thread figures. */
    uint64_t threads_unknown;
    uint64_t stacks_folded;
};

struct pytm_snap_frame {
    uint32_t filename; /* string index */
    uint32_t lineno;
};

struct pytm_snap_tb {
    uint32_t frames_at;    /* index into frame_ids */
    uint32_t nframe;
    uint32_t total_nframe;
    uint32_t reserved;
    int64_t size;          /* live estimated bytes */
    int64_t count;         /* live estimated blocks */
    int64_t samples;       /* live recorded blocks */
    uint64_t alloc_size;   /* cumulative, as in the arena */
    uint64_t alloc_count;
    uint64_t alloc_samples;
};

/* A thread identity (arena thread_ids). */
#define PYTM_SNAP_NO_NAME 0xffffffffu
struct pytm_snap_thread {
    int64_t tid;        /* OS thread id */
    uint64_t ident;     /* threading.get_ident() */
    char os_name[16];   /* pthread name, NUL-terminated, may be "" */
    uint32_t py_name;   /* string index, or PYTM_SNAP_NO_NAME */
    uint32_t reserved;
};

/* The part of stack tbs[tb] that one thread recorded. */
struct pytm_snap_split {
    uint32_t tb;           /* index into tbs */
    uint32_t thread;       /* index into threads + 1; 0 = unknown */
    int64_t size;
    int64_t count;
    int64_t samples;
    uint64_t alloc_size;
    uint64_t alloc_count;
    uint64_t alloc_samples;
};

/* One recorded block (exact mode: every traced block). */
struct pytm_snap_trace {
    uint64_t size;      /* the block's true size */
    int64_t est_size;   /* bytes it stands for (== size when exact) */
    int64_t est_count;  /* blocks it stands for (== 1 when exact) */
    uint32_t tb;        /* index into tbs */
    uint32_t domain;    /* tracemalloc domain, 0 for Python's allocators */
};

struct pytm_snap {
    struct pytm_snap_meta meta;
    struct pytm_snap_totals totals;

    uint32_t n_strings;
    uint64_t str_pool_size;
    char *str_pool;
    uint64_t *str_off;
    uint32_t *str_len;

    uint32_t n_frames;
    struct pytm_snap_frame *frames;

    uint32_t n_frame_ids;
    uint32_t *frame_ids;

    uint32_t n_tbs;
    struct pytm_snap_tb *tbs;

    uint64_t n_traces;
    struct pytm_snap_trace *traces; /* NULL unless PYTM_SNAP_HAS_TRACES */

    uint32_t n_threads;
    struct pytm_snap_thread *threads;
    uint64_t n_splits;              /* 0: no per-thread figures */
    struct pytm_snap_split *splits;
};

/* Zero-initialises *s (an empty, valid snapshot). */
void pytm_snap_init(struct pytm_snap *s);

/* Frees everything *s owns and re-initialises it. Safe twice. */
void pytm_snap_free(struct pytm_snap *s);

/* Checks every invariant above. Returns 0 or PYTM_E_CORRUPT. O(size). */
int pytm_snap_validate(const struct pytm_snap *s);

/* String i (i < n_strings after validation), NUL-terminated. */
static inline const char *
pytm_snap_string(const struct pytm_snap *s, uint32_t i)
{
    return s->str_pool + s->str_off[i];
}

/* Deep copy of src into *dst (initialised or not). 0 or PYTM_E_NOMEM
 * (then *dst is empty). */
int pytm_snap_copy(struct pytm_snap *dst, const struct pytm_snap *src);

/* Incremental construction, used by the readers and by the Python
 * layer. A builder appends to *s and grows its arrays geometrically.
 * Each returns 0 or PYTM_E_NOMEM; on failure *s is unchanged.
 * Strings are not deduplicated here (the arena already does). */
int pytm_snap_add_string(struct pytm_snap *s, const char *str, size_t len,
                         uint32_t *idx);
int pytm_snap_add_frame(struct pytm_snap *s, uint32_t filename, uint32_t lineno,
                        uint32_t *idx);
int pytm_snap_add_tb(struct pytm_snap *s, const uint32_t *frame_ids,
                     uint32_t nframe, uint32_t total_nframe, uint32_t *idx);
int pytm_snap_add_trace(struct pytm_snap *s,
                        const struct pytm_snap_trace *trace);

/* Recomputes every tbs[i] live aggregate (size, count, samples) from
 * traces[] (only meaningful with PYTM_SNAP_HAS_TRACES). */
void pytm_snap_aggregate_traces(struct pytm_snap *s);

#endif /* PYTM_MODEL_SNAP_H */
