/* Unit tests for recorder/sampler: Poisson sampling by bytes.
 *
 * Every statistical assertion is sized so that it cannot flap: the test
 * computes the theoretical standard error (SE) of the quantity from the
 * very allocations it generated, first asserts that the tolerance is at
 * least 4.5 SE (a check on the test's own design; two-sided P(|Z| > 4.5)
 * is about 7e-6), and only then compares. All seeds are fixed, so a run
 * is deterministic anyway; the SE margin is what makes the test survive a
 * change of seed or of RNG. The negative controls at the end prove that
 * the same tolerances would reject a biased estimator.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "recorder/core/fastmath.h"
#include "recorder/core/sampler.h"

#define KIB UINT64_C(1024)
#define MIB (KIB * KIB)
#define MIN_Z 4.5 /* tolerance must be at least this many SE */

struct fixture {
    struct pytm_sampler s;
    uint64_t gen; /* state of the synthetic-workload generator */
};

static int
setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->gen = 0x5EED0001u;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    test_free(*state);
    return 0;
}

/* ---- synthetic workload (independent of the sampler's own RNG) ------- */

static uint64_t
gen_next(uint64_t *g)
{
    uint64_t z = (*g += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double
gen_unit(uint64_t *g)
{
    return (double)(gen_next(g) >> 11) * 0x1.0p-53;
}

static uint64_t
gen_log_uniform(uint64_t *g, double lo, double hi)
{
    return (uint64_t)llround(lo * exp(gen_unit(g) * log(hi / lo)));
}

/* 70% uniform 16..64 B, 25% log-uniform 64 B..4 KiB, 5% log-uniform
 * 4 KiB..1 MiB: many small objects, most bytes in a few big buffers. */
static uint64_t
gen_mixed_size(uint64_t *g)
{
    double u = gen_unit(g);
    if (u < 0.70)
        return 16 + gen_next(g) % 49;
    if (u < 0.95)
        return gen_log_uniform(g, 64, 4096);
    return gen_log_uniform(g, 4096, 1048576);
}

/* ---- the estimator over a workload ------------------------------------ */

struct mix_result {
    double true_size, true_count;
    double est_size, est_count;   /* Horvitz-Thompson, as returned */
    double var_size, var_count;   /* theoretical variance of est_* */
    double raw_size, raw_count;   /* negative control: no 1/q correction */
    double per_hit_size;          /* negative control: I bytes per sample */
};

/* Runs n synthetic allocations through the sampler exactly as the
 * recorder does (should_sample, then sample on the slow path) and sums
 * the truth, the estimates and the theoretical variances:
 *   Var[est size]  = sum s^2 (1-q)/q = sum s^2 / expm1(s/I)
 *   Var[est count] = sum (1-q)/q     = sum 1 / expm1(s/I)
 * plus at most 1/4 per sample for each stochastic rounding (Bernoulli
 * variance), bounded here by 1/4 * sum q. */
static void
run_mix(struct fixture *f, uint64_t interval, uint64_t seed, long n,
        struct mix_result *r)
{
    memset(r, 0, sizeof *r);
    pytm_sampler_init(&f->s, interval, seed);
    for (long i = 0; i < n; i++) {
        uint64_t size = gen_mixed_size(&f->gen);
        double s = (double)size, em1 = expm1(s / (double)interval);
        double q = pytm_sampler_probability(interval, size);
        r->true_size += s;
        r->true_count += 1;
        r->var_size += s * s / em1 + 0.25 * q;
        r->var_count += 1.0 / em1 + 0.25 * q;
        if (pytm_sampler_should_sample(&f->s, size)) {
            struct pytm_sample w;
            pytm_sampler_sample(&f->s, size, &w);
            assert_true(w.est_size >= (int64_t)size);
            assert_true(w.est_count >= 1);
            r->est_size += (double)w.est_size;
            r->est_count += (double)w.est_count;
            r->raw_size += s;
            r->raw_count += 1;
            r->per_hit_size += (double)interval;
        }
    }
}

/* Asserts |est - truth| <= tol * truth, after asserting the design
 * condition tol * truth >= MIN_Z * SE. */
static void
assert_close(const char *what, double est, double truth, double var,
             double tol)
{
    double se = sqrt(var), err = est - truth;
    print_message("  %-22s truth %.4g  est %.4g  rel err %+.3f%%  "
                  "SE %.3f%%  z %+.2f  (tol %.1f%% = %.1f SE)\n",
                  what, truth, est, 100 * err / truth, 100 * se / truth,
                  err / se, 100 * tol, tol * truth / se);
    assert_true(tol * truth >= MIN_Z * se); /* the test is well-sized */
    assert_true(fabs(err) <= tol * truth);
}

/* (1a) Total bytes at the default-like interval 512 KiB. Expected size
 * per allocation ~9.7 KB, so 4M allocations hold S ~ 39 GB and
 * Var <= I * S gives a relative SE <= sqrt(I/S) ~ 0.37%: 2% >= 5.4 SE
 * (the exact SE, computed in run_mix, is smaller because blocks >~ I are
 * sampled almost surely). Counts are not checked here: most blocks are
 * ~40 B, so Var[count] ~ N * 0.7 * I/40 gives ~6% SE, far above 2%. */
static void
test_estimate_size_512k(void **state)
{
    struct fixture *f = *state;
    struct mix_result r;
    run_mix(f, 512 * KIB, 42, 4000000, &r);
    assert_close("size  I=512KiB", r.est_size, r.true_size, r.var_size, 0.02);
}

/* (1b) Bytes and blocks at I = 2 KiB. Var[count] ~ sum I/s over small
 * blocks ~ N * (0.7 * 2048 * ln(4)/48 + 0.25 * 2048 * 0.015) ~ 49 N, so
 * with N = 4M the relative SE is sqrt(49/N) ~ 0.35%: 2% ~ 5.7 SE. */
static void
test_estimate_size_and_count_2k(void **state)
{
    struct fixture *f = *state;
    struct mix_result r;
    run_mix(f, 2 * KIB, 7, 4000000, &r);
    assert_close("size  I=2KiB", r.est_size, r.true_size, r.var_size, 0.02);
    assert_close("count I=2KiB", r.est_count, r.true_count, r.var_count,
                 0.02);
}

/* (2) In an interleaved stream, the fraction of size-s allocations that
 * get sampled is q(s) = 1 - exp(-s/I): the countdown carried across
 * allocations of other sizes must not change any size's odds. Binomial
 * SE sqrt(n q (1-q)); tolerance 5 SE. */
static void
test_fraction_matches_q(void **state)
{
    struct fixture *f = *state;
    static const uint64_t sizes[] = {1, 8, 100, 1000, 4096, 20000};
    enum { K = sizeof sizes / sizeof sizes[0] };
    const uint64_t interval = 4096;
    long seen[K] = {0}, hit[K] = {0};

    pytm_sampler_init(&f->s, interval, 1234);
    for (long i = 0; i < 3000000; i++) {
        unsigned k = (unsigned)(gen_next(&f->gen) % K);
        seen[k]++;
        if (pytm_sampler_should_sample(&f->s, sizes[k])) {
            struct pytm_sample w;
            pytm_sampler_sample(&f->s, sizes[k], &w);
            hit[k]++;
        }
    }
    for (unsigned k = 0; k < K; k++) {
        double q = pytm_sampler_probability(interval, sizes[k]);
        double n = (double)seen[k], mean = n * q;
        double se = sqrt(n * q * (1 - q));
        print_message("  s=%-6llu q=%.5f  expected %.1f  got %ld  z %+.2f\n",
                      (unsigned long long)sizes[k], q, mean, hit[k],
                      ((double)hit[k] - mean) / se);
        assert_true(fabs((double)hit[k] - mean) <= 5 * se);
    }
}

/* q(s) itself: closed-form values, exact mode, and relative accuracy for
 * tiny s/I where 1 - exp(-x) would lose every digit (x = 2^-40 gives
 * 1 - exp(-x) accurate to ~1e-4 relative; expm1 to ~1e-16). */
static void
test_probability_values(void **state)
{
    (void)state;
    assert_true(pytm_sampler_probability(1, 0) == 1.0);
    assert_true(pytm_sampler_probability(0, 123) == 1.0);
    assert_true(pytm_sampler_probability(4096, 0) == 0.0);
    /* computed without libm (fastmath.h): good to ~1e-15 relative */
    assert_true(fabs(pytm_sampler_probability(4096, 4096) - (1 - exp(-1.0)))
                < 4e-15);
    /* A prime interval: with a power of two, 1 - exp(-x) happens to be
     * exact and would not be caught. */
    const uint64_t prime = 999999937;
    for (uint64_t s = 1; s <= 7; s += 3) {
        double x = (double)s / (double)prime;
        double want = x - x * x / 2 + x * x * x / 6;
        double got = pytm_sampler_probability(prime, s);
        assert_true(fabs(got - want) / want < 1e-13);
    }
    /* Intervals above the cap behave as the cap. */
    assert_true(pytm_sampler_probability(UINT64_MAX, 1) ==
                pytm_sampler_probability(PYTM_SAMPLER_MAX_INTERVAL, 1));
}

/* Weights for blocks much smaller than I are computed without
 * cancellation: at I ~ 1e9 they are ~1e9 and must be one of the two
 * integers around the exact value (computed here in long double);
 * exp(x) - 1 instead of expm1(x) would be off by ~100. */
static void
test_weights_precise_for_small_blocks(void **state)
{
    struct fixture *f = *state;
    const uint64_t prime = 999999937;
    pytm_sampler_init(&f->s, prime, 3);
    for (uint64_t s = 1; s <= 64; s *= 4) {
        long double em1 = expm1l((long double)s / (long double)prime);
        long double vc = 1 + 1 / em1, vs = s + s / em1;
        for (int i = 0; i < 50; i++) {
            struct pytm_sample w;
            pytm_sampler_sample(&f->s, s, &w);
            assert_true(w.est_count == (int64_t)floorl(vc) ||
                        w.est_count == (int64_t)floorl(vc) + 1);
            assert_true(w.est_size == (int64_t)floorl(vs) ||
                        w.est_size == (int64_t)floorl(vs) + 1);
        }
    }
}

/* A fresh countdown has the law of ceil(Exp(I)): right after a redraw the
 * next block of s bytes is sampled with probability exactly q(s). The
 * interleaved-stream test cannot see a one-byte error here (it matters
 * only once per sample, a 1/I effect), so test it where it is large:
 * I = 4, where ceil vs floor means q(1) = 0.22 vs q(2) = 0.39. Binomial
 * SE with n = 200000; tolerance 5 SE. */
static void
test_fresh_countdown_law(void **state)
{
    struct fixture *f = *state;
    static const uint64_t sizes[] = {1, 2, 3, 8};
    const long n = 200000;
    pytm_sampler_init(&f->s, 4, 11);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        long hit = 0;
        for (long i = 0; i < n; i++) {
            pytm_sampler_skip(&f->s);
            hit += pytm_sampler_should_sample(&f->s, sizes[k]);
        }
        double q = pytm_sampler_probability(4, sizes[k]);
        double se = sqrt((double)n * q * (1 - q));
        print_message("  I=4 s=%llu q=%.4f  got %.4f  z %+.2f\n",
                      (unsigned long long)sizes[k], q, (double)hit / n,
                      ((double)hit - n * q) / se);
        assert_true(fabs((double)hit - n * q) <= 5 * se);
    }
}

/* (3) Exact mode: every allocation is sampled with weights (size, 1),
 * size 0 and the largest legal size included, and left stays 0. */
static void
test_exact_mode(void **state)
{
    struct fixture *f = *state;
    static const uint64_t sizes[] = {0, 1, 7, 0, 4096, UINT64_C(1) << 30,
                                     (uint64_t)INT64_MAX, 0, 24};
    for (int init = 0; init < 2; init++) {
        /* interval 1, and interval 0 which init maps to 1 */
        pytm_sampler_init(&f->s, (uint64_t)init, 99);
        assert_int_equal(f->s.interval, 1);
        assert_int_equal(f->s.left, 0);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            struct pytm_sample w;
            assert_true(pytm_sampler_should_sample(&f->s, sizes[i]));
            pytm_sampler_sample(&f->s, sizes[i], &w);
            assert_int_equal(w.est_size, (int64_t)sizes[i]);
            assert_int_equal(w.est_count, 1);
            assert_int_equal(f->s.left, 0);
        }
        pytm_sampler_skip(&f->s);
        assert_int_equal(f->s.left, 0);
    }
}

