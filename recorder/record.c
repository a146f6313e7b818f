/* recorder/record: record and forget blocks (see record.h and the
 * concurrency design at the top of hooks.c). */
#include "record.h"

#include <time.h>

#include "arena.h"
#include "frames.h"
#include "pytm_error.h"
#include "rawside.h"
#include "sampler.h"
#include "session.h"
#include "threads.h"
#include "tracebacks.h"

/* Exact mode flushes thread counters every this many samples (each
 * flush is two atomic RMW on shared counters); sampled mode at every
 * sample. API calls flush the calling thread, thread exit flushes too. */
#define EXACT_FLUSH_EVERY 256u

static inline bool
active(void)
{
    return atomic_load_explicit(&pytm_g.active, memory_order_relaxed) != 0;
}

/* Counts one recorded sample of the calling thread. Arena safe (GIL, or
 * RAW lock with the session active). */
static inline void
count_sample(struct pytm_tls *t, int64_t est_size)
{
    t->n_samples++;
    t->bytes_est += est_size;
    if (!pytm_g.exact || t->n_samples >= EXACT_FLUSH_EVERY)
        pytm_threads_flush(t);
}

/* Counts one dropped sample. Arena safe. */
static inline void
count_drop(struct pytm_tls *t)
{
    t->n_dropped++;
    pytm_threads_flush(t);
}

/* Adaptive interval (sampled mode only). When interning a traceback
 * fails because an arena section is full, the record is dropped and
 * counted, and the session's interval is doubled (up to
 * PYTM_SAMPLER_MAX_INTERVAL) -- at most once per ADAPT_GAP_NS and only
 * after ADAPT_DROPS such drops since the previous doubling -- so that
 * fewer new tracebacks reach the full arena. The calling thread redraws
 * its countdown at once; every other thread does on its next slow path
 * (after weighing the sample it was drawing, see follow_interval());
 * new threads start with it. Each sample keeps the weights of the
 * interval its countdown was drawn with, so estimates stay unbiased.
 * Exact mode never adapts: exactness is its contract; it only drops
 * and counts. The arena header's counters.sample_interval_now shows the
 * interval in force. */
#define ADAPT_GAP_NS 1000000u
#define ADAPT_DROPS 64u

static uint64_t
monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A record of the calling thread was dropped because interning failed
 * with `rc`. GIL held, RAW lock NOT held, session active. */
static void
adapt(struct pytm_tls *t, int rc)
{
    if (rc != PYTM_E_FULL || pytm_g.exact ||
        pytm_g.interval_now >= PYTM_SAMPLER_MAX_INTERVAL)
        return;
    if (++pytm_g.adapt_drops < ADAPT_DROPS)
        return;
    uint64_t now = monotonic_ns();
    if (pytm_g.adapt_ns != 0 && now - pytm_g.adapt_ns < ADAPT_GAP_NS)
        return;
    uint64_t next = pytm_g.interval_now * 2;
    if (next > PYTM_SAMPLER_MAX_INTERVAL)
        next = PYTM_SAMPLER_MAX_INTERVAL;
    pytm_raw_lock(); /* interval_now is GIL+RAW */
    pytm_g.interval_now = next;
    pytm_raw_unlock();
    pytm_g.adapt_ns = now;
    pytm_g.adapt_drops = 0;
    /* Relaxed: a statistic for readers, like the other counters. */
    atomic_store_explicit(&pytm_g.hdr->counters.sample_interval_now, next,
                          memory_order_relaxed);
    pytm_sampler_init(&t->sampler, next, t->sampler.rng);
}

/* Sampled mode, after weigh(): when the session's interval changed since
 * this thread drew its countdown, redraws it with the new one (a fresh
 * draw is exact by memorylessness). GIL or RAW lock held. */
static inline void
follow_interval(struct pytm_tls *t)
{
    if (__builtin_expect(t->sampler.interval != pytm_g.interval_now, 0) &&
        !pytm_g.exact)
        pytm_sampler_init(&t->sampler, pytm_g.interval_now, t->sampler.rng);
}

