/* recorder/core/record: record and forget blocks (see record.h and the
 * concurrency design at the top of hooks.c). */
#include "record.h"

#include "arena.h"
#include "frames.h"
#include "policy.h"
#include "pytm_error.h"
#include "rawside.h"
#include "sampler.h"
#include "session.h"
#include "threads.h"
#include "tracebacks.h"

/* Threads flush their counters every this many samples: a flush is
 * about 86 instructions (atomic adds on the thread's slot and on the
 * header, and a clock read for the heartbeat), which at every sample was
 * a tenth of sampled mode's slow path (callgrind, bench steady). The
 * counters flushed are the per-thread and total allocation counts, not
 * traced memory, which every record updates at once. API calls flush the
 * calling thread, thread exit flushes too. */
#define EXACT_FLUSH_EVERY 256u
#define SAMPLED_FLUSH_EVERY 16u

static inline bool
active(const struct pytm_session *s)
{
    return atomic_load_explicit(&s->active, memory_order_relaxed) != 0;
}

/* Counts one recorded sample of the calling thread. Arena safe (GIL, or
 * RAW lock with the session active). */
static inline void
count_sample(struct pytm_session *s, struct pytm_tls *t, int64_t est_size)
{
    t->n_samples++;
    t->bytes_est += est_size;
    if (t->n_samples >= (s->policy.exact ? EXACT_FLUSH_EVERY
                                         : SAMPLED_FLUSH_EVERY))
        pytm_threads_flush(s, t);
}

/* Counts one dropped sample. Arena safe. */
static inline void
count_drop(struct pytm_session *s, struct pytm_tls *t)
{
    t->n_dropped++;
    pytm_threads_flush(s, t);
}

/* ---- MEM / OBJ (GIL) -------------------------------------------------- */

void
pytm_record_alloc_main(struct pytm_session *s, struct pytm_tls *t, void *p,
                       uint64_t size)
{
    /* 3.12+: a sub-interpreter's hooks run under its own GIL, not the
     * one that protects our tables: its blocks pass through untraced
     * (hooks.c, "Sub-interpreters"). */
    if (!active(s) || !pytm_frames_in_main_interp()) {
        pytm_policy_skip(t); /* keep the countdown positive */
        return;
    }
    struct pytm_sample w;
    if (!pytm_policy_decide(s, t, size, false, &w))
        return;

    pytm_raw_drain(s);
    uint32_t tb;
    int trc = pytm_tb_current(s, &tb);
    if (trc < 0) {
        count_drop(s, t);
        pytm_policy_dropped(s, t, trc);
        return;
    }
    struct pytm_trace_rec rec = {
        .ptr = (uintptr_t)p, .size = size, .est_size = w.est_size,
        .est_count = w.est_count, .tb = tb, .domain = 0};
    struct pytm_trace_rec old;
    int rc = pytm_traces_put(&s->traces, &rec, &old);
    if (rc < 0) {
        count_drop(s, t);
        return;
    }
    if (rc == 1) /* a block we missed the free of: replace it */
        pytm_arena_record_free_serial(s->hdr, &s->tbs[old.tb], old.est_size,
                                      old.est_count);
    else if (!s->policy.exact)
        pytm_filter_main_inc(rec.ptr);
    pytm_arena_record_alloc_serial(s->hdr, &s->tbs[tb], w.est_size,
                                   w.est_count);
    s->last_main_alloc = rec.ptr;
    count_sample(s, t, w.est_size);
}

void
pytm_record_free_main(struct pytm_session *s, void *p)
{
    /* A sub-interpreter never had its blocks recorded, and may not touch
     * the table under its own GIL. */
    if (!active(s) || !pytm_frames_in_main_interp())
        return;
    struct pytm_trace_rec old;
    if (!pytm_traces_pop(&s->traces, (uintptr_t)p, &old))
        return;
    if (!s->policy.exact)
        pytm_filter_main_dec(old.ptr);
    pytm_raw_drain(s);
    pytm_arena_record_free_serial(s->hdr, &s->tbs[old.tb], old.est_size,
                                  old.est_count);
}

/* ---- RAW (any thread) ------------------------------------------------- */

/* RAW lock held, session active. Aggregate update for a RAW record: now
 * when we hold the GIL (after the queued events, to keep their order),
 * else queued. Returns false when it had to be dropped (queue full). */
