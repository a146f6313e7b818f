/* tui/screen: the main view: the header (header.c), the table of rows
 * (model rows or, in the thread view, thread rows) and the footer. */
#include "view.h"

#include <curses.h>
#include <inttypes.h>
#include <stdio.h>

#include "term.h"
#include "threads.h"

#define MIN_COLS 60
#define MIN_LINES 10

int
pytm_screen_page(void)
{
    int n = LINES - PYTM_HEADER_LINES - 2; /* column titles + footer */
    return n > 0 ? n : 0;
}

/* Table columns: X(title, width, sort) */
#define COLUMNS(X)                                  \
    X("Size", 11, PYTM_MODEL_SORT_SIZE)             \
    X("Size Diff", 12, PYTM_MODEL_SORT_SIZE_DIFF)   \
    X("Count", 9, PYTM_MODEL_SORT_COUNT)            \
    X("Count Diff", 11, PYTM_MODEL_SORT_COUNT_DIFF) \
    X("Avg size", 10, PYTM_MODEL_SORT_AVG)          \
    X("%", 7, -1)

static bool
is_diff_col(int sort)
{
    return sort == PYTM_MODEL_SORT_SIZE_DIFF || sort == PYTM_MODEL_SORT_COUNT_DIFF;
}

static void
draw_titles(struct pytm_app *app, int y)
{
    char line[1024];
    int x = 0;
    bool diff = app->show_diff && app->has_base;
    attron(pytm_term_attr(PYTM_COLOR_TITLE));
    mvhline(y, 0, ' ', COLS);
#define TITLE(t, w, s)                                                          \
    if (diff || !is_diff_col(s)) {                                              \
        snprintf(line, sizeof line, "%*s%s", w - 1, t,                          \
                 (int)(s) == (int)app->sort ? (app->descending ? "▼" : "▲") : " "); \
        mvaddnstr(y, x, line, COLS - x > 0 ? COLS - x : 0);                     \
        x += w;                                                                 \
    }
    COLUMNS(TITLE)
#undef TITLE
    snprintf(line, sizeof line, " %s%s", app->threads ? "Thread" : "Location",
             app->sort == PYTM_MODEL_SORT_LOCATION ? (app->descending ? " ▼" : " ▲")
             : app->sort == PYTM_MODEL_SORT_COMPARE ? "  (sort |diff|)" : "");
    if (x < COLS)
        mvaddnstr(y, x, line, COLS - x);
    attroff(pytm_term_attr(PYTM_COLOR_TITLE));
}

/* The figures of a row (model or thread row) up to the location
 * column, into line; returns their length. */
static int
fmt_figures(const struct pytm_app *app, char *line, size_t len, int64_t size,
            int64_t size_diff, int64_t count, int64_t count_diff, int64_t total)
{
    bool diff = app->show_diff && app->has_base;
    char a[32], b[32], c[32];
    pytm_fmt_size(a, sizeof a, size, false);
    pytm_fmt_size(c, sizeof c, count > 0 ? size / count : 0, false);
    double pct = total > 0 ? 100.0 * (double)size / (double)total : 0;
    int n = 0;
    n += snprintf(line + n, len - (size_t)n, "%10s ", a);
    if (diff) {
        pytm_fmt_size(b, sizeof b, size_diff, true);
        n += snprintf(line + n, len - (size_t)n, "%11s ", b);
    }
    n += snprintf(line + n, len - (size_t)n, "%8" PRId64 " ", count);
    if (diff)
        n += snprintf(line + n, len - (size_t)n, "%+10" PRId64 " ", count_diff);
    n += snprintf(line + n, len - (size_t)n, "%9s %5.1f%%  ", c, pct);
    return n;
}

/* A table line, at most max bytes (-1: all; they fit the width). */
static void
draw_line(const struct pytm_app *app, int y, size_t i, const char *line, int max)
{
    bool sel = i == app->sel;
    if (sel) {
        attron(pytm_term_attr(PYTM_COLOR_SELECT));
        mvhline(y, 0, ' ', COLS);
    }
    mvaddnstr(y, 0, line, max);
    if (sel)
        attroff(pytm_term_attr(PYTM_COLOR_SELECT));
}

static void
draw_row(struct pytm_app *app, int y, size_t i)
{
    const struct pytm_model_table *t = &app->table;
    const struct pytm_model_row *r = &t->rows[i];
    char loc[1024], shortloc[1024], line[2048];
    /* %: of the whole process, also under a thread filter (as under
     * the / filter): trows are built from the unfiltered snapshot */
    int64_t total = app->tfilter.on ? app->trows.total_size : t->total_size;
    int n = fmt_figures(app, line, sizeof line, r->size, r->size_diff, r->count,
                        r->count_diff, total);
    pytm_fmt_location(loc, sizeof loc, t, r);
    pytm_fmt_left_trunc(shortloc, sizeof shortloc, loc, COLS - n > 4 ? COLS - n : 4);
    snprintf(line + n, sizeof line - (size_t)n, "%s", shortloc);
    draw_line(app, y, i, line, -1);
}

/* A thread row; "*" marks the thread the other views are filtered to. */
static void
draw_thread_row(struct pytm_app *app, int y, size_t i)
{
    const struct pytm_thread_row *r = &app->trows.rows[i];
    char name[256], line[1024];
    int n = fmt_figures(app, line, sizeof line, r->size, r->size_diff, r->count,
                        r->count_diff, app->trows.total_size);
    bool on = app->tfilter.on && app->tfilter.tid == r->tid
              && app->tfilter.ident == r->ident;
    pytm_threads_fmt_row(name, sizeof name, r);
    snprintf(line + n, sizeof line - (size_t)n, "%s%s", on ? "* " : "", name);
    draw_line(app, y, i, line, COLS); /* bytes >= columns: never wraps */
}

int
pytm_screen_draw(struct pytm_app *app)
{
    erase();
    pytm_header_draw(app);
    if (COLS < MIN_COLS || LINES < MIN_LINES) {
        char note[64];
        snprintf(note, sizeof note, "terminal too small (need %dx%d)", MIN_COLS,
                 MIN_LINES);
        mvaddnstr(LINES > 5 ? 5 : LINES - 1, 0, note, COLS);
        refresh();
        return 0;
    }
    int page = pytm_screen_page();
    draw_titles(app, PYTM_HEADER_LINES);
    if (app->sel < app->top)
        app->top = app->sel;
    if (page > 0 && app->sel >= app->top + (size_t)page)
        app->top = app->sel - (size_t)page + 1;
    size_t n = pytm_app_n_rows(app);
    for (int k = 0; k < page && app->top + (size_t)k < n; k++)
        (app->threads ? draw_thread_row : draw_row)(app, PYTM_HEADER_LINES + 1 + k,
                                                    app->top + (size_t)k);
    if (n == 0)
        mvaddstr(PYTM_HEADER_LINES + 1, 2,
                 app->model_err ? "(model error)" : "(no live allocations recorded)");
    attron(pytm_term_attr(PYTM_COLOR_KEY));
    mvhline(LINES - 1, 0, ' ', COLS);
    mvaddnstr(LINES - 1, 0, pytm_keys_footer(), COLS);
    attroff(pytm_term_attr(PYTM_COLOR_KEY));
    refresh();
    return page;
}