/* pytm_threads_ensure(), then, for a thread joining the session, the
 * sampler drawn with the interval in force and, with PYTM_SEED, a
 * deterministic seed: seed + ordinal * golden ratio (the ordinal counts
 * threads in the order they first record in this session; the sampler
 * mixes the seed through splitmix64). Same preconditions and return as
 * pytm_threads_ensure(). */
static inline bool
ensure(struct pytm_tls *t, bool raw_locked)
{
    if (!pytm_threads_ensure(t, raw_locked))
        return false;
    uint64_t seed = t->sampler.rng; /* random, from threads.c */
    if (pytm_g.seeded) {
        uint32_t k = atomic_fetch_add_explicit(&pytm_g.next_ordinal, 1,
                                               memory_order_relaxed);
        seed = pytm_g.seed + (uint64_t)k * UINT64_C(0x9E3779B97F4A7C15);
    }
    pytm_sampler_init(&t->sampler, pytm_g.interval_now, seed);
    return true;
}

/* The weights of a block that is being recorded (redraws the countdown
 * in sampled mode). */
static inline void
weigh(struct pytm_tls *t, uint64_t size, struct pytm_sample *w)
{
    if (pytm_g.exact) {
        w->est_size = (int64_t)size;
        w->est_count = 1;
        return;
    }
    pytm_sampler_sample(&t->sampler, size, w);
    follow_interval(t);
}

/* ---- MEM / OBJ (GIL) -------------------------------------------------- */

void
pytm_record_alloc_main(struct pytm_tls *t, void *p, uint64_t size)
{
    if (!active()) {
        pytm_sampler_skip(&t->sampler); /* keep the countdown positive */
        return;
    }
    if (ensure(t, false) && !pytm_g.exact &&
        !pytm_sampler_should_sample(&t->sampler, size))
        return; /* fresh countdown for this session: not sampled */
    struct pytm_sample w;
    weigh(t, size, &w);

    pytm_raw_drain();
    uint32_t tb;
    int trc = pytm_tb_current(&tb);
    if (trc < 0) {
        count_drop(t);
        adapt(t, trc);
        return;
    }
    struct pytm_trace_rec rec = {
        .ptr = (uintptr_t)p, .size = size, .est_size = w.est_size,
        .est_count = w.est_count, .tb = tb, .domain = 0};
    struct pytm_trace_rec old;
    int rc = pytm_traces_put(&pytm_g.traces, &rec, &old);
    if (rc < 0) {
        count_drop(t);
        return;
    }
    if (rc == 1) /* a block we missed the free of: replace it */
        pytm_arena_record_free_serial(pytm_g.hdr, &pytm_g.tbs[old.tb],
                                      old.est_size, old.est_count);
    else if (!pytm_g.exact)
        pytm_filter_main_inc(rec.ptr);
    pytm_arena_record_alloc_serial(pytm_g.hdr, &pytm_g.tbs[tb], w.est_size,
                                   w.est_count);
    count_sample(t, w.est_size);
}

void
pytm_record_free_main(void *p)
{
    if (!active())
        return;
    struct pytm_trace_rec old;
    if (!pytm_traces_pop(&pytm_g.traces, (uintptr_t)p, &old))
        return;
    if (!pytm_g.exact)
        pytm_filter_main_dec(old.ptr);
    pytm_raw_drain();
    pytm_arena_record_free_serial(pytm_g.hdr, &pytm_g.tbs[old.tb],
                                  old.est_size, old.est_count);
}

/* ---- RAW (any thread) ------------------------------------------------- */

/* RAW lock held, session active. Aggregate update for a RAW record: now
 * when we hold the GIL (after the queued events, to keep their order),
 * else queued. Returns false when it had to be dropped (queue full). */
static bool
account_raw_locked(bool gil, uint32_t tb, int32_t sign, int64_t est_size,
                   int64_t est_count)
{
    if (gil) {
        pytm_raw_drain_locked();
        if (sign > 0)
            pytm_arena_record_alloc_serial(pytm_g.hdr, &pytm_g.tbs[tb],
                                           est_size, est_count);
        else
            pytm_arena_record_free_serial(pytm_g.hdr, &pytm_g.tbs[tb],
                                          est_size, est_count);
        return true;
    }
    return pytm_raw_push(tb, sign, est_size, est_count) == 0;
}