/* (4) A zero-initialised sampler (fresh TLS) samples every size, and
 * sample/skip on it act as exact mode, so nothing before the lazy init
 * is lost or mis-weighted. */
static void
test_zeroed_sampler_samples_everything(void **state)
{
    (void)state;
    static const uint64_t sizes[] = {0, 1, 512, 0, UINT64_C(1) << 40,
                                     (uint64_t)INT64_MAX};
    struct pytm_sampler z;
    memset(&z, 0, sizeof z);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct pytm_sample w;
        assert_true(pytm_sampler_should_sample(&z, sizes[i]));
        pytm_sampler_sample(&z, sizes[i], &w);
        assert_int_equal(w.est_size, (int64_t)sizes[i]);
        assert_int_equal(w.est_count, 1);
        assert_int_equal(z.left, 0);
        assert_int_equal(z.interval, 0);
    }
    assert_true(pytm_sampler_should_sample(&z, 0));
    pytm_sampler_skip(&z);
    assert_int_equal(z.left, 0);
    assert_true(pytm_sampler_should_sample(&z, 3));
}

/* Sampling mode never returns weights below (size, 1), copes with the
 * extremes without overflow, and a fresh countdown is >= 1 so a size-0
 * allocation is never sampled (q(0) = 0). */
static void
test_weights_bounds_and_extremes(void **state)
{
    struct fixture *f = *state;
    struct pytm_sample w;

    pytm_sampler_init(&f->s, UINT64_MAX, 5); /* clamped to 2^40 */
    assert_true(f->s.interval == PYTM_SAMPLER_MAX_INTERVAL);
    assert_true(f->s.left >= 1);
    assert_false(pytm_sampler_should_sample(&f->s, 0));
    /* 1 byte at I = 2^40: weights ~2^40, both, without overflow. */
    pytm_sampler_sample(&f->s, 1, &w);
    assert_true(w.est_count >= 1099511627775 && w.est_count <= 1099511627777);
    /* Same expectation, rounded independently: at most 1 apart. */
    assert_true(llabs(w.est_size - w.est_count) <= 1);
    assert_true(f->s.left >= 1);

    /* Largest legal size: always sampled, weights exactly (size, 1). */
    pytm_sampler_init(&f->s, 512 * KIB, 6);
    assert_true(pytm_sampler_should_sample(&f->s, (uint64_t)INT64_MAX));
    pytm_sampler_sample(&f->s, (uint64_t)INT64_MAX, &w);
    assert_true(w.est_size == INT64_MAX);
    assert_int_equal(w.est_count, 1);

    /* Many sizes, many draws: never below (size, 1), left always >= 1. */
    for (int i = 0; i < 100000; i++) {
        uint64_t size = gen_mixed_size(&f->gen) >> (i % 8);
        pytm_sampler_sample(&f->s, size, &w);
        assert_true(w.est_size >= (int64_t)size);
        assert_true(w.est_count >= 1);
        assert_true(f->s.left >= 1);
        pytm_sampler_skip(&f->s);
        assert_true(f->s.left >= 1);
        assert_false(pytm_sampler_should_sample(&f->s, 0));
    }
}

