/* tui/once: `--once` output, a plain table or (--json) one JSON object,
 * of app->table as built by pytm_app_rebuild and fully sorted.
 * Curses-free. */
#ifndef PYTM_TUI_ONCE_H
#define PYTM_TUI_ONCE_H

#include <stdio.h>

#include "app.h"

/* --once: rebuilds app->table from src.snap with the view state, sorts
 * it fully (pytm_model_sort: every printed row in order), prints it.
 * Returns 0, the model's PYTM_E_* (nothing printed) or PYTM_E_IO. */
int pytm_once_run(struct pytm_app *app, FILE *out);

/* Prints the table (at most app->opt.limit rows when > 0) to out.
 * JSON object: pid, cmdline, sample_interval, exact, exited,
 * traced_current, traced_peak, n_samples, n_dropped, n_tracebacks,
 * total_size, total_count, group, cumulative, diff, rows[] of
 * {filename, lineno, size, count, samples, size_diff, count_diff,
 * n_tracebacks, frames[] (most recent first; TRACEBACK only)} (empty
 * with --group thread, whose group is "thread"), processes[] (with a
 * tree), threads[] of {name, thread, tid, ident, size, count,
 * size_diff, count_diff}: every thread taking part, in the same order
 * ("<unknown>" with tid and ident 0 for figures without a thread;
 * their sizes sum to total_size, unless --thread). With --thread
 * (app->tfilter), rows, n_tracebacks, total_size and total_count are
 * that thread's, a thread_filter {name, tid, ident} object names it and
 * threads[] still lists every thread. Text output with --group thread
 * lists the threads instead of the rows; with --thread a "thread NAME
 * (tid N)" line precedes the table and % stays a share of the whole
 * process.
 * Returns 0, or PYTM_E_IO when writing failed. */
int pytm_once_print(const struct pytm_app *app, FILE *out);

#endif /* PYTM_TUI_ONCE_H */
