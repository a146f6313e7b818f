/* tui/view: the curses views of pytmtop. Each exports *_draw (paints
 * from the app state, never changes it) and, where it takes keys,
 * *_key returning PYTM_REACT_* flags; the loop (loop.c) decides what to
 * refresh and redraw. */
#ifndef PYTM_TUI_VIEW_H
#define PYTM_TUI_VIEW_H

#include "app.h"

/* Reaction flags returned by key handlers */
#define PYTM_REACT_NONE 0x0u
#define PYTM_REACT_REDRAW 0x1u  /* repaint */
#define PYTM_REACT_REBUILD 0x2u /* regroup/sort the current snapshot */
#define PYTM_REACT_REFRESH 0x4u /* take a new snapshot now */
#define PYTM_REACT_QUIT 0x8u

/* header.c: the main view's header rows (0 .. PYTM_HEADER_LINES - 1):
 * four lines of target, totals and view settings, then the status line. */
#define PYTM_HEADER_LINES 5
void pytm_header_draw(const struct pytm_app *app);

/* screen.c: header, table and footer; returns the number of table rows
 * that fit (for paging). */
int pytm_screen_draw(struct pytm_app *app);
/* Rows of the table area for the current terminal size. */
int pytm_screen_page(void);

/* detail.c: the selected group's tracebacks, most recent frame first,
 * with source lines; built on open, freed on close. */
int pytm_detail_open(struct pytm_app *app);
void pytm_detail_close(void);
void pytm_detail_draw(struct pytm_app *app);
unsigned pytm_detail_key(struct pytm_app *app, int ch);

/* keys.c: the main view's key table. */
unsigned pytm_keys_handle(struct pytm_app *app, int ch);
/* The key table's entries for the help screen: pytm_keys_n_help() of
 * them; entry i < n sets *label (the key's name, e.g. "PgDn") and *help
 * (what it does), both static strings. */
size_t pytm_keys_n_help(void);
void pytm_keys_help(size_t i, const char **label, const char **help);
/* One-line footer text of the main keys. */
const char *pytm_keys_footer(void);

/* help.c: the help screen (?), the key table and notes from line
 * app->help_top on (clamped to the last page), with a "lines a-b of n,
 * MORE below" marker in the last row when it does not fit. Its keys:
 * Up/Down/PgUp/PgDn/Space/Home/End (and k/j/g/G) scroll, any other key
 * closes it (help = false, help_top = 0). */
void pytm_help_draw(const struct pytm_app *app);
unsigned pytm_help_key(struct pytm_app *app, int ch);

/* prompt.c: reads a line in the bottom row (the / filter prompt),
 * starting from buf's text. Returns 0 with buf filled, or -1 when
 * cancelled with Esc. */
int pytm_prompt_line(const char *label, char *buf, size_t len);

#endif /* PYTM_TUI_VIEW_H */
