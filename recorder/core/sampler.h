/* recorder/core/sampler: Poisson sampling by bytes.
 *
 * Every byte allocated is "hit" independently with probability 1/I
 * (I = mean sampling interval in bytes). An allocation is recorded when
 * at least one of its bytes is hit, i.e. with probability
 *     q(s) = 1 - exp(-s / I)
 * and then carries the Horvitz-Thompson weights s/q(s) bytes and 1/q(s)
 * blocks, which makes the sum over recorded blocks an unbiased estimate
 * of live bytes and live blocks. Weights are rounded to integers by
 * unbiased stochastic rounding so that aggregates stay integral and
 * alloc/free pairs cancel exactly. docs/sampling.md derives the error.
 *
 * Implementation: a per-thread countdown of bytes to the next hit, drawn
 * from Exp(mean I). The hot path is `left -= size; if (left > 0)`, inlined
 * below; only a crossing calls pytm_sampler_sample(), which redraws
 * (memorylessness makes a fresh draw exact) and computes the weights.
 * I == 1 is exact mode: every allocation (size 0 included) is recorded
 * with weights (size, 1).
 *
 * Thread-safety: a struct pytm_sampler belongs to one thread (it lives in
 * that thread's TLS); no function here touches shared state. Not
 * async-signal-safe only in that a signal handler allocating on the same
 * thread may interleave with the owner's update of `left`: the worst case
 * is one mis-sized countdown, never a crash.
 */
#ifndef PYTM_RECORDER_SAMPLER_H
#define PYTM_RECORDER_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

/* Largest interval honoured; larger values are clamped to it. Keeps
 * every countdown (at most ~37 * I) and every weight (at most size + I)
 * far inside int64_t. */
#define PYTM_SAMPLER_MAX_INTERVAL (UINT64_C(1) << 40)

/* Zero-initialised state is valid and means "not initialised yet": with
 * left == 0 and interval == 0, should_sample() returns true for every size
 * (0 included), and pytm_sampler_sample()/pytm_sampler_skip() treat
 * interval 0 like exact mode (weights (size, 1), left stays 0). TLS starts
 * zeroed, so the recorder can call pytm_sampler_init() lazily on its slow
 * path and never miss or mis-weight an allocation. */
struct pytm_sampler {
    int64_t left;        /* bytes until the next hit; <= 0 means sample */
    uint64_t interval;   /* I; 1 = exact, 0 = not initialised (exact) */
    uint64_t rng;        /* xorshift64* state, never 0 once seeded */
};

/* Weights of one recorded allocation. */
struct pytm_sample {
    int64_t est_size;  /* bytes this block stands for */
    int64_t est_count; /* blocks this block stands for */
};

/* Initialises *s for mean interval `interval` (>= 1; 0 is treated as 1,
 * values above PYTM_SAMPLER_MAX_INTERVAL are clamped) with a seed (any
 * value: it is mixed through splitmix64, so nearby seeds such as thread
 * ids give unrelated streams, and a zero state is impossible). Draws the
 * first countdown (>= 1 bytes, or 0 in exact mode). Cannot fail. */
void pytm_sampler_init(struct pytm_sampler *s, uint64_t interval,
                       uint64_t seed);

/* Hot path: true when an allocation of `size` bytes must be recorded.
 * A decrement and a test; calls nothing when it returns false.
 * Preconditions: size <= INT64_MAX (CPython refuses requests above
 * PY_SSIZE_T_MAX anyway), and after a true return the caller calls
 * pytm_sampler_sample(), pytm_sampler_skip() or pytm_sampler_init()
 * before the next should_sample(), so `left` never runs away negative. */
static inline bool
pytm_sampler_should_sample(struct pytm_sampler *s, uint64_t size)
{
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
    /* One `sub` on the TLS operand, its flags read by the branch: gcc
     * would load, subtract, store and test again (5 instructions). "le"
     * after `sub size, left` is the signed left <= size, i.e. the new
     * left <= 0, with no overflow to care about. */
    bool crossed;
    __asm__("subq %2, %0"
            : "+m"(s->left), "=@ccle"(crossed)
            : "r"((int64_t)size));
    return __builtin_expect(crossed, 0);
#else
    s->left -= (int64_t)size;
    return __builtin_expect(s->left <= 0, 0);
#endif
}

/* Slow path, after should_sample returned true: fills *out with the
 * weights for a block of `size` bytes and redraws the countdown.
 * Weights are always >= (size, 1), so a recorded block never stands for
 * less than itself; their expectations are size/q and 1/q.
 * In exact mode (interval 1, or 0 = never initialised) sets *out to
 * (size, 1) and left to 0 so every call samples. Cannot fail. */
void pytm_sampler_sample(struct pytm_sampler *s, uint64_t size,
                         struct pytm_sample *out);

/* Skip without recording (reentrant call, drop): redraws the countdown
 * so the next allocations are sampled with the right probability. */
void pytm_sampler_skip(struct pytm_sampler *s);

/* Probability that a block of `size` bytes is recorded at `interval`:
 * 1 when interval <= 1 (exact), else 1 - exp(-size / I) with I clamped
 * to PYTM_SAMPLER_MAX_INTERVAL (so 0 for size 0). */
double pytm_sampler_probability(uint64_t interval, uint64_t size);

/* One draw from Exp(mean `mean`) using and advancing *rng (a zero state
 * is first remapped through splitmix64). Result is in [0, 36.8 * mean]:
 * -mean * log(u) with u uniform on (0, 1] in steps of 2^-53. For tests. */
double pytm_sampler_exp(uint64_t *rng, double mean);

#endif /* PYTM_RECORDER_SAMPLER_H */
