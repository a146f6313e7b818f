/* shm/arena_record.c: the lock-free side of the writer.
 *
 * Per-traceback aggregates and header counters: relaxed atomic RMW from
 * any thread (readers load them relaxed; no value is torn, no two values
 * form a consistent cut; see arena_layout.h). The _serial variants in
 * arena.h have the same effect field by field; keep the two in step.
 *
 * Thread slots: claimed by CAS FREE->LIVE (acquire, pairs with the
 * previous owner's release of FREE in pytm_arena_thread_release, so the
 * new owner's writes follow the old owner's), then written by the owner
 * only.
 */
#include "arena.h"

#include <string.h>
#include <time.h>

#include "arena_internal.h"
#include "pytm_clock.h"

static void
raise_peak(struct pytm_arena_counters *c, int64_t cur)
{
    int64_t peak = atomic_load_explicit(&c->traced_peak, memory_order_relaxed);
    while (cur > peak
           && !atomic_compare_exchange_weak_explicit(&c->traced_peak, &peak, cur,
                                                     memory_order_relaxed,
                                                     memory_order_relaxed)) {
        /* peak was reloaded by the failed CAS */
    }
}

void
pytm_arena_record_alloc(struct pytm_arena *a, uint32_t tb_id, int64_t est_size,
                        int64_t est_count)
{
    /* Acquire: paired with the release in arena_intern.c back_next_tb;
     * entries below the count are allocated (a caller bug past it must
     * not fault a tmpfs hole). */
    if (tb_id >= atomic_load_explicit(&a->tbs_backed, memory_order_acquire))
        return; /* caller bug; never scribble outside the table */
    struct pytm_arena_tb *tb = &a->tbs[tb_id];
    const memory_order rx = memory_order_relaxed;
    atomic_fetch_add_explicit(&tb->size, est_size, rx);
    atomic_fetch_add_explicit(&tb->count, est_count, rx);
    atomic_fetch_add_explicit(&tb->samples, 1, rx);
    atomic_fetch_add_explicit(&tb->alloc_size, (uint64_t)est_size, rx);
    atomic_fetch_add_explicit(&tb->alloc_count, (uint64_t)est_count, rx);
    atomic_fetch_add_explicit(&tb->alloc_samples, 1, rx);
    struct pytm_arena_counters *c = &a->h->counters;
    int64_t cur = atomic_fetch_add_explicit(&c->traced_current, est_size, rx)
                  + est_size;
    raise_peak(c, cur);
    atomic_fetch_add_explicit(&c->n_samples, 1, rx);
    atomic_fetch_add_explicit(&c->live_samples, 1, rx);
}

void
pytm_arena_record_free(struct pytm_arena *a, uint32_t tb_id, int64_t est_size,
                       int64_t est_count)
{
    /* Acquire: as in record_alloc. */
    if (tb_id >= atomic_load_explicit(&a->tbs_backed, memory_order_acquire))
        return;
    struct pytm_arena_tb *tb = &a->tbs[tb_id];
    const memory_order rx = memory_order_relaxed;
    atomic_fetch_sub_explicit(&tb->size, est_size, rx);
    atomic_fetch_sub_explicit(&tb->count, est_count, rx);
    atomic_fetch_sub_explicit(&tb->samples, 1, rx);
    struct pytm_arena_counters *c = &a->h->counters;
    atomic_fetch_sub_explicit(&c->traced_current, est_size, rx);
    atomic_fetch_add_explicit(&c->n_frees, 1, rx);
    atomic_fetch_sub_explicit(&c->live_samples, 1, rx);
}

void
pytm_arena_clear(struct pytm_arena *a)
{
    uint32_t n = pytm_arena_tb_count(a);
    const memory_order rx = memory_order_relaxed;
    for (uint32_t i = 0; i < n; i++) {
        atomic_store_explicit(&a->tbs[i].size, 0, rx);
        atomic_store_explicit(&a->tbs[i].count, 0, rx);
        atomic_store_explicit(&a->tbs[i].samples, 0, rx);
    }
    struct pytm_arena_counters *c = &a->h->counters;
    atomic_store_explicit(&c->traced_current, 0, rx);
    atomic_store_explicit(&c->live_samples, 0, rx);
    /* Release: a reader that acquires the new epoch (none does yet; the
     * viewer compares epochs between snapshots) sees the zeroes. */
    atomic_fetch_add_explicit(&c->clear_epoch, 1, memory_order_release);
}

void
pytm_arena_reset_peak(struct pytm_arena *a)
{
    struct pytm_arena_counters *c = &a->h->counters;
    atomic_store_explicit(&c->traced_peak,
                          atomic_load_explicit(&c->traced_current,
                                               memory_order_relaxed),
                          memory_order_relaxed);
}

