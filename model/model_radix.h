/* model/model_radix: the integer-keyed sorting steps of model_sort.c.
 *
 * Entries carry an order-preserving unsigned key k (model_sort.c maps
 * every sort column to one, complemented when descending); these
 * functions order or select them by k alone and never look at rows.
 * Private to the model.
 */
#ifndef PYTM_TUI_MODEL_RADIX_H
#define PYTM_TUI_MODEL_RADIX_H

#include <stddef.h>
#include <stdint.h>

/* A full sort entry: the comparison sequence's numbers, row index. */
struct model_ent {
    uint64_t k;   /* first number of the sequence, order-preserving */
    uint64_t k2;  /* second number, or the key integer when none */
    uint64_t k3;  /* third and fourth numbers, 0 when none: ties never */
    uint64_t k4;  /*   read the rows (random memory) */
    uint64_t key; /* the row's key integer (key_) */
    uint32_t idx; /* row index */
    uint32_t pad;
};

/* A selection entry: the first number only (half the bytes to move). */
struct model_kent {
    uint64_t k;
    uint32_t idx;
    uint32_t pad;
};

/* Stable LSD radix sort of e[0..n) (n >= 1) by k - min(k), 11 bits per
 * pass, as many passes as the range needs (sizes rarely need more than
 * 3); tmp[0..n) is scratch. Returns where the result is (e or tmp). */
struct model_ent *pytm_model_radix_sort(struct model_ent *e, struct model_ent *tmp, size_t n);

/* Radix select: moves into out[] (room for n) the entries of e[0..n)
 * whose k is among the smallest, at least min(need, n) of them and never
 * splitting equal k (every entry left out has a larger k than every one
 * moved), in no particular order. e[] is used as scratch. need >= 1.
 * Returns how many entries were moved. */
size_t pytm_model_radix_select(struct model_kent *e, size_t n, size_t need,
                               struct model_kent *out);

#endif /* PYTM_TUI_MODEL_RADIX_H */
