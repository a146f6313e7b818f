/* shm/arena: the writer side of the shared-memory arena.
 *
 * Plain C (no Python.h, no curses). The recorder creates one arena per
 * tracing session and writes through these functions; readers in other
 * processes use shm/reader.h. The layout is include/pytm/arena_layout.h.
 *
 * Thread-safety contract:
 * - pytm_arena_create / pytm_arena_close: one caller, no other call in
 *   flight on the same arena.
 * - pytm_arena_intern_*: thread-safe (an internal mutex); meant for the
 *   miss path only (a string, frame or traceback seen for the first
 *   time). Callers keep their own hit cache in front.
 * - pytm_arena_tb_*, pytm_arena_counters_*, thread slot functions:
 *   lock-free, callable from any thread, never block, never allocate.
 */
#ifndef PYTM_SHM_ARENA_H
#define PYTM_SHM_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pytm/arena_layout.h"

/* Sizing of a new arena. Zero fields take the defaults below. */
struct pytm_arena_config {
    uint64_t arena_size;      /* total bytes; default PYTM_ARENA_DEFAULT_SIZE */
    uint32_t max_threads;     /* thread slots; default 1024 */
    uint64_t sample_interval; /* recorded in the header (1 = exact) */
    uint32_t nframe;          /* recorded in the header */
    bool keep;                /* recorded in the header flags */
    const char *cmdline;      /* copied, truncated; NULL: read /proc/self */
    const char *shm_dir;      /* directory of the object, default
                                 "/dev/shm"; tests may point elsewhere */
    /* Process tree (PYTM_ARENA_FLAG_TREE when `tree`): tree_root_pid 0
     * makes this process the root (its own pid and start ticks are
     * written); otherwise the three are copied as given. */
    bool tree;
    int64_t tree_root_pid;
    int64_t parent_pid;
    uint64_t tree_root_start_ticks;
};

#define PYTM_ARENA_DEFAULT_SIZE (64ull << 20)
#define PYTM_ARENA_MIN_SIZE (1ull << 20)
#define PYTM_ARENA_DEFAULT_THREADS 1024u

/* Opaque writer state (private memory of the traced process). */
struct pytm_arena;

/* Creates the shm object <shm_dir>/pytm-<pid> (or pytm-<pid>-N, N<=9,
 * when the name is taken) with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600,
 * gives it its full size (ftruncate) but allocates (posix_fallocate)
 * only the header and the thread slots, maps it, splits it into
 * sections and publishes the header (state RUNNING). The growable
 * sections are allocated by the intern calls, 64 KiB at a time, before
 * anything is written there (shm/arena_backing.h): no byte the writer
 * touches can SIGBUS for lack of tmpfs space, and a step that cannot be
 * allocated (ENOSPC...) makes that section full (PYTM_E_FULL). The rest
 * of the file is a hole that lies past every published count. The fd
 * stays open (O_CLOEXEC) until close, for those steps.
 * On success *out owns the mapping and 0 is returned. On failure a
 * negative PYTM_E_* is returned, nothing is left on disk, *out is NULL.
 * Allocates its private state with malloc (not through Python). */
int pytm_arena_create(const struct pytm_arena_config *cfg,
                      struct pytm_arena **out);

/* Marks the arena STOPPED (keep, at stop()) or EXITED (keep, at exit),
 * sets stop_realtime_ns, unmaps it and frees the private state. Unless
 * keep is true the shm object is unlinked first. Safe on NULL.
 * The caller guarantees no other thread still uses `a`. */
void pytm_arena_close(struct pytm_arena *a, bool keep, bool exiting);

/* For a fork child that inherited `a` from its parent: closes the
 * child's copy of the arena's fd, so that the child (and its own fork
 * children) holds no fd to the parent's arena. Touches nothing else:
 * not the arena (the parent still writes it), its mapping, the private
 * tables nor `a` itself (another thread of the parent may have been
 * changing them at fork time); they stay allocated and unused. `a` must
 * not be passed to any call afterwards; a header pointer taken before
 * stays readable (the mapping is kept). Safe on NULL. */
void pytm_arena_forget(struct pytm_arena *a);

/* Path of the object ("/dev/shm/pytm-1234"), valid until close. */
const char *pytm_arena_path(const struct pytm_arena *a);

/* The mapped header, for the lock-free functions below and for tests. */
struct pytm_arena_header *pytm_arena_header(struct pytm_arena *a);

/* Interns a UTF-8 string (len bytes, need not be NUL-terminated) and
 * stores its id in *sid. Same bytes always give the same id.
 * Returns 0, or PYTM_E_FULL when the pool has no room or its next
 * 64 KiB step cannot be allocated (nothing is published; the caller
 * counts a drop). Thread-safe. PYTM_E_FULL means the same for every
 * intern call below. */
