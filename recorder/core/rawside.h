/* recorder/core/rawside: what the RAW hooks may touch without the GIL.
 *
 * PyMem_RawMalloc() and friends may be called without the GIL and even
 * without a thread state. Such a call must never take the GIL, never
 * call into Python and never block for long. It may need to
 *   - insert or remove a record of the RAW trace table,
 *   - claim an arena thread slot / register the thread,
 *   - account for the block in the arena aggregates.
 * The first two happen under the RAW lock below, a tiny spinlock that is
 * never held across a call into any allocator or into Python. The third
 * cannot: arena aggregates are updated by plain load+store ("serial")
 * writers that rely on the GIL for mutual exclusion. So an event that
 * arrives without the GIL is pushed, under the RAW lock, into a bounded
 * pending queue, and the next GIL holder that reaches a slow path (or
 * any API call) applies it. When the queue is full the event is dropped
 * and counted in n_dropped -- for an allocation the record is not
 * inserted either, so the aggregates never see a free without its alloc.
 *
 * Lock order: GIL -> RAW lock. Nothing is acquired while holding the RAW
 * lock.
 */
#ifndef PYTM_RECORDER_RAWSIDE_H
#define PYTM_RECORDER_RAWSIDE_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "tables.h"

struct pytm_session;
struct pytm_tls;

/* One deferred aggregate update. */
struct pytm_pending_ev {
    uint32_t tb;
    int32_t sign; /* +1: record_alloc, -1: record_free */
    int64_t est_size;
    int64_t est_count;
};

#define PYTM_PENDING_CAP 1024u

struct pytm_rawside {
    _Atomic int lock;              /* the RAW lock: 0 free, 1 held */
    _Atomic uint32_t n_pending;    /* RAW lock; read relaxed as a hint */
    uint32_t epoch;                /* RAW lock: bumped by start, stop and
                                      clear; a record taken out before a
                                      bump is not accounted after it */
    struct pytm_traces traces;     /* RAW lock: RAW blocks */
    struct pytm_tls *threads;      /* RAW lock: registry of thread states */
    struct pytm_pending_ev pending[PYTM_PENDING_CAP]; /* RAW lock */
};

extern struct pytm_rawside pytm_raw;

/* Acquire pairs with the release in pytm_raw_unlock(): everything written
 * under the lock by the previous holder is visible to the next. */
static inline void
pytm_raw_lock(void)
{
    for (unsigned spins = 0;; spins++) {
        if (!atomic_exchange_explicit(&pytm_raw.lock, 1, memory_order_acquire))
            return;
        while (atomic_load_explicit(&pytm_raw.lock, memory_order_relaxed)) {
            if (++spins > 64) {
                sched_yield(); /* holder was preempted: let it run */
                spins = 0;
            }
            else {
                __builtin_ia32_pause();
            }
        }
    }
}

/* Release pairs with the acquire exchange in pytm_raw_lock(). */
static inline void
pytm_raw_unlock(void)
{
    atomic_store_explicit(&pytm_raw.lock, 0, memory_order_release);
}

/* RAW lock held. Appends an event; PYTM_E_FULL when the queue is full. */
int pytm_raw_push(uint32_t tb, int32_t sign, int64_t est_size,
                  int64_t est_count);

/* Free queue entries (RAW lock held). */
static inline uint32_t
pytm_raw_room(void)
{
    return PYTM_PENDING_CAP -
           atomic_load_explicit(&pytm_raw.n_pending, memory_order_relaxed);
}

/* GIL and RAW lock held, session s active: applies the queue to s's
 * arena aggregates and empties it. */
void pytm_raw_drain_locked(struct pytm_session *s);

/* GIL held, session s active: drains when the hint says there is work. */
static inline void
pytm_raw_drain(struct pytm_session *s)
{
    if (__builtin_expect(
            atomic_load_explicit(&pytm_raw.n_pending, memory_order_relaxed) != 0,
            0)) {
        pytm_raw_lock();
        pytm_raw_drain_locked(s);
        pytm_raw_unlock();
    }
}

/* RAW lock held: empties the queue without applying it (clear/stop). */
void pytm_raw_discard_locked(void);

#endif /* PYTM_RECORDER_RAWSIDE_H */
