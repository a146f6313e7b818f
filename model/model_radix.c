/* model/model_radix: radix sort and radix select of integer-keyed entries
 * (contracts in model_radix.h).
 *
 * Select: each level histograms the top RADIX_BITS of the remaining key
 * range and keeps only the bucket holding the need-th entry for the
 * next level; entries in lower buckets are taken, higher ones dropped.
 * It stops when what remains fits `need` or all keys are equal, so a
 * tie on k is taken whole.
 */
#include "model_radix.h"

#include <assert.h>
#include <string.h>

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)

/* Stable LSD radix sort of e[0..n) by k; returns where the result is
 * (e or tmp). */
struct model_ent *
pytm_model_radix_sort(struct model_ent *e, struct model_ent *tmp, size_t n)
{
    uint64_t lo = e[0].k, hi = e[0].k;
    for (size_t i = 1; i < n; i++) {
        lo = e[i].k < lo ? e[i].k : lo;
        hi = e[i].k > hi ? e[i].k : hi;
    }
    uint64_t range = hi - lo;
    static_assert(RADIX_BITS < 32, "shift");
    size_t count[RADIX_SIZE];
    for (unsigned shift = 0; shift < 64 && (range >> shift) != 0;
         shift += RADIX_BITS) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[((e[i].k - lo) >> shift) & (RADIX_SIZE - 1)]++;
        size_t sum = 0;
        for (size_t d = 0; d < RADIX_SIZE; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[((e[i].k - lo) >> shift) & (RADIX_SIZE - 1)]++] = e[i];
        struct model_ent *x = e;
        e = tmp;
        tmp = x;
    }
    return e;
}

/* Radix select: moves into out[] the entries of e[0..n) whose k is among
 * the smallest, at least `need` of them and never splitting equal k
 * (every entry left out has a larger k than every one moved). Each
 * level histograms the top RADIX_BITS of the remaining range and keeps
 * only the bucket holding the need-th entry for the next level. e[] is
 * used as scratch. Returns how many entries were moved. */
size_t
pytm_model_radix_select(struct model_kent *e, size_t n, size_t need, struct model_kent *out)
{
    size_t taken = 0;
    static_assert(RADIX_BITS < 32, "shift");
    size_t count[RADIX_SIZE];
    while (n > 0) {
        uint64_t lo = e[0].k, hi = e[0].k;
        for (size_t i = 1; i < n; i++) {
            lo = e[i].k < lo ? e[i].k : lo;
            hi = e[i].k > hi ? e[i].k : hi;
        }
        if (n <= need || lo == hi)
            break;
        unsigned bits = 64 - (unsigned)__builtin_clzll(hi - lo);
        unsigned shift = bits > RADIX_BITS ? bits - RADIX_BITS : 0;
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(e[i].k - lo) >> shift]++;
        size_t b = 0, before = 0;
        while (before + count[b] < need)
            before += count[b++];
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t d = (e[i].k - lo) >> shift;
            if (d < b)
                out[taken++] = e[i];
            else if (d == b)
                e[w++] = e[i]; /* w <= i: compacts in place */
        }
        n = w;
        need -= before;
    }
    memcpy(out + taken, e, n * sizeof *e);
    return taken + n;
}

