/* recorder/core/threads: per-thread recorder state (TLS) and its
 * lifecycle.
 *
 * Each thread that runs a hook owns one struct pytm_tls in static TLS
 * (initial-exec model, see recorder/CMakeLists.txt; the struct must stay
 * well under 128 bytes). It starts zeroed, which the hooks read as "not
 * in any session": a zeroed countdown always crosses, and the decision
 * (policy.c) then joins the thread to the session through
 * pytm_threads_join(), which claims an arena thread slot and registers
 * the thread so that
 *   - its slot is released and its counters flushed at thread exit
 *     (pthread key destructor), and
 *   - the next start() can zero its countdown (a countdown drawn for
 *     another interval would bias the first sample).
 * The sampler inside is drawn by the policy, never here.
 *
 * Thread-safety: a struct pytm_tls is written by its own thread only,
 * except `sampler.left` and `resume`, which pytm_threads_reset_all_locked()
 * zeroes from the thread calling start() while no hook is installed, and
 * `next`/`prev`, which are protected by the RAW lock
 * (recorder/core/rawside.h).
 *
 * PARKING. In sampled mode the hooks' fast path reads nothing but the
 * countdown: no reentrancy guard. Whenever a sampled-mode hook runs code
 * that may allocate through a hook again on the same thread -- the
 * allocator below (pymalloc serves large requests with PyMem_RawMalloc),
 * the recorder's own slow path (the public-API frame fallback creates
 * frame objects) -- it first "parks" the countdown at PYTM_PARKED, a
 * value no run of allocations can count down to zero (2^62 bytes; a real
 * countdown is below 2^46), so those inner calls take the unsampled path:
 * not counted, not recorded, tail-called. It puts the countdown back
 * afterwards. Two forms:
 *   - pytm_park()/pytm_unpark(): around a call into the allocator below;
 *     the countdown waits in a local, so it nests;
 *   - pytm_slow_enter()/pytm_slow_leave(): around a recorded (or
 *     exact-mode) call, with the guard set as well; the countdown waits in
 *     `resume`, where the policy (policy.h) reads and redraws it while the
 *     slow path runs. One per thread at a time: the fast path cannot
 *     cross while parked, and exact mode's guard turns re-entry away. The
 *     one way a parked countdown can still cross is start() zeroing it
 *     from another thread (pytm_threads_reset_all_locked) while this one
 *     records without the GIL; the slow paths therefore check the guard
 *     and pass such a call through.
 * Exact mode keeps the guard on its fast path (it must ignore every
 * reentrant call, as tracemalloc does) and never reads the countdown.
 */
#ifndef PYTM_RECORDER_THREADS_H
#define PYTM_RECORDER_THREADS_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampler.h"

struct pytm_tls {
    struct pytm_sampler sampler; /* owner; `left` also reset_all;
                                    PYTM_PARKED while parked */
    int64_t resume;              /* owner (+reset_all): the countdown
                                    during a slow path (parked) */
    uint64_t n_allocs;           /* owner: allocations seen, unflushed:
                                    the sum of est_count over decided
                                    samples (exact: one per block) */
    uint64_t n_samples;          /* owner: samples recorded, unflushed */
    int64_t bytes_est;           /* owner: estimated bytes, unflushed */
    struct pytm_tls *next;       /* RAW lock: registry links */
    struct pytm_tls *prev;       /* RAW lock */
    uint32_t n_dropped;          /* owner: records dropped, unflushed */
    int32_t slot;                /* owner: arena thread slot, -1: none */
    uint32_t gen;                /* owner: session the state belongs to,
                                    0: never initialised */
    uint8_t guard;               /* owner: reentrancy guard, 0 or 1 */
    uint8_t registered;          /* owner, under the RAW lock: 0 no,
                                    1 in the registry, 2 thread exiting */
    uint16_t thread;             /* owner (GIL): arena thread identity
                                    (tb.thread) in session `gen`; 0: not
                                    claimed yet, PYTM_TLS_NO_THREAD: the
                                    table was full */
};

#define PYTM_TLS_NO_THREAD 0xffffu

/* Zero-initialised; see the TLS model note in recorder/CMakeLists.txt. */
extern __thread struct pytm_tls pytm_tls
    __attribute__((tls_model("initial-exec")));

_Static_assert(sizeof(struct pytm_tls) <= 96, "keep static TLS tiny");