/* (5) Stochastic rounding is unbiased: for a fixed size the integer
 * weights take only the two neighbours of s/q and 1/q, and their means
 * over M draws match s/q and 1/q within 5 SE, SE = sqrt(f(1-f)/M) for
 * fractional part f. Round-to-nearest would be off by min(f, 1-f). */
static void
test_stochastic_rounding_unbiased(void **state)
{
    struct fixture *f = *state;
    const uint64_t interval = 4096, size = 100;
    const long m = 1000000;
    double q = pytm_sampler_probability(interval, size);
    double vc = 1.0 / q, vs = (double)size / q;
    double fc = vc - floor(vc), fs = vs - floor(vs);
    double sum_c = 0, sum_s = 0;
    struct pytm_sample w;

    pytm_sampler_init(&f->s, interval, 77);
    for (long i = 0; i < m; i++) {
        pytm_sampler_sample(&f->s, size, &w);
        assert_true(w.est_count == (int64_t)floor(vc) ||
                    w.est_count == (int64_t)floor(vc) + 1);
        assert_true(w.est_size == (int64_t)floor(vs) ||
                    w.est_size == (int64_t)floor(vs) + 1);
        sum_c += (double)w.est_count;
        sum_s += (double)w.est_size;
    }
    double dm = (double)m, mc = sum_c / dm, ms = sum_s / dm;
    double se_c = sqrt(fc * (1 - fc) / dm), se_s = sqrt(fs * (1 - fs) / dm);
    print_message("  1/q=%.4f mean %.4f (z %+.2f)   s/q=%.4f mean %.4f "
                  "(z %+.2f)\n", vc, mc, (mc - vc) / se_c, vs, ms,
                  (ms - vs) / se_s);
    assert_true(fabs(mc - vc) <= 5 * se_c);
    assert_true(fabs(ms - vs) <= 5 * se_s);
    /* Power: plain rounding would sit min(f, 1-f) away, far beyond 5 SE. */
    assert_true(fmin(fc, 1 - fc) > 5 * se_c);
    assert_true(fmin(fs, 1 - fs) > 5 * se_s);
}