int pytm_arena_intern_string(struct pytm_arena *a, const char *s, size_t len,
                             uint32_t *sid);

/* Interns a frame (filename string id, line). Same as above. */
int pytm_arena_intern_frame(struct pytm_arena *a, uint32_t filename_sid,
                            uint32_t lineno, uint32_t *frame_id);

/* Interns a traceback: nframe frame ids, most recent first, and the
 * total depth. The same (frames, total_nframe) always gives the same id.
 * nframe may be 0. Returns 0, PYTM_E_FULL or PYTM_E_INVAL (a frame id
 * not published, nframe > 65535). Thread-safe. */
int pytm_arena_intern_traceback(struct pytm_arena *a, const uint32_t *frame_ids,
                                uint32_t nframe, uint32_t total_nframe,
                                uint32_t *tb_id);

/* Same, for thread `thread` (an index returned by
 * pytm_arena_intern_thread, plus one; 0 = unknown): the key is
 * (frames, total_nframe, thread). Returns as above, PYTM_E_INVAL also
 * for a thread not published. pytm_arena_intern_traceback is this with
 * thread 0. Thread-safe. */
int pytm_arena_intern_traceback_thread(struct pytm_arena *a,
                                       const uint32_t *frame_ids,
                                       uint32_t nframe, uint32_t total_nframe,
                                       uint32_t thread, uint32_t *tb_id);

/* Appends the identity of a thread (gettid, pthread_self, pthread name,
 * Python name string id or PYTM_ARENA_NO_NAME) and stores its tb.thread
 * value (index + 1) in *thread. Never deduplicates: the caller calls it
 * once per thread and session. Returns 0, PYTM_E_FULL (table full:
 * the thread stays unknown) or PYTM_E_INVAL. Thread-safe. */
int pytm_arena_intern_thread(struct pytm_arena *a, int32_t tid,
                             uint64_t ident, const char *os_name,
                             uint32_t py_name, uint32_t *thread);

/* The newest identity (index + 1) with this pthread_self() and gettid()
 * value, or 0 when there is none. O(identities). Thread-safe. */
uint32_t pytm_arena_thread_find(struct pytm_arena *a, uint64_t ident,
                                int32_t tid);

/* Sets the Python name (a published string id) of identity `thread`
 * (index + 1) if it has none yet. Returns 0, or PYTM_E_INVAL.
 * Thread-safe. */
int pytm_arena_thread_set_name(struct pytm_arena *a, uint32_t thread,
                               uint32_t py_name);

/* Number of tracebacks published so far. */
uint32_t pytm_arena_tb_count(struct pytm_arena *a);

/* Records a sampled allocation of estimated size `est_size` and count
 * `est_count` against traceback tb_id and adjusts the global current and
 * peak. tb_id must be an id returned by pytm_arena_intern_traceback;
 * an id not yet published is ignored (never written: the bytes past
 * the published tracebacks may be unallocated). Lock-free (relaxed
 * atomic RMW), any thread. */
void pytm_arena_record_alloc(struct pytm_arena *a, uint32_t tb_id,
                             int64_t est_size, int64_t est_count);

/* Records the free of a block that pytm_arena_record_alloc recorded with
 * the same figures. Lock-free, any thread. */
void pytm_arena_record_free(struct pytm_arena *a, uint32_t tb_id,
                            int64_t est_size, int64_t est_count);

/* The mapped traceback table, for the serial helpers below. Entries
 * below pytm_arena_tb_count() are valid. Valid until close. */
struct pytm_arena_tb *pytm_arena_tbs(struct pytm_arena *a);

/* SERIAL hot-path variants of record_alloc/record_free.
 *
 * Same effect, but with plain relaxed load + relaxed store instead of
 * atomic read-modify-write (no lock prefix: ~1 ns instead of ~7 ns per
 * field). Only correct when the caller guarantees that no other thread
 * updates this arena's aggregates or counters at the same time, by any
 * variant. The recorder guarantees it by updating only with the GIL held
 * and deferring events that arrive without the GIL (recorder/core/hooks.c).
 * Readers still see whole 64-bit values (aligned relaxed stores). */
static inline void
pytm_arena_tb_add_serial_(_Atomic int64_t *f, int64_t d)
{
    atomic_store_explicit(f, atomic_load_explicit(f, memory_order_relaxed) + d,
                          memory_order_relaxed);
}

static inline void
pytm_arena_tb_uadd_serial_(_Atomic uint64_t *f, uint64_t d)
{
    atomic_store_explicit(f, atomic_load_explicit(f, memory_order_relaxed) + d,
                          memory_order_relaxed);
}

