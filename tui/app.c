/* tui/app: rebuilding the rows, the baseline, the dump command. */
#include "app.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "pytm_error.h"

int
pytm_app_rebuild(struct pytm_app *app)
{
    if (app->group == PYTM_MODEL_TRACEBACK)
        app->cumulative = false;
    struct pytm_model_opts o = {
        .group = app->group,
        .cumulative = app->cumulative,
        .filter = app->filter,
    };
    int err = pytm_model_build(&app->table, &app->src.snap, &o);
    if (!err && app->has_base) {
        err = pytm_model_build(&app->base_table, &app->base, &o);
        if (!err)
            err = pytm_model_diff(&app->table, &app->base_table);
    }
    if (!err)
        err = pytm_model_sort(&app->table, app->sort, app->descending);
    app->model_err = err;
    if (err)
        app->table.n_rows = 0;
    if (app->sel >= app->table.n_rows)
        app->sel = app->table.n_rows ? app->table.n_rows - 1 : 0;
    if (app->top > app->sel)
        app->top = app->sel;
    return err;
}

int
pytm_app_set_baseline(struct pytm_app *app)
{
    pytm_model_free(&app->base_table); /* borrows the old baseline */
    pytm_model_free(&app->table);
    pytm_snap_free(&app->base);
    app->has_base = false;
    int err = pytm_snap_copy(&app->base, &app->src.snap);
    if (err)
        return err;
    app->has_base = true;
    app->base_taken_ns = app->src.snap.meta.taken_realtime_ns;
    if (!app->base_taken_ns) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        app->base_taken_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
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
    pytm_snap_free(&app->base);
    app->has_base = false;
    pytm_source_close(&app->src);
}
