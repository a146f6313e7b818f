/* tui/screen: header, table and footer of the main view. */
#include "view.h"

#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pytm_clock.h"
#include "snap.h"
#include "term.h"
#include "threads.h"
#include "tree.h"

#define HEADER_LINES 5 /* 4 header lines + the status line */
#define MIN_COLS 60
#define MIN_LINES 10

int
pytm_screen_page(void)
{
    int n = LINES - HEADER_LINES - 2; /* column titles + footer */
    return n > 0 ? n : 0;
}

static void
fmt_dur(char *buf, size_t len, uint64_t ns)
{
    uint64_t s = ns / 1000000000u;
    if (s < 3600)
        snprintf(buf, len, "%" PRIu64 ":%02" PRIu64, s / 60, s % 60);
    else
        snprintf(buf, len, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 3600,
                 s / 60 % 60, s % 60);
}

static void
draw_header(struct pytm_app *app)
{
    const struct pytm_snap *s = &app->src.snap;
    bool est = s->meta.sample_interval != 1;
    char a[32], b[32], c[32], up[32], line[512];
    uint64_t end = app->src.exited && s->meta.taken_realtime_ns
                       ? s->meta.taken_realtime_ns : pytm_clock_ns(CLOCK_REALTIME);
    fmt_dur(up, sizeof up,
            end > s->meta.start_realtime_ns && s->meta.start_realtime_ns
                ? end - s->meta.start_realtime_ns : 0);
    attron(pytm_term_attr(PYTM_COLOR_HEADER) | A_BOLD);
    snprintf(line, sizeof line, "pytmtop  PID %" PRId64 "  up %s  %s", app->src.pid, up,
             app->src.kind == PYTM_SOURCE_FILE ? "[file]"
             : app->src.exited               ? "[process exited: showing last data]"
             : app->src.stopped              ? "[tracing stopped]" : "");
    mvaddnstr(0, 0, line, COLS);
    attroff(pytm_term_attr(PYTM_COLOR_HEADER) | A_BOLD);
    char cmd[512], tf[128];
    int x = 0;
    pytm_threads_fmt_filter(tf, sizeof tf, app);
    if (tf[0]) { /* first on the line: visible however narrow */
        snprintf(line, sizeof line, "[thread: %s]  ", tf);
        attron(pytm_term_attr(PYTM_COLOR_STATUS) | A_BOLD);
        mvaddnstr(1, 0, line, COLS);
        attroff(pytm_term_attr(PYTM_COLOR_STATUS) | A_BOLD);
        x = (int)strlen(line);
    }
    if (x >= COLS) {
        /* no room left */
    } else if (app->tree) { /* the process list takes the command's line */
        pytm_tree_format(app->tree, cmd, sizeof cmd);
        mvaddnstr(1, x, cmd, COLS - x);
    } else {
        pytm_fmt_left_trunc(cmd, sizeof cmd, s->meta.cmdline ? s->meta.cmdline : "",
                            COLS - x > 12 ? COLS - x - 6 : 6);
        mvprintw(1, x, "cmd: %s", cmd);
    }
    pytm_fmt_size(a, sizeof a, s->totals.traced_current, false);
    pytm_fmt_size(b, sizeof b, s->totals.traced_peak, false);
    int64_t rss = app->src.kind == PYTM_SOURCE_LIVE && !app->src.exited
                      ? pytm_source_rss(app->src.pid) : -1;
    if (rss >= 0)
        pytm_fmt_size(c, sizeof c, rss, false);
    else
        snprintf(c, sizeof c, "-");
    snprintf(line, sizeof line, "traced %s%s  peak %s%s%s  RSS %s  ", est ? "~" : "",
             a, est ? "~" : "", b, est ? " (est.)" : "", c);
    mvaddnstr(2, 0, line, COLS);
    x = (int)strlen(line);
    if (x < COLS - 4) {
        char sp[3 * PYTM_SPARK_CAP + 1];
        pytm_sparkline_render(&app->spark, COLS - x - 1 < 60 ? COLS - x - 1 : 60, sp,
                              sizeof sp);
        attron(pytm_term_attr(PYTM_COLOR_SPARK));
        mvaddstr(2, x, sp);
        attroff(pytm_term_attr(PYTM_COLOR_SPARK));
    }
    char base[64] = "";
    if (app->has_base) {
        uint64_t t = app->src.snap.meta.taken_realtime_ns ? app->src.snap.meta.taken_realtime_ns : pytm_clock_ns(CLOCK_REALTIME);
        fmt_dur(up, sizeof up, t > app->base_taken_ns ? t - app->base_taken_ns : 0);
        snprintf(base, sizeof base, "  base %s ago%s", up, app->show_diff ? "" : " (d: show)");
    }
    pytm_fmt_size(a, sizeof a, (int64_t)s->meta.sample_interval, false);
    uint64_t now_iv = s->totals.sample_interval_now;
    if (s->meta.sample_interval != 1 && now_iv > s->meta.sample_interval) {
        /* a full arena made the recorder back off: say so */
        char nb[16];
        pytm_fmt_size(nb, sizeof nb, (int64_t)now_iv, false);
        size_t used = strlen(a);
        snprintf(a + used, sizeof a - used, " (now %s)", nb);
    }
    snprintf(line, sizeof line,
             "interval %s  samples %" PRIu64 "  tracebacks %" PRIu32 "  dropped %" PRIu64
             "  | %s%s  sort %s %s%s%s%s%s",
             s->meta.sample_interval == 1 ? "1 (exact)" : a, s->totals.live_samples,
             app->table.n_tbs, s->totals.n_dropped,
             app->threads ? "threads" : pytm_model_group_name(app->group),
             app->cumulative && !app->threads ? " cumulative" : "", pytm_model_sort_title(app->sort),
             app->descending ? "desc" : "asc", base, app->filter[0] ? "  filter " : "",
             app->filter, app->paused ? "  [PAUSED]" : "");
    mvaddnstr(3, 0, line, COLS);
    attron(pytm_term_attr(PYTM_COLOR_STATUS));
    mvaddnstr(4, 0, app->status, COLS);
    attroff(pytm_term_attr(PYTM_COLOR_STATUS));
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
    draw_header(app);
    if (COLS < MIN_COLS || LINES < MIN_LINES) {
        char note[64];
        snprintf(note, sizeof note, "terminal too small (need %dx%d)", MIN_COLS,
                 MIN_LINES);
        mvaddnstr(LINES > 5 ? 5 : LINES - 1, 0, note, COLS);
        refresh();
        return 0;
    }
    int page = pytm_screen_page();
    draw_titles(app, HEADER_LINES);
    if (app->sel < app->top)
        app->top = app->sel;
    if (page > 0 && app->sel >= app->top + (size_t)page)
        app->top = app->sel - (size_t)page + 1;
    size_t n = pytm_app_n_rows(app);
    for (int k = 0; k < page && app->top + (size_t)k < n; k++)
        (app->threads ? draw_thread_row : draw_row)(app, HEADER_LINES + 1 + k,
                                                    app->top + (size_t)k);
    if (n == 0)
        mvaddstr(HEADER_LINES + 1, 2,
                 app->model_err ? "(model error)" : "(no live allocations recorded)");
    attron(pytm_term_attr(PYTM_COLOR_KEY));
    mvhline(LINES - 1, 0, ' ', COLS);
    mvaddnstr(LINES - 1, 0, pytm_keys_footer(), COLS);
    attroff(pytm_term_attr(PYTM_COLOR_KEY));
    refresh();
    return page;
}

int
pytm_screen_prompt(const char *label, char *buf, size_t len)
{
    size_t n = strlen(buf);
    curs_set(1);
    for (;;) {
        move(LINES - 1, 0);
        clrtoeol();
        mvprintw(LINES - 1, 0, "%s%s", label, buf);
        refresh();
        int ch = pytm_term_getch(-1); /* Alt-x: no Esc, ignored */
        if (ch == 27) {
            curs_set(0);
            return -1;
        }
        if (ch == '\n' || ch == KEY_ENTER || ch == '\r')
            break;
        if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && n > 0)
            buf[--n] = '\0';
        else if (ch >= 32 && ch < 256 && n + 1 < len) {
            buf[n++] = (char)ch;
            buf[n] = '\0';
        }
    }
    curs_set(0);
    return 0;
}
