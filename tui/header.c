/* tui/header: the main view's first PYTM_HEADER_LINES rows: the
 * target and its state, the command (or the process tree), the totals
 * with the sparkline, the view's settings, and the status line. */
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

void
pytm_header_draw(const struct pytm_app *app)
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