/* (6) Exponential draws: mean I (SE I/sqrt(M)), variance I^2 (the sample
 * variance of Exp has SE sqrt(8/M) I^2 since mu4 = 9 I^4), tail
 * P(X > I) = 1/e and P(X > 4I) = e^-4 (binomial SE), support
 * [0, 36.74 I]. Also a zero RNG state is remapped and advanced. */
static void
test_exponential_draws(void **state)
{
    (void)state;
    const double mean = 4096;
    const long m = 2000000;
    uint64_t rng = 0;
    double sum = 0, sum2 = 0, lo = INFINITY, hi = 0;
    long over1 = 0, over4 = 0;

    for (long i = 0; i < m; i++) {
        double x = pytm_sampler_exp(&rng, mean);
        assert_true(rng != 0);
        sum += x;
        sum2 += x * x;
        lo = fmin(lo, x);
        hi = fmax(hi, x);
        over1 += x > mean;
        over4 += x > 4 * mean;
    }
    double dm = (double)m, avg = sum / dm;
    double var = (sum2 - dm * avg * avg) / (dm - 1);
    double f1 = (double)over1 / dm, f4 = (double)over4 / dm;
    print_message("  mean %.2f (want %.0f)  var/I^2 %.4f  P(>I) %.5f  "
                  "P(>4I) %.6f  range [%.3g, %.4g]\n", avg, mean,
                  var / (mean * mean), f1, f4, lo, hi);
    assert_true(fabs(avg - mean) <= 5 * mean / sqrt(dm));
    assert_true(fabs(var - mean * mean) <= 5 * sqrt(8 / dm) * mean * mean);
    double p1 = exp(-1.0), p4 = exp(-4.0);
    assert_true(fabs(f1 - p1) <= 5 * sqrt(p1 * (1 - p1) / dm));
    assert_true(fabs(f4 - p4) <= 5 * sqrt(p4 * (1 - p4) / dm));
    assert_true(lo >= 0 && hi <= 36.75 * mean);
}

