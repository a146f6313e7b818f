/* tui/loop: the interactive event loop. */
#ifndef PYTM_TUI_LOOP_H
#define PYTM_TUI_LOOP_H

#include "app.h"

/* Exit status of pytmtop -p PID when the target has exited and batch
 * mode (--once, --iterations) stopped on its last figures. */
#define PYTM_LOOP_GONE 3

/* Runs the curses screen until q, or --iterations refreshes. With
 * --iterations and -p PID, also stops as soon as the target is seen to
 * have exited (at startup included), after drawing its last figures.
 * The interactive view (no --iterations) keeps them on screen, marked
 * exited, until q. The app's source must be open. Returns the exit
 * status: 0; PYTM_LOOP_GONE when it stopped because the target exited
 * (*refreshes_out, if not NULL, gets the refreshes done); 1 after a
 * terminal error (message on stderr after the screen is released). */
int pytm_loop_run(struct pytm_app *app, long *refreshes_out);

/* Takes a new snapshot (live source, not paused) and records the
 * traced total in the sparkline; notes the child's exit. */
void pytm_loop_refresh(struct pytm_app *app);

#endif /* PYTM_TUI_LOOP_H */
