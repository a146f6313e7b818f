/* recorder/core/sampler: Poisson sampling by bytes (see sampler.h for the
 * contract and docs/sampling.md for the estimator and its error).
 *
 * Countdown. The bytes a thread allocates form one long line; each byte
 * is hit independently with probability 1/I, which in the limit is a
 * Poisson process of rate 1/I. The distance X to the next hit is
 * Exp(mean I), and we keep left = max(1, ceil(X)). An allocation of s
 * bytes (s an integer) is sampled when s >= left, i.e. when X <= s,
 * which has probability 1 - exp(-s/I) = q(s). When it is not sampled,
 * left - s = ceil(X - s) and X - s given X > s is again Exp(mean I)
 * (memorylessness), so the next allocation sees the same law without any
 * bookkeeping. When it is sampled, further hits inside the same block do
 * not matter and a fresh draw is exact for the bytes that follow. The
 * max(1, .) only bites when u == 1 exactly (probability 2^-53) and keeps
 * size-0 allocations from ever being sampled outside exact mode, as
 * q(0) = 0 says.
 *
 * Weights. With x = s/I, 1/q - 1 = 1/expm1(x) and s/q - s = s/expm1(x).
 * We return s + R(s/expm1(x)) and 1 + R(1/expm1(x)) where R is unbiased
 * stochastic rounding (floor + Bernoulli(fraction)). Hence the integer
 * part `size` is carried exactly even where a double cannot hold it,
 * the weights are never below (size, 1), and the rounded extras are
 * bounded: s/expm1(x) = I * x/(e^x - 1) <= I and 1/expm1(x) <= I.
 * With I <= 2^40 no value comes near int64_t limits.
 *
 * Cost. This runs once per sample, so it is written for instructions:
 * no libm (fastmath.h: the log of the countdown and x/expm1(x) by short
 * series, exp(-x) only for blocks above I), and one 64-bit uniform drives both roundings (its two 32-bit halves:
 * each rounding stays unbiased to 2^-32, and the two need not be
 * independent for either estimate to be unbiased). Two draws per sample
 * in all, where there were three and two libm calls.
 */
#include "sampler.h"

#include <stdint.h>

#include "fastmath.h"

/* splitmix64 finaliser: a bijection on uint64_t with good avalanche, used
 * to turn any seed into a well-mixed xorshift state. */
static uint64_t
splitmix64(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

/* A non-zero xorshift64* state from any seed. splitmix64 is a bijection,
 * so exactly one seed maps to 0; give that one a fixed odd constant. */
static uint64_t
seed_state(uint64_t seed)
{
    uint64_t st = splitmix64(seed);
    return st != 0 ? st : UINT64_C(0x9E3779B97F4A7C15);
}

/* xorshift64* (Vigna 2016): period 2^64 - 1 over non-zero states; the
 * multiply fixes the weak low bits of plain xorshift. */
static uint64_t
rng_next(uint64_t *st)
{
    uint64_t x = *st;
    if (x == 0)
        x = seed_state(0);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *st = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

static uint64_t
clamp_interval(uint64_t interval)
{
    return interval > PYTM_SAMPLER_MAX_INTERVAL ? PYTM_SAMPLER_MAX_INTERVAL
                                                : interval;
}

double
pytm_sampler_exp(uint64_t *rng, double mean)
{
    /* u in (0, 1]: log(u) is finite and <= 0, the draw is in
     * [0, 53 * ln 2 * mean] = [0, ~36.74 * mean]. */
    double u = (double)((rng_next(rng) >> 11) + 1) * 0x1.0p-53;
    return -mean * pytm_fm_log(u);
}

/* Countdown for the next hit, in whole bytes, >= 1 (0 in exact mode). */
static int64_t
draw_left(struct pytm_sampler *s)
{
    if (s->interval <= 1)
        return 0;
    double x = pytm_sampler_exp(&s->rng, (double)s->interval);
    /* 0 <= x <= ~36.74 * 2^40 < 2^46: the conversion is exact and in
     * range; truncation + 1 is ceil(x) except at integers (probability
     * 0 for a continuous draw), and is >= 1 as it must be. */
    return (int64_t)x + 1;
}

/* Unbiased stochastic rounding of v (0 <= v < 2^52) with a 32-bit
 * uniform u32: floor(v) + 1 when u32 < frac(v) * 2^32, so E[result] =
 * v to within 2^-32. */
static int64_t
round_stochastic(uint32_t u32, double v)
{
    int64_t r = (int64_t)v; /* floor, v >= 0 */
    double frac = v - (double)r;
    if ((double)u32 < frac * 0x1.0p32)
        r += 1;
    return r;
}

void
pytm_sampler_init(struct pytm_sampler *s, uint64_t interval, uint64_t seed)
{
    s->interval = interval == 0 ? 1 : clamp_interval(interval);
    s->rng = seed_state(seed);
    s->left = draw_left(s);
}

void
pytm_sampler_sample(struct pytm_sampler *s, uint64_t size,
                    struct pytm_sample *out)
{
    /* size <= INT64_MAX is a precondition; saturate rather than wrap if a
     * caller breaks it. */
    int64_t base = size > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)size;

    out->est_size = base;
    out->est_count = 1;
    if (s->interval <= 1) {
        s->left = 0; /* exact (or never initialised): sample everything */
        return;
    }
    s->left = draw_left(s);
    if (size == 0)
        return; /* q(0) = 0: unreachable with a valid countdown */

    double mean = (double)s->interval;
    double x = (double)size / mean;
    double extra_size, extra_count;
    if (x <= 1.0) {
        /* s/expm1(x) = I * x/expm1(x); 1/expm1(x) = that / s */
        extra_size = mean * pytm_fm_bernoulli(x);
        extra_count = extra_size / (double)size;
    }
    else {
        /* 1/expm1(x) = e^-x / (1 - e^-x); 0 once e^-x underflows, and
         * q == 1 to double precision well before that */
        double en = pytm_fm_exp_neg(x);
        extra_count = en / (1.0 - en);
        extra_size = (double)size * extra_count;
    }
    if (!(extra_size > 0.0))
        return;
    uint64_t r = rng_next(&s->rng);
    int64_t es = round_stochastic((uint32_t)(r >> 32), extra_size);
    int64_t ec = round_stochastic((uint32_t)r, extra_count);
    /* es <= I + 1 <= 2^40 + 1; base + es overflows only if size is within
     * 2^41 of INT64_MAX, where x > 2^22 and es is 0 anyway. Belt and
     * braces: saturate. */
    out->est_size = base > INT64_MAX - es ? INT64_MAX : base + es;
    out->est_count = 1 + ec;
}

void
pytm_sampler_skip(struct pytm_sampler *s)
{
    s->left = draw_left(s);
}

double
pytm_sampler_probability(uint64_t interval, uint64_t size)
{
    interval = clamp_interval(interval);
    if (interval <= 1)
        return 1.0;
    double x = (double)size / (double)interval;
    if (x <= 1.0) /* 1 - e^-x = e^-x expm1(x), without the cancellation */
        return pytm_fm_exp_neg(x) * x / pytm_fm_bernoulli(x);
    return 1.0 - pytm_fm_exp_neg(x);
}