/* Seeding: any seed (0 included) gives a non-zero state, and different
 * seeds give different countdown streams. */
static void
test_seeding(void **state)
{
    struct fixture *f = *state;
    struct pytm_sampler a, b;
    pytm_sampler_init(&a, 4096, 0);
    pytm_sampler_init(&b, 4096, 1);
    assert_true(a.rng != 0 && b.rng != 0);
    int differ = 0;
    for (int i = 0; i < 8; i++) {
        differ += a.left != b.left;
        pytm_sampler_skip(&a);
        pytm_sampler_skip(&b);
    }
    assert_true(differ >= 6);
    /* Same seed, same stream. */
    pytm_sampler_init(&a, 4096, 42);
    pytm_sampler_init(&f->s, 4096, 42);
    assert_true(a.left == f->s.left && a.rng == f->s.rng);
}


/* ---- fastmath.h against libm -------------------------------------------- */

/* The sampler's own log, on every uniform it can draw from: the 2^-53
 * grid near 0, and dense grids over each binade down to 2^-53, both
 * sides of the sqrt(2) split included. */
static void
test_fastmath_log(void **state)
{
    (void)state;
    double worst = 0.0;
    for (int e = 0; e >= -53; e--) {
        for (int k = 0; k < 4096; k++) {
            double u = ldexp(1.0 + k / 4096.0, e - 1);
            if (u > 1.0)
                continue;
            double want = log(u);
            double got = pytm_fm_log(u);
            double err = want == 0.0 ? fabs(got) : fabs(got - want) / fabs(want);
            if (err > worst)
                worst = err;
        }
    }
    for (uint64_t i = 1; i < 100000; i++) {
        double u = (double)i * 0x1.0p-53;
        double err = fabs(pytm_fm_log(u) - log(u)) / fabs(log(u));
        if (err > worst)
            worst = err;
    }
    assert_true(pytm_fm_log(1.0) == 0.0);
    assert_true(fabs(pytm_fm_log(0.5) + M_LN2) < 1e-16);
    assert_true(worst < 1e-13);
}

