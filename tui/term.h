/* tui/term: the curses session. Starts curses with stderr held (sent to
 * a temporary file, replayed on the real stderr once the screen is
 * released, htop's redirectStderr), and restores the terminal on every
 * exit path: pytm_term_stop() is registered with atexit and called from
 * the SIGINT/SIGTERM/SIGHUP/SIGSEGV/SIGABRT handlers, which then
 * re-raise the signal with its default action.
 * SIGWINCH is left to ncurses, which turns it into KEY_RESIZE.
 */
#ifndef PYTM_TUI_TERM_H
#define PYTM_TUI_TERM_H

#include <stdbool.h>

/* Initialises the screen (cbreak, noecho, keypad, no cursor, colours
 * when available). Returns 0, or -1 when the terminal cannot be set up
 * (message on stderr). */
int pytm_term_start(void);

/* Ends curses (idempotent, async-signal tolerant: only endwin and plain
 * writes) and replays the held stderr. */
void pytm_term_stop(void);

/* True between start and stop. */
bool pytm_term_active(void);

/* What pytm_term_getch returns for an Alt-key: no binding uses it. */
#define PYTM_TERM_KEY_ALT 0x7fff0000

/* getch() under timeout(timeout_ms) (-1: block), except that an ESC
 * followed at once by another key is not the Esc key: terminals send
 * Alt-x as ESC x in one write, and curses, having waited ESCDELAY
 * (pytm_term_start sets 25 ms) for a function-key sequence that did not
 * come, hands out the ESC and keeps the x. That x is already buffered,
 * so it is consumed here and PYTM_TERM_KEY_ALT is returned; a lone ESC
 * returns 27 as before. Leaves the curses timeout at timeout_ms. */
int pytm_term_getch(int timeout_ms);

/* Colour pairs: X(name, fg, bg) */
#define PYTM_COLORS(X)                   \
    X(HEADER, COLOR_CYAN, -1)            \
    X(TITLE, COLOR_BLACK, COLOR_GREEN)   \
    X(SELECT, COLOR_BLACK, COLOR_CYAN)   \
    X(GROW, COLOR_RED, -1)               \
    X(SHRINK, COLOR_GREEN, -1)           \
    X(STATUS, COLOR_YELLOW, -1)          \
    X(KEY, COLOR_BLACK, COLOR_CYAN)      \
    X(SPARK, COLOR_GREEN, -1)

enum pytm_color {
    PYTM_COLOR_NONE_ = 0,
#define PYTM_COLOR_ENUM(name, fg, bg) PYTM_COLOR_##name,
    PYTM_COLORS(PYTM_COLOR_ENUM)
#undef PYTM_COLOR_ENUM
};

/* attr for a colour (A_NORMAL/A_REVERSE fallback without colours). */
int pytm_term_attr(enum pytm_color c);

#endif /* PYTM_TUI_TERM_H */
