/* tui/threads: pytmtop's thread view (T) and thread filter, curses-free.
 *
 * The thread view lists app->trows (model/thread_rows.h), built from the
 * whole snapshot (src.snap, never filtered) and diffed against the whole
 * baseline. Enter on a row sets app->tfilter to that thread's identity
 * (tid, ident): every other view (filename, line, traceback, cumulative,
 * diff, detail) is then built from a filtered copy of the snapshot
 * (pytm_snap_threads_filter), and the baseline is filtered to the same
 * identity. The identity, not the thread index, is kept, so the filter
 * is looked up again in every new snapshot (a refresh, a baseline from a
 * dump); a thread that is not in a snapshot holds nothing there.
 * A snapshot without thread data has only "<unknown>" (thread 0), whose
 * filter keeps everything.
 */
#ifndef PYTM_TUI_THREADS_H
#define PYTM_TUI_THREADS_H

#include <stdbool.h>
#include <stddef.h>

#include "snap.h"
#include "thread_rows.h"

struct pytm_app;

/* The snapshot the grouped views of app show for `src` (src.snap or the
 * baseline): src itself without a thread filter, else *scratch, replaced
 * by src filtered to the filter's thread. Sets *out. The caller must
 * rebuild every table that borrowed *scratch. Returns 0 or PYTM_E_NOMEM
 * (then *out is NULL and *scratch empty). */
int pytm_threads_view_snap(const struct pytm_app *app, const struct pytm_snap *src,
                           struct pytm_snap *scratch, const struct pytm_snap **out);

/* Rebuilds app->trows from src.snap (and the baseline when set), sorted
 * by the view's order. Returns 0 or PYTM_E_* (rows then empty). */
int pytm_threads_rebuild(struct pytm_app *app);

/* Enter in the thread view: filters to row r, or clears the filter
 * when r is the thread filtered already; leaves the thread view for the
 * grouped view, resets the selection and sets the status line.
 * Returns PYTM_REACT_* flags. */
unsigned pytm_threads_enter(struct pytm_app *app, const struct pytm_thread_row *r);

/* Esc: clears the thread filter (a hint in the status line when none
 * is set). Returns PYTM_REACT_* flags. */
unsigned pytm_threads_clear(struct pytm_app *app);

/* T: shows or hides the thread view (the selection starts at the top).
 * Returns PYTM_REACT_* flags. */
unsigned pytm_threads_toggle(struct pytm_app *app);

/* --thread SPEC: sets the thread filter to the first thread of src.snap
 * whose name is SPEC, or whose tid is SPEC (all digits); "<unknown>"
 * names thread 0. Returns true when one matched (else the filter is
 * unchanged). */
bool pytm_threads_select(struct pytm_app *app, const char *spec);

/* Thread column text: "worker-1  (tid 1234, ident 1401...)", or
 * "<unknown>  (no thread identity recorded)" for thread 0. */
void pytm_threads_fmt_row(char *buf, size_t len, const struct pytm_thread_row *r);

/* The active filter: "worker-1 (tid 1234)"; "" without a filter. */
void pytm_threads_fmt_filter(char *buf, size_t len, const struct pytm_app *app);

#endif /* PYTM_TUI_THREADS_H */
