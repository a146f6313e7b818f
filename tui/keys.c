/* tui/keys: the main view's key bindings. One X-macro table gives the
 * dispatch and the help screen's lines (drawn by help.c), so they cannot
 * disagree.
 * Each handler changes the app state and returns PYTM_REACT_* flags;
 * the loop does the refreshing and drawing. */
#include "view.h"
#include "threads.h"
#include "tree.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

/* X(name, key, alt key or 0, label, help) */
#define PYTM_KEYS(X)                                                           \
    X(GROUP_FILE, 'f', 0, "f", "group by filename")                            \
    X(GROUP_LINE, 'l', 0, "l", "group by filename:line")                       \
    X(GROUP_TB, 't', 0, "t", "group by traceback")                             \
    X(CUMUL, 'c', 0, "c", "cumulative on/off (filename, line)")                \
    X(BASE, 'b', 0, "b", "take the current snapshot as the diff baseline")     \
    X(DIFF, 'd', 0, "d", "show/hide the Size Diff and Count Diff columns")     \
    X(SORT_L, '<', ',', "<", "sort by the column on the left")                 \
    X(SORT_R, '>', '.', ">", "sort by the column on the right")                \
    X(INVERT, 'I', 0, "I", "invert the sort order")                            \
    X(UP, KEY_UP, 'k', "Up", "select the previous row")                        \
    X(DOWN, KEY_DOWN, 'j', "Down", "select the next row")                      \
    X(PGUP, KEY_PPAGE, 0, "PgUp", "one page up")                               \
    X(PGDN, KEY_NPAGE, 0, "PgDn", "one page down")                             \
    X(HOME, KEY_HOME, 'g', "Home", "first row")                                \
    X(END, KEY_END, 'G', "End", "last row")                                    \
    X(DETAIL, '\n', KEY_ENTER, "Enter", "tracebacks of the row (thread view: filter)") \
    X(FILTER, '/', 0, "/", "filename filter (fnmatch pattern; empty clears)")  \
    X(SAVE, 's', 0, "s", "save a dump pytm-<pid>-<time>.pytm in the cwd")     \
    X(PROCS, 'P', 0, "P", "process tree: split rows by process ([PID] column)") \
    X(FOCUS, 'o', 0, "o", "process tree: show one process only (cycles)")    \
    X(THREADS, 'T', 0, "T", "thread view: one row per thread (T again: back)")  \
    X(UNTHREAD, 27, 0, "Esc", "clear the thread filter (every thread again)")  \
    X(PAUSE, ' ', 0, "Space", "pause/resume refreshing")                       \
    X(FASTER, '+', '=', "+", "refresh faster")                                 \
    X(SLOWER, '-', 0, "-", "refresh slower")                                   \
    X(HELP, '?', KEY_F(1), "?", "this help")                                   \
    X(QUIT, 'q', KEY_F(10), "q", "quit")

enum key_id {
#define KEY_ENUM(name, k, alt, label, help) K_##name,
    PYTM_KEYS(KEY_ENUM)
#undef KEY_ENUM
    K_NONE
};

static enum key_id
lookup(int ch)
{
#define KEY_MATCH(name, k, alt, label, help) \
    if (ch == (k) || ((alt) != 0 && ch == (alt))) \
        return K_##name;
    PYTM_KEYS(KEY_MATCH)
#undef KEY_MATCH
    if (ch == '\r')
        return K_DETAIL;
    return K_NONE;
}

/* The next sort column left (dir -1) or right (+1) of the current one,
 * skipping the diff columns when they are hidden. */
static enum pytm_model_sort
next_sort(const struct pytm_app *app, int dir)
{
    static const enum pytm_model_sort order[] = {
        PYTM_MODEL_SORT_SIZE,  PYTM_MODEL_SORT_SIZE_DIFF, PYTM_MODEL_SORT_COUNT,
        PYTM_MODEL_SORT_COUNT_DIFF, PYTM_MODEL_SORT_AVG, PYTM_MODEL_SORT_LOCATION,
        PYTM_MODEL_SORT_COMPARE};
    int n = (int)(sizeof order / sizeof *order), at = 0;
    for (int i = 0; i < n; i++)
        if (order[i] == app->sort)
            at = i;
    bool diff = app->show_diff && app->has_base;
    for (int k = 1; k <= n; k++) {
        enum pytm_model_sort s = order[((at + dir * k) % n + n) % n];
        if (diff || (s != PYTM_MODEL_SORT_SIZE_DIFF && s != PYTM_MODEL_SORT_COUNT_DIFF
                     && s != PYTM_MODEL_SORT_COMPARE))
            return s;
    }
    return app->sort;
}

static unsigned
set_group(struct pytm_app *app, enum pytm_model_group g)
{
    app->group = g;
    app->threads = false;
    app->sel = app->top = 0;
    return PYTM_REACT_REBUILD;
}

/* Moves the selection; when it passes the rows the last refresh put in
 * order (table.n_sorted: only about a screenful plus a margin is), sorts
 * further so that the rows now on screen are in the view's order. */
static unsigned
move_sel(struct pytm_app *app, long delta)
{
    long n = (long)pytm_app_n_rows(app);
    long s = (long)app->sel + delta;
    s = s >= n ? n - 1 : s;
    app->sel = s < 0 ? 0 : (size_t)s;
    pytm_app_sort_rows(app, app->sel + app->page + 1);
    return PYTM_REACT_REDRAW;
}

