/* tui/loop: the interactive event loop. */
#ifndef PYTM_TUI_LOOP_H
#define PYTM_TUI_LOOP_H

#include "app.h"

/* Runs the curses screen until q (or --iterations refreshes). The app's
 * source must be open. Returns the exit status (0, or 1 after a
 * terminal error, message on stderr after the screen is released). */
int pytm_loop_run(struct pytm_app *app);

/* Takes a new snapshot (live source, not paused) and records the
 * traced total in the sparkline; notes the child's exit. */
void pytm_loop_refresh(struct pytm_app *app);

#endif /* PYTM_TUI_LOOP_H */
