/* tui/threads: the thread view's rows and the thread filter (see
 * threads.h). */
#include "threads.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "pytm_error.h"
#include "snap_threads.h"
#include "view.h"

int
pytm_threads_view_snap(const struct pytm_app *app, const struct pytm_snap *src,
                       struct pytm_snap *scratch, const struct pytm_snap **out)
{
    *out = NULL;
    if (!app->tfilter.on) {
        pytm_snap_free(scratch); /* nothing borrows it any more */
        *out = src;
        return 0;
    }
    /* the filter drops traces[] anyway: do not copy them */
    struct pytm_snap view = *src;
    view.traces = NULL;
    view.n_traces = 0;
    view.meta.flags &= ~PYTM_SNAP_HAS_TRACES;
    pytm_snap_free(scratch);
    int err = pytm_snap_copy(scratch, &view);
    if (err)
        return err;
    uint32_t k = pytm_thread_rows_find(scratch, app->tfilter.tid, app->tfilter.ident);
    err = pytm_snap_threads_filter(scratch, k);
    if (err) {
        pytm_snap_free(scratch);
        return err;
    }
    *out = scratch;
    return 0;
}

int
pytm_threads_rebuild(struct pytm_app *app)
{
    int err = pytm_thread_rows_build(&app->trows, &app->src.snap,
                                     app->has_base ? &app->base : NULL);
    if (!err)
        err = pytm_thread_rows_sort(&app->trows, app->sort, app->descending);
    return err;
}

static bool
is_filtered(const struct pytm_app *app, const struct pytm_thread_row *r)
{
    return app->tfilter.on && app->tfilter.tid == r->tid
           && app->tfilter.ident == r->ident;
}

unsigned
pytm_threads_enter(struct pytm_app *app, const struct pytm_thread_row *r)
{
    if (is_filtered(app, r)) {
        app->tfilter.on = false;
        snprintf(app->status, sizeof app->status, "showing every thread");
    } else {
        app->tfilter.on = true;
        app->tfilter.tid = r->tid;
        app->tfilter.ident = r->ident;
        snprintf(app->tfilter.name, sizeof app->tfilter.name, "%s", r->name);
        char f[128];
        pytm_threads_fmt_filter(f, sizeof f, app);
        snprintf(app->status, sizeof app->status,
                 "showing thread %s only (Esc: every thread)", f);
    }
    app->threads = false;
    app->sel = app->top = 0;
    return PYTM_REACT_REBUILD;
}

unsigned
pytm_threads_clear(struct pytm_app *app)
{
    if (!app->tfilter.on) {
        snprintf(app->status, sizeof app->status,
                 "no thread filter (T lists the threads, Enter picks one)");
        return PYTM_REACT_REDRAW;
    }
    app->tfilter.on = false;
    app->sel = app->top = 0;
    snprintf(app->status, sizeof app->status, "showing every thread");
    return PYTM_REACT_REBUILD;
}

unsigned
pytm_threads_toggle(struct pytm_app *app)
{
    app->threads = !app->threads;
    app->sel = app->top = 0;
    return PYTM_REACT_REBUILD;
}

bool
pytm_threads_select(struct pytm_app *app, const char *spec)
{
    const struct pytm_snap *s = &app->src.snap;
    bool digits = spec[0] != '\0' && strspn(spec, "0123456789") == strlen(spec);
    long long tid = digits ? strtoll(spec, NULL, 10) : -1;
    for (uint32_t k = 0; k <= s->n_threads; k++) {
        const char *name = pytm_snap_thread_name(s, k);
        int64_t t = k ? s->threads[k - 1].tid : 0;
        if (strcmp(name, spec) != 0 && !(digits && k && t == tid))
            continue;
        app->tfilter.on = true;
        app->tfilter.tid = t;
        app->tfilter.ident = k ? s->threads[k - 1].ident : 0;
        snprintf(app->tfilter.name, sizeof app->tfilter.name, "%s", name);
        return true;
    }
    return false;
}

void
pytm_threads_fmt_row(char *buf, size_t len, const struct pytm_thread_row *r)
{
    if (r->tid == 0 && r->ident == 0)
        snprintf(buf, len, "%s  (no thread identity recorded)", r->name);
    else
        snprintf(buf, len, "%s  (tid %" PRId64 ", ident %" PRIu64 ")", r->name,
                 r->tid, r->ident);
}

void
pytm_threads_fmt_filter(char *buf, size_t len, const struct pytm_app *app)
{
    const char *n = app->tfilter.name;
    if (!app->tfilter.on)
        snprintf(buf, len, "%s", "");
    else if (app->tfilter.tid == 0 && app->tfilter.ident == 0)
        snprintf(buf, len, "%s (no thread identity)", n);
    else
        snprintf(buf, len, "%s (tid %" PRId64 ")", n, app->tfilter.tid);
}