static bool
account_raw_locked(struct pytm_session *s, bool gil, uint32_t tb,
                   int32_t sign, int64_t est_size, int64_t est_count)
{
    if (gil) {
        pytm_raw_drain_locked(s);
        if (sign > 0)
            pytm_arena_record_alloc_serial(s->hdr, &s->tbs[tb], est_size,
                                           est_count);
        else
            pytm_arena_record_free_serial(s->hdr, &s->tbs[tb], est_size,
                                          est_count);
        return true;
    }
    return pytm_raw_push(tb, sign, est_size, est_count) == 0;
}

void
pytm_record_alloc_raw(struct pytm_session *s, struct pytm_tls *t, void *p,
                      uint64_t size)
{
    bool gil = pytm_frames_has_gil();
    uint32_t tb = 0;
    bool have_tb = false;
    struct pytm_sample w;

    if (gil) {
        /* GIL holder: the session cannot change under us. */
        if (!active(s)) {
            pytm_policy_skip(t);
            return;
        }
        if (!pytm_policy_decide(s, t, size, false, &w))
            return;
        int trc = pytm_tb_current(s, &tb);
        if (trc < 0) {
            count_drop(s, t);
            pytm_policy_dropped(s, t, trc);
            return;
        }
        have_tb = true;
    }

    pytm_raw_lock();
    if (!active(s)) {
        pytm_raw_unlock();
        pytm_policy_skip(t);
        return;
    }
    if (!gil && !pytm_policy_decide(s, t, size, true, &w)) {
        pytm_raw_unlock();
        return;
    }
    if (!have_tb)
        tb = s->tb_noframe;

    struct pytm_trace_rec rec = {
        .ptr = (uintptr_t)p, .size = size, .est_size = w.est_size,
        .est_count = w.est_count, .tb = tb, .domain = 0};
    struct pytm_trace_rec old;
    /* Without the GIL both queue entries (a replaced record's free and
     * this alloc) must fit, or nothing is recorded. */
    if (!gil && pytm_raw_room() < 2) {
        count_drop(s, t);
        pytm_raw_unlock();
        return;
    }
    int rc = pytm_traces_put(&pytm_raw.traces, &rec, &old);
    if (rc < 0) {
        count_drop(s, t);
        pytm_raw_unlock();
        return;
    }
    if (rc == 1)
        account_raw_locked(s, gil, old.tb, -1, old.est_size, old.est_count);
    else
        pytm_filter_raw_inc(rec.ptr);
    account_raw_locked(s, gil, tb, +1, w.est_size, w.est_count);
    count_sample(s, t, w.est_size);
    pytm_raw_unlock();
}

void
pytm_record_free_raw(struct pytm_session *s, void *p)
{
    bool gil = pytm_frames_has_gil();
    struct pytm_trace_rec old;
    pytm_raw_lock();
    if (active(s) && pytm_traces_pop(&pytm_raw.traces, (uintptr_t)p, &old)) {
        pytm_filter_raw_dec(old.ptr);
        if (!account_raw_locked(s, gil, old.tb, -1, old.est_size,
                                old.est_count))
            pytm_arena_count(s->arena, 0, 0, 1); /* lost update */
    }
    pytm_raw_unlock();
}

bool
pytm_record_raw_take(struct pytm_session *s, void *p,
                     struct pytm_trace_rec *old, uint32_t *epoch)
{
    bool found = false;
    pytm_raw_lock();
    if (active(s) && pytm_traces_pop(&pytm_raw.traces, (uintptr_t)p, old)) {
        pytm_filter_raw_dec(old->ptr);
        *epoch = pytm_raw.epoch;
        found = true;
    }
    pytm_raw_unlock();
    return found;
}

void
pytm_record_raw_untake(struct pytm_session *s, const struct pytm_trace_rec *old,
                       uint32_t epoch)
{
    struct pytm_trace_rec dup;
    pytm_raw_lock();
    if (active(s) && epoch == pytm_raw.epoch) {
        /* p is still ours, so no other record for it can exist; the put
         * only fails if the table had to grow and could not (then the
         * block is forgotten: its aggregates stay, a bounded skew). */
        if (pytm_traces_put(&pytm_raw.traces, old, &dup) == 0)
            pytm_filter_raw_inc(old->ptr);
    }
    pytm_raw_unlock();
}

void
pytm_record_raw_account_free(struct pytm_session *s,
                             const struct pytm_trace_rec *old, uint32_t epoch)
{
    bool gil = pytm_frames_has_gil();
    pytm_raw_lock();
    if (active(s) && epoch == pytm_raw.epoch) {
        if (!account_raw_locked(s, gil, old->tb, -1, old->est_size,
                                old->est_count))
            pytm_arena_count(s->arena, 0, 0, 1);
    }
    pytm_raw_unlock();
}
