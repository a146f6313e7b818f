/* tui/loop: refresh on a getch timeout; key handlers return reaction
 * flags and the loop decides what to refresh, rebuild and redraw. */
#include "loop.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pytm_clock.h"
#include "pytm_error.h"
#include "spawn.h"
#include "term.h"
#include "tree.h"
#include "view.h"

void
pytm_loop_refresh(struct pytm_app *app)
{
    bool was_exited = app->src.exited;
    if (app->child > 0 && !app->src.exited && pytm_spawn_exited(app->child)) {
        /* freeze on the last snapshot taken while it was alive */
        app->src.exited = true;
        app->src.snap.meta.flags |= PYTM_SNAP_EXITED;
        app->child = 0;
    } else {
        int err = pytm_source_refresh(&app->src);
        if (err)
            snprintf(app->status, sizeof app->status, "read failed (%s): showing the "
                     "previous data", pytm_strerror(err));
    }
    if (app->tree && pytm_tree_refresh(app->tree, &app->src) != 0)
        snprintf(app->status, sizeof app->status, "process tree: %s",
                 pytm_strerror(app->tree->last_err));
    if (app->src.exited && !was_exited)
        snprintf(app->status, sizeof app->status,
                 "the process has exited: showing its last data (s saves it)");
    if (!app->src.exited)
        pytm_sparkline_push(&app->spark, app->src.snap.totals.traced_current);
}

static double
mono(void)
{
    return (double)pytm_clock_ns(CLOCK_MONOTONIC) / 1e9;
}

/* The screen may have grown (or the selection moved): the rows it shows
 * must be in order before they are drawn. */
static void
draw(struct pytm_app *app)
{
    app->page = (size_t)pytm_screen_page();
    pytm_app_sort_rows(app, app->sel + app->page + 1);
    if (app->help)
        pytm_help_draw(app);
    else if (app->detail)
        pytm_detail_draw(app);
    else
        pytm_screen_draw(app);
}

/* Batch mode on -p PID whose process is gone: nothing more to refresh. */
static bool
batch_target_gone(const struct pytm_app *app)
{
    return app->opt.iterations > 0 && app->opt.pid && app->src.exited;
}

int
pytm_loop_run(struct pytm_app *app, long *refreshes_out)
{
    if (pytm_term_start() != 0)
        return 1;
    pytm_sparkline_push(&app->spark, app->src.snap.totals.traced_current);
    app->page = (size_t)pytm_screen_page();
    pytm_app_rebuild(app);
    long refreshes = 0;
    char shown[sizeof app->status] = ""; /* status line and when it was set */
    double shown_at = 0;
    double next = mono() + app->delay;
    bool quit = false;
    int rc = 0;
    while (!quit) {
        /* a status message stays 5 s; "exited" stays while exited */
        if (strcmp(shown, app->status) != 0) {
            memcpy(shown, app->status, sizeof shown);
            shown_at = mono();
        } else if (app->status[0] && !app->src.exited && mono() - shown_at > 5.0) {
            app->status[0] = shown[0] = '\0';
        }
        draw(app);
        if (batch_target_gone(app)) {
            rc = PYTM_LOOP_GONE;
            break;
        }
        if (app->opt.iterations > 0 && refreshes >= app->opt.iterations)
            break;
        int wait_ms = (int)((next - mono()) * 1000.0);
        int ch = pytm_term_getch(wait_ms > 0 ? wait_ms : 0);
        unsigned react = PYTM_REACT_NONE;
        if (ch == ERR) {
            next = mono() + app->delay;
            refreshes++;
            if (!app->paused)
                react = PYTM_REACT_REFRESH;
        } else if (ch == KEY_RESIZE) {
            react = PYTM_REACT_REDRAW;
        } else if (app->help) {
            react = pytm_help_key(app, ch);
        } else if (app->detail) {
            react = pytm_detail_key(app, ch);
        } else {
            react = pytm_keys_handle(app, ch);
        }
        if (react & PYTM_REACT_QUIT)
            quit = true;
        if (react & PYTM_REACT_REFRESH)
            pytm_loop_refresh(app);
        if (react & (PYTM_REACT_REFRESH | PYTM_REACT_REBUILD))
            pytm_app_rebuild(app);
    }
    pytm_detail_close();
    pytm_term_stop();
    if (refreshes_out)
        *refreshes_out = refreshes;
    return rc;
}
