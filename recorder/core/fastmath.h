/* recorder/core/fastmath: the three elementary functions the sampler's
 * slow path needs, inline and without libm.
 *
 * Why not libm: every sample of sampled mode took a log (the countdown)
 * and an expm1 (the weights), about 60 instructions of libm's 341 in
 * the decision (callgrind, bench steady), and the first of them faults
 * libm's text pages into a process that may never use them otherwise
 * (24-80 KiB of peak RSS, docs/benchmarks.md). The sampler needs far less
 * than libm's 0.5 ulp: a countdown off by one part in 10^12 moves the
 * next sample by a fraction of a byte, and a weight off by that much is
 * a bias far below the 2^-32 grain of the stochastic rounding.
 *
 * Accuracy (tests/unit/test_sampler.c, test_fastmath_*, against libm on
 * dense grids): pytm_fm_log relative error below 1e-13 on (0, 1];
 * pytm_fm_bernoulli (x / expm1(x)) below 1e-14 on [0, 1]; pytm_fm_exp_neg
 * below 1e-12 on [0, 708].
 *
 * Pure functions of their argument; no state, no errno, callable from
 * any thread and from a signal handler.
 */
#ifndef PYTM_RECORDER_FASTMATH_H
#define PYTM_RECORDER_FASTMATH_H

#include <stdint.h>
#include <string.h>

#define PYTM_FM_LN2 0.69314718055994530942

static inline uint64_t
pytm_fm_bits_(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline double
pytm_fm_double_(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* c[0] + c[1] x + ... + c[n-1] x^(n-1) by Horner's rule; n is a
 * constant at every call, and the loop is unrolled into a chain of
 * multiply-adds (a loop would cost 3 instructions a term). */
static inline double
pytm_fm_poly_(const double *c, int n, double x)
{
    double p = c[n - 1];
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 16
#endif
    for (int i = n - 2; i >= 0; i--)
        p = p * x + c[i];
    return p;
}

/* Natural log of u, for u a positive normal double (the sampler's
 * uniforms are in [2^-53, 1]; zero, subnormals, infinities and NaN are
 * outside the contract). u = 2^e * m with m in [sqrt(1/2), sqrt(2)),
 * then ln m = 2 atanh(t), t = (m - 1)/(m + 1), |t| < 0.1716, by its odd
 * series through t^15 (the first term left out is below 1.2e-14
 * absolute, and |ln u| >= 0.34 wherever |t| is that large). */
static inline double
pytm_fm_log(double u)
{
    uint64_t b = pytm_fm_bits_(u);
    int64_t e = (int64_t)(b >> 52) - 1023;
    /* mantissa in [1, 2): exponent field of 1.0 */
    uint64_t mb = (b & UINT64_C(0x000FFFFFFFFFFFFF)) | UINT64_C(0x3FF0000000000000);
    /* past sqrt(2) (mantissa bits 0x6A09E667F3BCD): halve m, bump e */
    if ((b & UINT64_C(0x000FFFFFFFFFFFFF)) > UINT64_C(0x6A09E667F3BCC)) {
        mb -= UINT64_C(1) << 52;
        e += 1;
    }
    double m = pytm_fm_double_(mb);
    double t = (m - 1.0) / (m + 1.0);
    static const double atanh_c[] = {1.0,        1.0 / 3.0,  1.0 / 5.0,
                                     1.0 / 7.0,  1.0 / 9.0,  1.0 / 11.0,
                                     1.0 / 13.0, 1.0 / 15.0};
    double p = pytm_fm_poly_(atanh_c, 8, t * t);
    return (double)e * PYTM_FM_LN2 + 2.0 * t * p;
}

/* x / expm1(x) for 0 <= x <= 1 (1 at x = 0): the Bernoulli series
 * sum B_n x^n / n! = 1 - x/2 + x^2/12 - x^4/720 + x^6/30240 - ...
 * through x^18; the first term left out is 2.2e-16 * x^20. */
static inline double
pytm_fm_bernoulli(double x)
{
    static const double bern_c[] = {
        1.0 / 12.0,                          /* B2 / 2! */
        -1.0 / 720.0,                        /* B4 / 4! */
        1.0 / 30240.0,                       /* B6 / 6! */
        -1.0 / 1209600.0,                    /* B8 / 8! */
        1.0 / 47900160.0,                    /* B10 / 10! */
        -691.0 / 2730.0 / 479001600.0,       /* B12 / 12! */
        7.0 / 6.0 / 87178291200.0,           /* B14 / 14! */
        -3617.0 / 510.0 / 20922789888000.0,  /* B16 / 16! */
        43867.0 / 798.0 / 6402373705728000.0 /* B18 / 18! */
    };
    double x2 = x * x;
    double p = pytm_fm_poly_(bern_c, 9, x2);
    return 1.0 - 0.5 * x + x2 * p;
}

/* exp(-x) for 0 <= x (0 past 708): -x = k ln2 + r, |r| <= ln2/2,
 * exp(r) by its Taylor series through r^13 (the rest is below 3e-16
 * relative), times 2^k built in the exponent field (k >= -1075 here;
 * results below 2^-1022 come out as 0, which callers treat as "no
 * extra weight"). */
static inline double
pytm_fm_exp_neg(double x)
{
    if (!(x <= 708.0))
        return 0.0;
    double kf = x * (1.0 / PYTM_FM_LN2) + 0.5;
    int64_t k = (int64_t)kf; /* round(x / ln2), x >= 0 */
    double r = (double)k * PYTM_FM_LN2 - x; /* in [-ln2/2, ln2/2] */
    static const double exp_c[] = {
        1.0,           1.0,           1.0 / 2,         1.0 / 6,
        1.0 / 24,      1.0 / 120,     1.0 / 720,       1.0 / 5040,
        1.0 / 40320,   1.0 / 362880,  1.0 / 3628800,   1.0 / 39916800,
        1.0 / 479001600, 1.0 / 6227020800.0}; /* 1/n!, n = 0..13 */
    double p = pytm_fm_poly_(exp_c, 14, r);
    if (k > 1021)
        return 0.0;
    return p * pytm_fm_double_((uint64_t)(1023 - k) << 52);
}

#endif /* PYTM_RECORDER_FASTMATH_H */
