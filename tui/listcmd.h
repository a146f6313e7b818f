/* tui/listcmd: `pytmtop --list` and `pytmtop --clean` (no curses). */
#ifndef PYTM_TUI_LISTCMD_H
#define PYTM_TUI_LISTCMD_H

#include <stdio.h>

/* Prints one line per readable arena under $PYTM_SHM_DIR
 * (default /dev/shm): PID, state
 * (running/stopped/exited), age, arena size, command. Returns the exit
 * status (0, or 1 with a message on stderr). */
int pytm_listcmd_list(FILE *out);

/* Removes the arenas of dead processes (same directory) (never a live one) and says how
 * many. Returns the exit status. */
int pytm_listcmd_clean(FILE *out);

#endif /* PYTM_TUI_LISTCMD_H */
