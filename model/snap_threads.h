/* model/snap_threads: per-thread figures of a snapshot.
 *
 * An arena keeps one traceback per (stack, thread) (include/pytm/
 * arena_layout.h, tb.thread). Everything that reads a snapshot as
 * tracemalloc would -- statistics, grouping, diffs, dumps -- wants one
 * traceback per stack, so the reader merges them back
 * (pytm_snap_threads_split) and keeps the per-thread parts aside in
 * snap.splits. The thread view of pytmtop, `pytmtop --json` and
 * Snapshot.thread_statistics() read those parts through the functions
 * below. Plain C, no I/O.
 *
 * Aggregates are summed as unsigned 64-bit (two's complement wrap): the
 * input may be hostile and a signed overflow would be undefined.
 */
#ifndef PYTM_MODEL_SNAP_THREADS_H
#define PYTM_MODEL_SNAP_THREADS_H

#include <stdint.h>

#include "snap.h"

/* Merges the tracebacks of *s that hold the same stack (frame ids,
 * nframe, total_nframe) into the first of them, summing their
 * aggregates, and records every original traceback i as splits[i]
 * (its figures, the merged index, thread[i]). traces[].tb are remapped.
 * Preconditions: s validated, s->n_splits == 0, thread[] has n_tbs
 * entries (may be NULL when n_tbs == 0). Returns 0, PYTM_E_CORRUPT (a
 * thread[i] > n_threads) or PYTM_E_NOMEM; on failure *s is unchanged. */
int pytm_snap_threads_split(struct pytm_snap *s, const uint16_t *thread);

/* One thread's share of a snapshot. */
struct pytm_snap_thread_total {
    uint32_t thread;   /* index into threads + 1; 0 = unknown */
    int64_t size;      /* live estimated bytes */
    int64_t count;     /* live estimated blocks */
};

/* Sums splits by thread into out[0 .. n_threads] (out[k].thread == k),
 * which the caller sizes n_threads + 1; out[0] ("unknown") also gets
 * whatever of the tbs' figures no split accounts for. So the sum over
 * out[] is always the sum over tbs[]: without splits everything is
 * out[0], the whole snapshot as "unknown", and likewise for a copy
 * whose splits were zeroed (pytm_snapfilter). */
void pytm_snap_threads_totals(const struct pytm_snap *s,
                              struct pytm_snap_thread_total *out);

/* Display name of thread k (index + 1): the Python name when known,
 * else the pthread name, else "<unknown>" (also for k == 0 or k out of
 * range). Valid while *s lives. */
const char *pytm_snap_thread_name(const struct pytm_snap *s, uint32_t k);

/* Keeps only thread k's figures: each tbs[] aggregate becomes the sum
 * of its splits of thread k (0 when none), splits of other threads are
 * dropped, traces[] are dropped (they cannot be told apart by thread)
 * and PYTM_SNAP_HAS_TRACES cleared. Totals stay those of the whole
 * process. Without splits, k == 0 keeps everything and any other k
 * leaves every aggregate 0. Returns 0 or PYTM_E_NOMEM (*s unchanged). */
int pytm_snap_threads_filter(struct pytm_snap *s, uint32_t k);

#endif /* PYTM_MODEL_SNAP_THREADS_H */
