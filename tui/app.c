/* tui/app: rebuilding the rows, the baseline, the dump command. */
#include "app.h"
#include "threads.h"
#include "tree.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "pytm_clock.h"
#include "pytm_error.h"

/* Rows sorted beyond what the screen needs right now, so that a few
 * pages of scrolling cost no sort at all. */
#define SORT_MARGIN_PAGES 3
#define SORT_MIN_ROWS 64

/* True when base_table was built for the current baseline and the
 * view's group, cumulative, filter and thread filter. */
static bool
base_current(const struct pytm_app *app)
{
    const struct pytm_app *a = app; /* short: the conditions are many */
    bool same_thread = a->base_key.tf_on == a->tfilter.on
                       && (!a->tfilter.on || (a->base_key.tf_tid == a->tfilter.tid
                                              && a->base_key.tf_ident == a->tfilter.ident));
    return a->base_built && a->base_key.group == a->group
           && a->base_key.cumulative == a->cumulative
           && strcmp(a->base_key.filter, a->filter) == 0 && same_thread;
}

/* Builds base_table from the baseline with *o (unsorted: it is only
 * ever joined by key, never shown). */
static int
build_base(struct pytm_app *app, const struct pytm_model_opts *o)
{
    app->base_built = false;
    const struct pytm_snap *base;
    int err = pytm_threads_view_snap(app, &app->base, &app->fbase, &base);
    if (!err)
        err = pytm_model_build(&app->base_table, base, o);
    if (err)
        return err;
    app->base_key.group = app->group;
    app->base_key.cumulative = app->cumulative;
    snprintf(app->base_key.filter, sizeof app->base_key.filter, "%s", app->filter);
    app->base_key.tf_on = app->tfilter.on;
    app->base_key.tf_tid = app->tfilter.tid;
    app->base_key.tf_ident = app->tfilter.ident;
    app->base_built = true;
    return 0;
}

size_t
pytm_app_n_rows(const struct pytm_app *app)
{
    return app->threads ? app->trows.n_rows : app->table.n_rows;
}

int
pytm_app_sort_rows(struct pytm_app *app, size_t upto)
{
    struct pytm_model_table *t = &app->table;
    if (app->model_err)
        return app->model_err;
    if (app->threads) { /* a few rows: all of them, free when in order */
        int err = pytm_thread_rows_sort(&app->trows, app->sort, app->descending);
        if (err)
            app->model_err = err;
        return err;
    }
    if (upto > t->n_rows)
        upto = t->n_rows;
    if (t->sort == app->sort && t->descending == app->descending
        && t->n_sorted >= upto)
        return 0;
    size_t page = app->page > 0 ? app->page : 1;
    size_t k = upto;
    if (upto < t->n_rows) {
        size_t extra = SORT_MARGIN_PAGES * page;
        k = upto + (extra > SORT_MIN_ROWS ? extra : SORT_MIN_ROWS);
        if (k < upto) /* overflow */
            k = SIZE_MAX;
    }
    int err = pytm_model_sort_top(t, app->sort, app->descending, k);
    if (err)
        app->model_err = err;
    return err;
}

int
pytm_app_rebuild(struct pytm_app *app)
{
    if (app->group == PYTM_MODEL_TRACEBACK)
        app->cumulative = false;
    struct pytm_model_opts o = {
        .group = app->group,
        .cumulative = app->cumulative,
        .filter = app->filter,
        .unsorted = true, /* sorted below, only as far as needed */
    };
    const struct pytm_snap *cur;
    int err = pytm_threads_view_snap(app, &app->src.snap, &app->fsnap, &cur);
    if (!err)
        err = pytm_model_build(&app->table, cur, &o);
    if (!err && app->has_base) {
        if (!base_current(app))
            err = build_base(app, &o);
        if (!err)
            err = pytm_model_diff(&app->table, &app->base_table);
    }
    if (!err)
        err = pytm_threads_rebuild(app);
    app->model_err = err;
    if (!err)
        err = pytm_app_sort_rows(app, app->sel + app->page + 1);
    if (err) {
        app->table.n_rows = 0;
        app->trows.n_rows = 0;
    }
    size_t n = pytm_app_n_rows(app);
    if (app->sel >= n)
        app->sel = n ? n - 1 : 0;
    if (app->top > app->sel)
        app->top = app->sel;
    return err;
}

int
pytm_app_set_baseline(struct pytm_app *app)
{
    pytm_model_free(&app->base_table); /* borrows the old baseline */
    pytm_model_free(&app->table);
    pytm_thread_rows_free(&app->trows); /* BASE rows' names too */
    pytm_snap_free(&app->base);
    pytm_snap_free(&app->fbase);
    app->has_base = false;
    app->base_built = false;
    int err = pytm_snap_copy(&app->base, &app->src.snap);
    if (err)
        return err;
    app->has_base = true;
    app->base_taken_ns = app->src.snap.meta.taken_realtime_ns;
    if (!app->base_taken_ns)
        app->base_taken_ns = pytm_clock_ns(CLOCK_REALTIME);
    return 0;
}

int
pytm_app_dump(struct pytm_app *app)
{
    char path[128], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(path, sizeof path, "pytm-%lld-%s.pytm", (long long)app->src.pid,
             stamp);
    struct pytm_dump_error de;
    int err = pytm_dump_write(path, &app->src.snap, &de);
    if (err)
        snprintf(app->status, sizeof app->status, "dump failed: %.200s",
                 de.msg[0] ? de.msg : pytm_strerror(err));
    else
        snprintf(app->status, sizeof app->status, "wrote %s", path);
    return err;
}

void
pytm_app_done(struct pytm_app *app)
{
    pytm_model_free(&app->table);
    pytm_model_free(&app->base_table);
    pytm_thread_rows_free(&app->trows);
    pytm_snap_free(&app->base);
    pytm_snap_free(&app->fsnap);
    pytm_snap_free(&app->fbase);
    app->has_base = false;
    app->base_built = false;
    if (app->tree) {
        pytm_tree_free(app->tree);
        free(app->tree);
        app->tree = NULL;
    }
    pytm_source_close(&app->src);
}
