/* model/thread_rows: one row per thread of a snapshot (pytmtop's thread
 * view, `pytmtop --once --group thread` and the `threads` array of
 * --json), diffed against a baseline and sorted like the model's rows.
 *
 * Built on model/snap_threads.h: a row's figures are the thread's
 * pytm_snap_threads_totals(). Row k = 0 is "<unknown>": figures no
 * thread identity was recorded for (an arena without
 * PYTM_ARENA_FLAG_THREADS, a dump without thread data: then it holds
 * the whole snapshot). A thread takes part when its size or count is
 * non-zero (like a traceback in model.h), or, after a diff, when it
 * took part in the base.
 *
 * Threads of two snapshots are the same thread when their (tid, ident)
 * are equal; "<unknown>" joins "<unknown>". Indices alone would not do:
 * a baseline may come from a dump of another session.
 *
 * Curses-free, no I/O. A table borrows the snapshots it was built from
 * (row.name points into them).
 */
#ifndef PYTM_MODEL_THREAD_ROWS_H
#define PYTM_MODEL_THREAD_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct pytm_snap;

#define PYTM_THREAD_ROW_BASE 0x1u /* only in the base: size 0 */

struct pytm_thread_row {
    uint32_t thread;      /* thread index + 1 in its snapshot (the base
                             for a BASE row); 0 = unknown */
    uint32_t flags;       /* PYTM_THREAD_ROW_* */
    const char *name;     /* pytm_snap_thread_name() */
    int64_t tid;          /* OS thread id, 0 when unknown */
    uint64_t ident;       /* threading.get_ident(), 0 when unknown */
    int64_t size;         /* live estimated bytes */
    int64_t count;        /* live estimated blocks */
    int64_t size_diff;    /* size - base size (== size without a diff) */
    int64_t count_diff;
};

struct pytm_thread_rows {
    struct pytm_thread_row *rows;
    size_t n_rows;
    size_t cap_;          /* private */
    bool diffed;
    enum pytm_model_sort sort; /* order of the rows (build: SIZE desc) */
    bool descending;
    int64_t total_size;   /* sum of every row's size (== the sum of the
                             snapshot's traceback sizes) */
    int64_t total_count;
};

/* Makes *t empty (no allocation). */
void pytm_thread_rows_init(struct pytm_thread_rows *t);

/* Frees what *t owns and re-initialises it. Safe twice. */
void pytm_thread_rows_free(struct pytm_thread_rows *t);

/* Fills *t (discarding its rows, reusing its buffer) with the threads
 * of s taking part, diffed against base when base != NULL, sorted by
 * SIZE descending. Preconditions: *t initialised; s (and base) passed
 * pytm_snap_validate and outlive the use of the rows.
 * Returns 0, PYTM_E_INVAL (NULL t or s) or PYTM_E_NOMEM (then *t is
 * empty, still initialised). */
int pytm_thread_rows_build(struct pytm_thread_rows *t, const struct pytm_snap *s,
                           const struct pytm_snap *base);

/* Sorts the rows by one of the model's orders (model.h PYTM_MODEL_SORTS;
 * LOCATION orders by name, then tid, ident, thread index: the key that
 * ends every sequence). Stable; free when the rows are in that order
 * already (t->sort, t->descending). Returns 0, PYTM_E_INVAL (unknown
 * sort) or PYTM_E_NOMEM (rows unchanged). */
int pytm_thread_rows_sort(struct pytm_thread_rows *t, enum pytm_model_sort sort,
                          bool descending);

/* The thread index + 1 of s whose identity is (tid, ident): 0 for
 * (0, 0), the unknown thread; PYTM_THREAD_ROWS_NONE when s has no such
 * thread (pytm_snap_threads_filter then leaves every figure 0, which is
 * the truth: that thread holds nothing in s). */
#define PYTM_THREAD_ROWS_NONE UINT32_MAX
uint32_t pytm_thread_rows_find(const struct pytm_snap *s, int64_t tid,
                               uint64_t ident);

#endif /* PYTM_MODEL_THREAD_ROWS_H */