/* A new sort order needs no regrouping: only the visible rows (and a
 * margin) are put in the new order. */
static unsigned
resort(struct pytm_app *app)
{
    pytm_app_sort_rows(app, app->sel + app->page + 1);
    return PYTM_REACT_REDRAW;
}

unsigned
pytm_keys_handle(struct pytm_app *app, int ch)
{
    long page = pytm_screen_page() > 1 ? pytm_screen_page() : 1;
    long n_rows = (long)pytm_app_n_rows(app);
    switch (lookup(ch)) {
    case K_GROUP_FILE:
        return set_group(app, PYTM_MODEL_FILENAME);
    case K_GROUP_LINE:
        return set_group(app, PYTM_MODEL_LINENO);
    case K_GROUP_TB:
        return set_group(app, PYTM_MODEL_TRACEBACK);
    case K_CUMUL:
        if (app->group == PYTM_MODEL_TRACEBACK) {
            snprintf(app->status, sizeof app->status,
                     "cumulative needs filename or line grouping (f, l)");
            return PYTM_REACT_REDRAW;
        }
        app->cumulative = !app->cumulative;
        return PYTM_REACT_REBUILD;
    case K_BASE:
        if (pytm_app_set_baseline(app) == 0)
            snprintf(app->status, sizeof app->status,
                     "baseline set (d shows the diff columns)");
        else
            snprintf(app->status, sizeof app->status, "baseline: out of memory");
        return PYTM_REACT_REBUILD;
    case K_DIFF:
        if (!app->has_base) {
            snprintf(app->status, sizeof app->status, "no baseline yet: press b first");
            return PYTM_REACT_REDRAW;
        }
        app->show_diff = !app->show_diff;
        if (!app->show_diff && (app->sort == PYTM_MODEL_SORT_SIZE_DIFF
                                || app->sort == PYTM_MODEL_SORT_COUNT_DIFF
                                || app->sort == PYTM_MODEL_SORT_COMPARE))
            app->sort = PYTM_MODEL_SORT_SIZE;
        return resort(app); /* the rows are diffed whenever has_base */
    case K_SORT_L:
        app->sort = next_sort(app, -1);
        return resort(app);
    case K_SORT_R:
        app->sort = next_sort(app, +1);
        return resort(app);
    case K_INVERT:
        app->descending = !app->descending;
        return resort(app);
    case K_UP:
        return move_sel(app, -1);
    case K_DOWN:
        return move_sel(app, 1);
    case K_PGUP:
        return move_sel(app, -page);
    case K_PGDN:
        return move_sel(app, page);
    case K_HOME:
        return move_sel(app, -n_rows);
    case K_END:
        return move_sel(app, n_rows);
    case K_DETAIL:
        if (app->threads)
            return app->sel < app->trows.n_rows
                       ? pytm_threads_enter(app, &app->trows.rows[app->sel])
                       : PYTM_REACT_NONE;
        if (app->table.n_rows && pytm_detail_open(app) == 0)
            app->detail = true;
        return PYTM_REACT_REDRAW;
    case K_FILTER: {
        char buf[sizeof app->filter];
        snprintf(buf, sizeof buf, "%s", app->filter);
        if (pytm_prompt_line("filter (fnmatch, empty clears): ", buf, sizeof buf) == 0) {
            snprintf(app->filter, sizeof app->filter, "%s", buf);
            app->sel = app->top = 0;
        }
        return PYTM_REACT_REBUILD;
    }
    case K_SAVE:
        pytm_app_dump(app);
        return PYTM_REACT_REDRAW;
    case K_PROCS:
        return pytm_tree_key(app, PYTM_TREE_KEY_SPLIT);
    case K_FOCUS:
        return pytm_tree_key(app, PYTM_TREE_KEY_FOCUS);
    case K_THREADS:
        return pytm_threads_toggle(app);
    case K_UNTHREAD:
        return pytm_threads_clear(app);
    case K_PAUSE:
        app->paused = !app->paused;
        return PYTM_REACT_REDRAW;
    case K_FASTER:
        app->delay = app->delay > 0.2 ? app->delay / 2 : 0.1;
        snprintf(app->status, sizeof app->status, "refresh every %.1f s", app->delay);
        return PYTM_REACT_REDRAW;
    case K_SLOWER:
        app->delay = app->delay < 30 ? app->delay * 2 : 60;
        snprintf(app->status, sizeof app->status, "refresh every %.1f s", app->delay);
        return PYTM_REACT_REDRAW;
    case K_HELP:
        app->help = true;
        return PYTM_REACT_REDRAW;
    case K_QUIT:
        return PYTM_REACT_QUIT;
    case K_NONE:
        break;
    }
    return PYTM_REACT_NONE;
}

static const struct {
    const char *label, *help;
} help_table[] = {
#define KEYS_HELP_ENTRY(name, k, alt, label, help) {label, help},
    PYTM_KEYS(KEYS_HELP_ENTRY)
#undef KEYS_HELP_ENTRY
};

size_t
pytm_keys_n_help(void)
{
    return sizeof help_table / sizeof *help_table;
}

void
pytm_keys_help(size_t i, const char **label, const char **help)
{
    *label = help_table[i].label;
    *help = help_table[i].help;
}

const char *
pytm_keys_footer(void)
{
    return "?Help f/l/t Group c Cumul b Base d Diff </> Sort I Invert "
           "Enter Detail / Filter s Save P Procs o Focus T Threads Esc All "
           "Space Pause +/- Rate q Quit";
}