/* Reentrancy guard. Exact mode: set while a hook runs its own code (the
 * underlying allocator included), so that allocations made by that code
 * -- e.g. pymalloc falling back to PyMem_RawMalloc() for a large block --
 * pass straight through instead of being counted twice. Sampled mode: set
 * during a slow path only (pytm_slow_enter); its fast path relies on the
 * parked countdown instead, and the 3.13 reference tracer (reftrace.c)
 * reads the guard to leave objects created by our own code alone. Set
 * and clear must alternate; the asserts check it. */
static inline void
pytm_guard_set(struct pytm_tls *t)
{
    assert(t->guard == 0);
    t->guard = 1;
}

static inline void
pytm_guard_clear(struct pytm_tls *t)
{
    assert(t->guard == 1);
    t->guard = 0;
}

/* Parked countdown (see PARKING above). */
#define PYTM_PARKED (INT64_C(1) << 62)

/* True while t's countdown is parked. */
static inline bool
pytm_parked(const struct pytm_tls *t)
{
    return t->sampler.left > PYTM_PARKED / 2;
}

/* Parks t's countdown around a call that may re-enter a hook; returns the
 * value pytm_unpark() puts back. Nests. */
static inline int64_t
pytm_park(struct pytm_tls *t)
{
    int64_t was = t->sampler.left;
    t->sampler.left = PYTM_PARKED;
    return was;
}

static inline void
pytm_unpark(struct pytm_tls *t, int64_t was)
{
    t->sampler.left = was;
}

/* Enters a slow path (a crossing, or any exact-mode allocation): guard
 * set, countdown parked with its value in t->resume. Must be paired with
 * pytm_slow_leave(); does not nest (asserted through the guard). */
static inline void
pytm_slow_enter(struct pytm_tls *t)
{
    pytm_guard_set(t);
    t->resume = t->sampler.left;
    t->sampler.left = PYTM_PARKED;
}

static inline void
pytm_slow_leave(struct pytm_tls *t)
{
    t->sampler.left = t->resume;
    pytm_guard_clear(t);
}

struct pytm_session;

/* Creates the pthread key (once per process) whose destructor flushes
 * and releases an exiting thread's state in session s (the process's
 * one session object, which outlives every thread). 0 or PYTM_E_*. */
int pytm_threads_global_init(struct pytm_session *s);

/* Joins the calling thread to session s (t->gen != s->gen): zeroes its
 * unflushed counters, claims an arena thread slot (none for a thread
 * that is exiting, or when every slot is taken), registers it and arms
 * its exit destructor, and sets t->gen. Does not touch the sampler (the
 * policy draws it next). Preconditions: s is active and stays so for the
 * call (the caller holds the GIL, or holds the RAW lock and checked
 * `active`); `raw_locked` says which. */
void pytm_threads_join(struct pytm_session *s, struct pytm_tls *t,
                       bool raw_locked);

/* Pushes the thread's unflushed counters to its arena slot and the
 * arena's global counters. Same preconditions as join, t in session s. */
void pytm_threads_flush(struct pytm_session *s, struct pytm_tls *t);

/* The calling thread's arena thread identity (tb.thread, 0 = unknown),
 * claimed on first use in session s: gettid, pthread_self, pthread
 * name, and the Python name pytm_threads_set_name gave for it, if any.
 * Preconditions: GIL held, s active, t joined (t->gen == s->gen). */
uint32_t pytm_threads_identity(struct pytm_session *s, struct pytm_tls *t);

/* Records that the thread `ident` (threading.get_ident()) with OS id
 * `tid` (Thread.native_id) is named `name` (len bytes of UTF-8): on its
 * identity when it has one (pytm_arena_thread_find), else remembered
 * until that thread claims its identity (at most 256 pending names per
 * session, the oldest forgotten first). Names are cut at 64 bytes and
 * take at most 1/16 of the string pool; past that, or once the identity
 * table is full, they are not recorded. A name never changes once set:
 * a later rename of the thread is not seen (best effort).
 * Preconditions: GIL held, s active. Returns 0 or a PYTM_E_* (the name
 * is then just not known). */
int pytm_threads_set_name(struct pytm_session *s, uint64_t ident, int32_t tid,
                          const char *name, size_t len);

/* At start(), before hooks are installed, with the RAW lock held: makes
 * every registered thread's sampler take the slow path on its next
 * allocation (zeroes `left` and `resume`, so that a thread still leaving
 * a slow path of the last session also puts back a zero). */
void pytm_threads_reset_all_locked(void);

#endif /* PYTM_RECORDER_THREADS_H */
