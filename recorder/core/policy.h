/* recorder/core/policy: the sampling policy -- which allocations are
 * recorded, with what weights, at what interval, from which seed.
 *
 * The one owner of those decisions. The sampler (sampler.h) is the
 * mechanism (a per-thread countdown and the Horvitz-Thompson weights);
 * this module says how it is driven:
 *   - interval: the one given to start(); `interval_now` is the one new
 *     countdowns are drawn with, equal to it until a full arena makes
 *     sampled mode back off (pytm_policy_dropped doubles it);
 *   - exact mode (interval 1): every allocation, weights (size, 1),
 *     never adapts;
 *   - seeding: a thread joining a session draws its first countdown
 *     from a random seed, or, with PYTM_SEED, from seed + ordinal so
 *     that a run can be repeated;
 *   - the decision: the hooks' fast path only runs the countdown
 *     (pytm_policy_crossed); when it crosses, pytm_policy_decide is the
 *     one place that says "record" and computes the weights.
 *
 * State: struct pytm_policy, the session's `policy` field (defined in
 * session.h with the rest of the session, each field labelled with what
 * protects it); this module makes every write to it. A struct pytm_tls
 * is its own thread's.

 *
 * Parking. Every function below but pytm_policy_crossed runs inside a
 * hook's slow path, whose countdown is parked (threads.h, PARKING): the
 * thread's real countdown is then t->resume. They move it back into the
 * sampler for the sampler's own functions and park again before any
 * code that could allocate runs (countdown_take/countdown_park).
 */
#ifndef PYTM_RECORDER_POLICY_H
#define PYTM_RECORDER_POLICY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sampler.h"
#include "session.h"
#include "threads.h"

/* Default mean sampling interval in bytes (start(sample_interval=...)).
 * Rule: the smallest interval whose overhead is within 1 percentage
 * point of the fast-path floor (a huge interval: nothing sampled) on
 * both bench/quick_overhead.py workloads, counted in instructions under
 * callgrind (deterministic). Smaller is more accurate (a line holding S
 * bytes is good to about sqrt(I/S)). Measured (docs/sampling.md, "The
 * default interval"): alloc loop +9.2/+8.3/+7.9/+7.6/+7.5% at
 * 4/8/16/32/64 KiB vs a +7.4% floor; mixed stdlib +5.2/+4.1/+3.6/+3.2/
 * +3.1% vs +2.7%. 8 KiB passes alloc but not mixed; 16 KiB passes both. */
#define PYTM_DEFAULT_SAMPLE_INTERVAL (16u * 1024u)

/* Sets *p up for a new session: interval >= 1 (1 = exact), an optional
 * fixed seed, and the arena counter that shows interval_now. Caller
 * holds the GIL and the RAW lock (start()). */
void pytm_policy_init(struct pytm_policy *p, uint64_t interval, bool seeded,
                      uint64_t seed, _Atomic uint64_t *published);

/* Fast path of a sampled-mode hook: runs the thread's countdown for an
 * allocation of `size` bytes. False: not recorded, nothing else to do.
 * True: call pytm_policy_decide (or pytm_policy_skip when the call is
 * not to be recorded after all). A zeroed or stale countdown crosses. */
static inline bool
pytm_policy_crossed(struct pytm_tls *t, uint64_t size)
{
    return pytm_sampler_should_sample(&t->sampler, size);
}

/* Inside a slow path: the real countdown back into the sampler, for
 * sampler calls that allocate nothing... */
static inline void
pytm_policy_countdown_take_(struct pytm_tls *t)
{
    t->sampler.left = t->resume;
}

/* ...and parked again, before anything that may allocate. */
static inline void
pytm_policy_countdown_park_(struct pytm_tls *t)
{
    t->resume = t->sampler.left;
    t->sampler.left = PYTM_PARKED;
}