void
pytm_record_alloc_raw(struct pytm_tls *t, void *p, uint64_t size)
{
    bool gil = pytm_frames_has_gil();
    uint32_t tb = 0;
    bool have_tb = false;
    struct pytm_sample w;

    if (gil) {
        /* GIL holder: the session cannot change under us. */
        if (!active()) {
            pytm_sampler_skip(&t->sampler);
            return;
        }
        if (ensure(t, false) && !pytm_g.exact &&
            !pytm_sampler_should_sample(&t->sampler, size))
            return;
        weigh(t, size, &w);
        int trc = pytm_tb_current(&tb);
        if (trc < 0) {
            count_drop(t);
            adapt(t, trc);
            return;
        }
        have_tb = true;
    }

    pytm_raw_lock();
    if (!active()) {
        pytm_raw_unlock();
        pytm_sampler_skip(&t->sampler);
        return;
    }
    if (!gil) {
        if (ensure(t, true) && !pytm_g.exact &&
            !pytm_sampler_should_sample(&t->sampler, size)) {
            pytm_raw_unlock();
            return;
        }
        weigh(t, size, &w);
    }
    if (!have_tb)
        tb = pytm_g.tb_noframe;

    struct pytm_trace_rec rec = {
        .ptr = (uintptr_t)p, .size = size, .est_size = w.est_size,
        .est_count = w.est_count, .tb = tb, .domain = 0};
    struct pytm_trace_rec old;
    /* Without the GIL both queue entries (a replaced record's free and
     * this alloc) must fit, or nothing is recorded. */
    if (!gil && pytm_raw_room() < 2) {
        count_drop(t);
        pytm_raw_unlock();
        return;
    }
    int rc = pytm_traces_put(&pytm_raw.traces, &rec, &old);
    if (rc < 0) {
        count_drop(t);
        pytm_raw_unlock();
        return;
    }
    if (rc == 1)
        account_raw_locked(gil, old.tb, -1, old.est_size, old.est_count);
    else
        pytm_filter_raw_inc(rec.ptr);
    account_raw_locked(gil, tb, +1, w.est_size, w.est_count);
    count_sample(t, w.est_size);
    pytm_raw_unlock();
}

void
pytm_record_free_raw(void *p)
{
    bool gil = pytm_frames_has_gil();
    struct pytm_trace_rec old;
    pytm_raw_lock();
    if (active() && pytm_traces_pop(&pytm_raw.traces, (uintptr_t)p, &old)) {
        pytm_filter_raw_dec(old.ptr);
        if (!account_raw_locked(gil, old.tb, -1, old.est_size, old.est_count))
            pytm_arena_count(pytm_g.arena, 0, 0, 1); /* lost update */
    }
    pytm_raw_unlock();
}

bool
pytm_record_raw_take(void *p, struct pytm_trace_rec *old, uint32_t *epoch)
{
    bool found = false;
    pytm_raw_lock();
    if (active() && pytm_traces_pop(&pytm_raw.traces, (uintptr_t)p, old)) {
        pytm_filter_raw_dec(old->ptr);
        *epoch = pytm_raw.epoch;
        found = true;
    }
    pytm_raw_unlock();
    return found;
}

void
pytm_record_raw_untake(const struct pytm_trace_rec *old, uint32_t epoch)
{
    struct pytm_trace_rec dup;
    pytm_raw_lock();
    if (active() && epoch == pytm_raw.epoch) {
        /* p is still ours, so no other record for it can exist; the put
         * only fails if the table had to grow and could not (then the
         * block is forgotten: its aggregates stay, a bounded skew). */
        if (pytm_traces_put(&pytm_raw.traces, old, &dup) == 0)
            pytm_filter_raw_inc(old->ptr);
    }
    pytm_raw_unlock();
}

void
pytm_record_raw_account_free(const struct pytm_trace_rec *old, uint32_t epoch)
{
    bool gil = pytm_frames_has_gil();
    pytm_raw_lock();
    if (active() && epoch == pytm_raw.epoch) {
        if (!account_raw_locked(gil, old->tb, -1, old->est_size,
                                old->est_count))
            pytm_arena_count(pytm_g.arena, 0, 0, 1);
    }
    pytm_raw_unlock();
}
