/* recorder/core/policy: the sampling policy (see policy.h). */
#define _GNU_SOURCE
#include "policy.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pytm_clock.h"
#include "pytm_error.h"
#include "rawside.h"
#include "session.h"

/* Adaptation limits (pytm_policy_dropped). */
#define ADAPT_GAP_NS 1000000u
#define ADAPT_DROPS 64u

/* Seeds of consecutive thread ordinals are spread by the golden ratio;
 * the sampler mixes every seed through splitmix64 anyway. */
#define GOLDEN UINT64_C(0x9E3779B97F4A7C15)

void
pytm_policy_init(struct pytm_policy *p, uint64_t interval, bool seeded,
                 uint64_t seed, _Atomic uint64_t *published)
{
    p->exact = interval == 1;
    p->seeded = seeded;
    p->seed = seed;
    p->interval = interval;
    p->interval_now = interval;
    p->adapt_ns = 0;
    p->adapt_drops = 0;
    atomic_store_explicit(&p->next_ordinal, 0, memory_order_relaxed);
    p->published = published;
}

/* A seed nobody else draws: thread id, time and the TLS address. */
static uint64_t
random_seed(const struct pytm_tls *t)
{
    return (uint64_t)syscall(SYS_gettid) * GOLDEN ^
           pytm_clock_ns(CLOCK_MONOTONIC) ^ (uint64_t)(uintptr_t)t;
}

void
pytm_policy_join(struct pytm_session *s, struct pytm_tls *t, bool raw_locked)
{
    pytm_threads_join(s, t, raw_locked);
    struct pytm_policy *p = &s->policy;
    uint64_t seed;
    if (p->seeded) {
        uint32_t k = atomic_fetch_add_explicit(&p->next_ordinal, 1,
                                               memory_order_relaxed);
        seed = p->seed + (uint64_t)k * GOLDEN;
    }
    else {
        seed = random_seed(t);
    }
    pytm_sampler_init(&t->sampler, p->interval_now, seed);
}

void
pytm_policy_dropped(struct pytm_session *s, struct pytm_tls *t, int rc)
{
    struct pytm_policy *p = &s->policy;
    if (rc != PYTM_E_FULL || p->exact ||
        p->interval_now >= PYTM_SAMPLER_MAX_INTERVAL)
        return;
    if (++p->adapt_drops < ADAPT_DROPS)
        return;
    uint64_t now = pytm_clock_ns(CLOCK_MONOTONIC);
    if (p->adapt_ns != 0 && now - p->adapt_ns < ADAPT_GAP_NS)
        return;
    uint64_t next = p->interval_now * 2;
    if (next > PYTM_SAMPLER_MAX_INTERVAL)
        next = PYTM_SAMPLER_MAX_INTERVAL;
    pytm_raw_lock(); /* interval_now is GIL+RAW */
    p->interval_now = next;
    pytm_raw_unlock();
    p->adapt_ns = now;
    p->adapt_drops = 0;
    /* Relaxed: a statistic for readers, like the other counters. */
    atomic_store_explicit(p->published, next, memory_order_relaxed);
    pytm_policy_countdown_take_(t); /* inside the slow path: parked */
    pytm_sampler_init(&t->sampler, next, t->sampler.rng);
    pytm_policy_countdown_park_(t);
}