static inline void
pytm_arena_record_alloc_serial(struct pytm_arena_header *h,
                               struct pytm_arena_tb *tb, int64_t est_size,
                               int64_t est_count)
{
    pytm_arena_tb_add_serial_(&tb->size, est_size);
    pytm_arena_tb_add_serial_(&tb->count, est_count);
    pytm_arena_tb_add_serial_(&tb->samples, 1);
    pytm_arena_tb_uadd_serial_(&tb->alloc_size, (uint64_t)est_size);
    pytm_arena_tb_uadd_serial_(&tb->alloc_count, (uint64_t)est_count);
    pytm_arena_tb_uadd_serial_(&tb->alloc_samples, 1);
    struct pytm_arena_counters *c = &h->counters;
    int64_t cur = atomic_load_explicit(&c->traced_current, memory_order_relaxed)
                  + est_size;
    atomic_store_explicit(&c->traced_current, cur, memory_order_relaxed);
    if (cur > atomic_load_explicit(&c->traced_peak, memory_order_relaxed))
        atomic_store_explicit(&c->traced_peak, cur, memory_order_relaxed);
    pytm_arena_tb_uadd_serial_(&c->n_samples, 1);
    pytm_arena_tb_uadd_serial_(&c->live_samples, 1);
}

static inline void
pytm_arena_record_free_serial(struct pytm_arena_header *h,
                              struct pytm_arena_tb *tb, int64_t est_size,
                              int64_t est_count)
{
    pytm_arena_tb_add_serial_(&tb->size, -est_size);
    pytm_arena_tb_add_serial_(&tb->count, -est_count);
    pytm_arena_tb_add_serial_(&tb->samples, -1);
    struct pytm_arena_counters *c = &h->counters;
    pytm_arena_tb_add_serial_(&c->traced_current, -est_size);
    pytm_arena_tb_uadd_serial_(&c->n_frees, 1);
    pytm_arena_tb_uadd_serial_(&c->live_samples, (uint64_t)-1);
}

/* A live block changes traceback (the recorder re-tags an object reused
 * from a free list): its live size, count and sample move from `from`
 * to `to`. Totals, peak, counters and cumulative alloc_* figures stay:
 * nothing was allocated or freed. Same serial rule as above. */
static inline void
pytm_arena_record_move_serial(struct pytm_arena_tb *from,
                              struct pytm_arena_tb *to, int64_t est_size,
                              int64_t est_count)
{
    pytm_arena_tb_add_serial_(&from->size, -est_size);
    pytm_arena_tb_add_serial_(&from->count, -est_count);
    pytm_arena_tb_add_serial_(&from->samples, -1);
    pytm_arena_tb_add_serial_(&to->size, est_size);
    pytm_arena_tb_add_serial_(&to->count, est_count);
    pytm_arena_tb_add_serial_(&to->samples, 1);
}

/* Zeroes every live aggregate (size, count, samples) and the current
 * total, keeps cumulative alloc_* figures, bumps clear_epoch.
 * The caller must ensure no record_* runs concurrently (the recorder
 * holds the GIL and has its hooks quiesced). */
void pytm_arena_clear(struct pytm_arena *a);

/* peak = current. Lock-free. */
void pytm_arena_reset_peak(struct pytm_arena *a);

/* Adds to the global counters (any may be 0). Lock-free. */
void pytm_arena_count(struct pytm_arena *a, uint64_t allocs, uint64_t frees,
                      uint64_t dropped);

/* Claims a free thread slot for the calling thread (tid, name) and
 * returns its index, or -1 when all slots are taken (the thread then
 * traces without a slot; its figures still reach the global counters).
 * Lock-free. */
int pytm_arena_thread_claim(struct pytm_arena *a, int32_t tid,
                            const char *name);

/* Adds to a claimed slot's counters. Only the owning thread calls it. */
void pytm_arena_thread_add(struct pytm_arena *a, int slot, uint64_t allocs,
                           uint64_t samples, uint64_t dropped,
                           uint64_t alloc_bytes_est);

/* Releases a slot (release store of FREE); its index may be claimed by
 * another thread afterwards. */
void pytm_arena_thread_release(struct pytm_arena *a, int slot);

/* Bytes of private memory plus arena bytes in use, for
 * get_tracemalloc_memory(). */
uint64_t pytm_arena_memory_usage(const struct pytm_arena *a);

/* Reads field 22 (starttime, clock ticks since boot) of
 * /proc/<pid>/stat into *ticks. Returns 0 or a PYTM_E_*. Shared with the
 * reader, which compares it with the header to detect a reused PID. */
int pytm_proc_start_ticks(pid_t pid, uint64_t *ticks);

#endif /* PYTM_SHM_ARENA_H */