void
pytm_arena_count(struct pytm_arena *a, uint64_t allocs, uint64_t frees,
                 uint64_t dropped)
{
    struct pytm_arena_counters *c = &a->h->counters;
    const memory_order rx = memory_order_relaxed;
    if (allocs)
        atomic_fetch_add_explicit(&c->n_allocs, allocs, rx);
    if (frees)
        atomic_fetch_add_explicit(&c->n_frees, frees, rx);
    if (dropped)
        atomic_fetch_add_explicit(&c->n_dropped, dropped, rx);
    atomic_store_explicit(&c->heartbeat_ns, pytm_clock_ns(CLOCK_REALTIME), rx);
}

static void
raise_hwm(struct pytm_arena_published *p, uint64_t n)
{
    uint64_t hwm = atomic_load_explicit(&p->threads_hwm, memory_order_relaxed);
    /* Release: a reader that acquires threads_hwm sees the slot's claim. */
    while (n > hwm
           && !atomic_compare_exchange_weak_explicit(&p->threads_hwm, &hwm, n,
                                                     memory_order_release,
                                                     memory_order_relaxed)) {
    }
}

int
pytm_arena_thread_claim(struct pytm_arena *a, int32_t tid, const char *name)
{
    uint32_t cap = a->threads_cap;
    if (cap == 0)
        return -1;
    /* Reserve first: fails only when every slot is really owned. */
    uint32_t n = atomic_load_explicit(&a->threads_reserved, memory_order_relaxed);
    do {
        if (n >= cap)
            return -1;
    } while (!atomic_compare_exchange_weak_explicit(
        &a->threads_reserved, &n, n + 1, memory_order_relaxed,
        memory_order_relaxed));
    /* With a reservation held, fewer than cap slots are LIVE at any
     * instant (each LIVE slot's owner holds a reservation until after
     * its release store of FREE), so rescanning terminates.
     * The scan takes the LOWEST free slot, so published.threads_hwm
     * tracks the peak number of concurrent threads and readers scan
     * only that prefix (a rotating start made it reach the capacity
     * after max_threads thread starts, however few were alive). */
    for (;;) {
        for (uint32_t i = 0; i < cap; i++) {
            struct pytm_arena_thread *t = &a->threads[i];
            uint32_t expect = PYTM_THREAD_FREE;
            if (atomic_load_explicit(&t->state, memory_order_relaxed) != expect)
                continue;
            /* Acquire on success: pairs with the release of FREE in
             * pytm_arena_thread_release by the slot's previous owner. */
            if (!atomic_compare_exchange_strong_explicit(
                    &t->state, &expect, PYTM_THREAD_LIVE,
                    memory_order_acquire, memory_order_relaxed))
                continue;
            t->tid = tid;
            memset(t->name, 0, sizeof t->name);
            if (name)
                strncpy(t->name, name, sizeof t->name - 1);
            atomic_store_explicit(&t->n_allocs, 0, memory_order_relaxed);
            atomic_store_explicit(&t->n_samples, 0, memory_order_relaxed);
            atomic_store_explicit(&t->n_dropped, 0, memory_order_relaxed);
            atomic_store_explicit(&t->alloc_bytes_est, 0, memory_order_relaxed);
            raise_hwm(&a->h->published, (uint64_t)i + 1);
            return (int)i;
        }
    }
}

void
pytm_arena_thread_add(struct pytm_arena *a, int slot, uint64_t allocs,
                      uint64_t samples, uint64_t dropped,
                      uint64_t alloc_bytes_est)
{
    if (slot < 0 || (uint32_t)slot >= a->threads_cap)
        return;
    struct pytm_arena_thread *t = &a->threads[slot];
    /* Single writer (the owner): load + store, no RMW needed. */
    pytm_arena_tb_uadd_serial_(&t->n_allocs, allocs);
    pytm_arena_tb_uadd_serial_(&t->n_samples, samples);
    pytm_arena_tb_uadd_serial_(&t->n_dropped, dropped);
    pytm_arena_tb_uadd_serial_(&t->alloc_bytes_est, alloc_bytes_est);
}

void
pytm_arena_thread_release(struct pytm_arena *a, int slot)
{
    if (slot < 0 || (uint32_t)slot >= a->threads_cap)
        return;
    /* Release: pairs with the acquire CAS in pytm_arena_thread_claim of
     * the next owner. Only a LIVE slot gives its reservation back (a
     * double release must not free someone else's reservation). */
    uint32_t old = atomic_exchange_explicit(&a->threads[slot].state,
                                            PYTM_THREAD_FREE,
                                            memory_order_release);
    if (old == PYTM_THREAD_LIVE)
        atomic_fetch_sub_explicit(&a->threads_reserved, 1,
                                  memory_order_relaxed);
}