static void
test_fastmath_bernoulli_and_exp(void **state)
{
    (void)state;
    double worst_b = 0.0, worst_e = 0.0;
    assert_true(pytm_fm_bernoulli(0.0) == 1.0);
    for (int k = 1; k <= 100000; k++) {
        double x = k / 100000.0;
        double want = x / expm1(x);
        double err = fabs(pytm_fm_bernoulli(x) - want) / want;
        if (err > worst_b)
            worst_b = err;
    }
    for (int k = 0; k <= 708000; k += 7) {
        double x = k / 1000.0;
        double want = exp(-x);
        double err = fabs(pytm_fm_exp_neg(x) - want) / want;
        if (err > worst_e)
            worst_e = err;
    }
    assert_true(worst_b < 1e-14);
    assert_true(worst_e < 1e-12);
    assert_true(pytm_fm_exp_neg(0.0) == 1.0);
    assert_true(pytm_fm_exp_neg(800.0) == 0.0);
    assert_true(pytm_fm_exp_neg(INFINITY) == 0.0);
}

/* (7) NEGATIVE CONTROL, a self-check of the test's power, not of the
 * sampler: on the same workload as (1a)/(1b), estimators without the
 * Horvitz-Thompson correction are off by far more than the 2% the tests
 * above allow, so those tests would catch such a bug.
 *  - raw: sum of sampled sizes/counts (no 1/q at all);
 *  - per-hit: I bytes per sample, right for s << I but not for blocks
 *    of size ~I and above, which carry most bytes here. */
static void
test_negative_control_biased_estimators_fail(void **state)
{
    struct fixture *f = *state;
    struct mix_result r;

    run_mix(f, 512 * KIB, 42, 4000000, &r);
    double raw = r.raw_size / r.true_size - 1;
    double hit = r.per_hit_size / r.true_size - 1;
    print_message("  I=512KiB  raw size bias %+.1f%%  I-per-sample bias "
                  "%+.1f%%  (HT: %+.2f%%)\n", 100 * raw, 100 * hit,
                  100 * (r.est_size / r.true_size - 1));
    assert_true(fabs(raw) > 0.10);
    assert_true(fabs(hit) > 0.10);

    run_mix(f, 2 * KIB, 7, 4000000, &r);
    double rawc = r.raw_count / r.true_count - 1;
    print_message("  I=2KiB    raw count bias %+.1f%%  (HT: %+.2f%%)\n",
                  100 * rawc, 100 * (r.est_count / r.true_count - 1));
    assert_true(fabs(rawc) > 0.10);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_estimate_size_512k, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_estimate_size_and_count_2k,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fraction_matches_q, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_probability_values, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_weights_precise_for_small_blocks,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_countdown_law, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_exact_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zeroed_sampler_samples_everything,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_weights_bounds_and_extremes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stochastic_rounding_unbiased,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_exponential_draws, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_seeding, setup, teardown),
        cmocka_unit_test(test_fastmath_log),
        cmocka_unit_test(test_fastmath_bernoulli_and_exp),
        cmocka_unit_test_setup_teardown(
            test_negative_control_biased_estimators_fail, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
