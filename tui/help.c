/* tui/help: the help screen: the key table (keys.c) and a few notes on
 * the other views. Taller than the terminal (32 lines against 24 rows
 * on 80x24), it scrolls like the detail view, and its last row says
 * which lines are shown and whether more follow, so a cut-off help is
 * never mistaken for the whole. */
#include "view.h"

#include <curses.h>
#include <stdio.h>

static const char *const notes[] = {
    "In the thread view (T): Enter shows only the selected thread in",
    "every view (the header names it); Enter on it again, or Esc, shows",
    "every thread. In the detail view: Up/Down/PgUp/PgDn scroll, Esc or",
    "q closes.",
};
#define N_NOTES (sizeof notes / sizeof *notes)

#define TOP_ROWS 2 /* the title and a blank row */

/* Body lines: one per key, a blank line, the notes. */
static size_t
n_lines(void)
{
    return pytm_keys_n_help() + 1 + N_NOTES;
}

static void
body_line(size_t i, char *buf, size_t len)
{
    size_t nk = pytm_keys_n_help();
    const char *label, *help;
    if (i < nk) {
        pytm_keys_help(i, &label, &help);
        snprintf(buf, len, "  %-8s %s", label, help);
    } else if (i == nk) {
        buf[0] = '\0';
    } else {
        snprintf(buf, len, "  %s", notes[i - nk - 1]);
    }
}

/* Body rows between the title and the marker row. */
static size_t
page(void)
{
    return LINES > TOP_ROWS + 2 ? (size_t)LINES - TOP_ROWS - 1 : 1;
}

static size_t
max_top(void)
{
    return n_lines() > page() ? n_lines() - page() : 0;
}

void
pytm_help_draw(const struct pytm_app *app)
{
    erase();
    attron(A_BOLD);
    mvaddnstr(0, 0, "pytmtop keys (Up/Down/PgUp/PgDn scroll; any other key closes)",
              COLS);
    attroff(A_BOLD);
    size_t top = app->help_top < max_top() ? app->help_top : max_top();
    size_t rows = page(), n = n_lines();
    char line[256];
    for (size_t k = 0; k < rows && top + k < n; k++) {
        body_line(top + k, line, sizeof line);
        mvaddnstr(TOP_ROWS + (int)k, 0, line, COLS);
    }
    if (n > rows) { /* else it all fits: no marker */
        size_t last = top + rows < n ? top + rows : n;
        snprintf(line, sizeof line, " lines %zu-%zu of %zu%s", top + 1, last, n,
                 last < n ? ", MORE below: Down/PgDn/Space (Up/PgUp back)"
                          : " (end; Up/PgUp/Home back)");
        attron(A_REVERSE);
        mvhline(LINES - 1, 0, ' ', COLS);
        mvaddnstr(LINES - 1, 0, line, COLS);
        attroff(A_REVERSE);
    }
    refresh();
}

unsigned
pytm_help_key(struct pytm_app *app, int ch)
{
    size_t rows = page(), max = max_top();
    size_t top = app->help_top < max ? app->help_top : max;
    switch (ch) {
    case KEY_UP:
    case 'k':
        top = top ? top - 1 : 0;
        break;
    case KEY_DOWN:
    case 'j':
        top = top < max ? top + 1 : max;
        break;
    case KEY_PPAGE:
        top = top > rows ? top - rows : 0;
        break;
    case KEY_NPAGE:
    case ' ':
        top = top + rows < max ? top + rows : max;
        break;
    case KEY_HOME:
    case 'g':
        top = 0;
        break;
    case KEY_END:
    case 'G':
        top = max;
        break;
    default:
        app->help = false;
        app->help_top = 0;
        return PYTM_REACT_REDRAW;
    }
    app->help_top = top;
    return PYTM_REACT_REDRAW;
}