/* Joins thread t to session s (t->gen != s->gen), working on t->sampler
 * as it is (pytm_policy_decide takes it out of parking): threads.c gives it a
 * slot and a registry entry, then its sampler is drawn with interval_now
 * from seed + ordinal (PYTM_SEED; the ordinal counts threads in the
 * order they first record in this session) or from a random seed.
 * Same preconditions as pytm_policy_decide. policy.c. */
void pytm_policy_join(struct pytm_session *s, struct pytm_tls *t,
                      bool raw_locked);

/* Weighs a block of `size` bytes for a decided sample in sampled mode:
 * fills *w and redraws the countdown; then, when the interval changed
 * since t drew its countdown, redraws with the new one (a fresh draw is
 * exact by memorylessness). Works on t->sampler as it is (the caller
 * has taken the countdown out of its parking). */
static inline void
pytm_policy_weigh(const struct pytm_policy *p, struct pytm_tls *t,
                  uint64_t size, struct pytm_sample *w)
{
    pytm_sampler_sample(&t->sampler, size, w);
    if (__builtin_expect(t->sampler.interval != p->interval_now, 0))
        pytm_sampler_init(&t->sampler, p->interval_now, t->sampler.rng);
}

/* The decision, after the countdown crossed (always, in exact mode) for
 * an allocation of `size` bytes that succeeded, inside the slow path: brings the thread into
 * session s when it is not (pytm_policy_join) -- a crossing that came
 * from another session's countdown (or a zeroed one) is then decided
 * afresh -- and, when the block is to be recorded, fills *w with its
 * weights, redraws the countdown and returns true.
 * Inline: this runs for every recorded block (all of them in exact
 * mode); its rare parts are out of line.
 * Preconditions: session s active for the whole call; the caller holds
 * the GIL (raw_locked false) or the RAW lock (raw_locked true). */
static inline bool
pytm_policy_decide(struct pytm_session *s, struct pytm_tls *t, uint64_t size,
                   bool raw_locked, struct pytm_sample *w)
{
    struct pytm_policy *p = &s->policy;
    if (__builtin_expect(t->gen != s->gen, 0)) {
        /* joining draws a countdown; it allocates through no hook */
        pytm_policy_countdown_take_(t);
        pytm_policy_join(s, t, raw_locked);
        bool again = p->exact ||
                     pytm_sampler_should_sample(&t->sampler, size);
        pytm_policy_countdown_park_(t);
        if (!again)
            return false;
    }
    if (p->exact) {
        w->est_size = (int64_t)size;
        w->est_count = 1;
    }
    else {
        pytm_policy_countdown_take_(t);
        pytm_policy_weigh(p, t, size, w);
        pytm_policy_countdown_park_(t);
    }
    /* n_allocs is an estimate built at samples (the fast path counts
     * nothing): E[sum of est_count] is the number of allocations. */
    t->n_allocs += (uint64_t)w->est_count;
    return true;
}

/* The countdown crossed but nothing is recorded (the allocation failed,
 * or no session is active): redraws it so that the next allocations are
 * sampled with the right probability. Owner thread, inside the slow
 * path. */
static inline void
pytm_policy_skip(struct pytm_tls *t)
{
    pytm_policy_countdown_take_(t);
    pytm_sampler_skip(&t->sampler);
    pytm_policy_countdown_park_(t);
}

/* A record of thread t was dropped because interning its traceback
 * failed with rc. In sampled mode, PYTM_E_FULL drops double interval_now
 * (up to PYTM_SAMPLER_MAX_INTERVAL), at most once per millisecond and
 * after 64 such drops since the last doubling, so that fewer new
 * tracebacks reach the full arena; t redraws at once, other threads on
 * their next decision, new threads start with it. Every sample keeps the
 * weights of the interval its countdown was drawn with, so estimates
 * stay unbiased. Exact mode never adapts (exactness is its contract).
 * GIL held, RAW lock NOT held, session active. */
void pytm_policy_dropped(struct pytm_session *s, struct pytm_tls *t, int rc);

#endif /* PYTM_RECORDER_POLICY_H */
