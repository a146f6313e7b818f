/* tui/once: --once table and --json output. */
#include "once.h"
#include "threads.h"
#include "tree.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pytm_error.h"
#include "snap.h"

/* Writes s as a JSON string (quotes included). Control bytes and
 * invalid UTF-8 lead bytes are escaped as \u00XX. */
static void
json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void
json_frames(FILE *out, const struct pytm_model_table *t,
            const struct pytm_model_row *r)
{
    const struct pytm_snap *s = pytm_model_row_snap(t, r);
    const struct pytm_snap_tb *tb = &s->tbs[r->tb];
    fputs(", \"frames\": [", out);
    if (tb->nframe == 0)
        fputs("{\"filename\": \"<unknown>\", \"lineno\": 0}", out);
    for (uint32_t k = 0; k < tb->nframe; k++) {
        const struct pytm_snap_frame *f = &s->frames[s->frame_ids[tb->frames_at + k]];
        fputs(k ? ", {\"filename\": " : "{\"filename\": ", out);
        json_str(out, pytm_snap_string(s, f->filename));
        fprintf(out, ", \"lineno\": %" PRIu32 "}", f->lineno);
    }
    fprintf(out, "], \"total_nframe\": %" PRIu32, tb->total_nframe);
}

static size_t
n_out(const struct pytm_app *app)
{
    size_t n = pytm_app_n_rows(app);
    if (app->opt.limit > 0 && (size_t)app->opt.limit < n)
        n = (size_t)app->opt.limit;
    return n;
}

/* threads[]: every thread row, in the view's order. */
static void
json_threads(const struct pytm_app *app, FILE *out)
{
    const struct pytm_thread_rows *t = &app->trows;
    fputs(", \"threads\": [", out);
    for (size_t i = 0; i < t->n_rows; i++) {
        const struct pytm_thread_row *r = &t->rows[i];
        fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", out);
        json_str(out, r->name);
        fprintf(out,
                ", \"thread\": %" PRIu32 ", \"tid\": %" PRId64 ", \"ident\": %" PRIu64
                ", \"size\": %" PRId64 ", \"count\": %" PRId64
                ", \"size_diff\": %" PRId64 ", \"count_diff\": %" PRId64 "}",
                r->thread, r->tid, r->ident, r->size, r->count, r->size_diff,
                r->count_diff);
    }
    fputs("]", out);
}

static void
print_json(const struct pytm_app *app, FILE *out)
{
    const struct pytm_snap *s = &app->src.snap;
    const struct pytm_model_table *t = &app->table;
    fprintf(out, "{\"pid\": %" PRId64 ", \"cmdline\": ", s->meta.pid);
    json_str(out, s->meta.cmdline ? s->meta.cmdline : "");
    fprintf(out,
            ", \"sample_interval\": %" PRIu64
            ", \"sample_interval_now\": %" PRIu64 ", \"exact\": %s, \"exited\": %s"
            ", \"traced_current\": %" PRId64 ", \"traced_peak\": %" PRId64
            ", \"n_samples\": %" PRIu64 ", \"n_dropped\": %" PRIu64
            ", \"n_tracebacks\": %" PRIu32 ", \"total_size\": %" PRId64
            ", \"total_count\": %" PRId64 ", \"group\": \"%s\""
            ", \"cumulative\": %s, \"diff\": %s, \"rows\": [",
            s->meta.sample_interval,
            s->totals.sample_interval_now ? s->totals.sample_interval_now
                                          : s->meta.sample_interval,
            s->meta.sample_interval == 1 ? "true" : "false",
            (s->meta.flags & PYTM_SNAP_EXITED) || app->src.exited ? "true" : "false",
            s->totals.traced_current, s->totals.traced_peak, s->totals.n_samples,
            s->totals.n_dropped, t->n_tbs, t->total_size, t->total_count,
            app->threads ? "thread" : pytm_model_group_name(t->group),
            t->cumulative ? "true" : "false", t->diffed ? "true" : "false");
    size_t n = app->threads ? 0 : n_out(app); /* threads[] has them */
    for (size_t i = 0; i < n; i++) {
        const struct pytm_model_row *r = &t->rows[i];
        fputs(i ? ",\n  {\"filename\": " : "\n  {\"filename\": ", out);
        json_str(out, r->filename);
        fprintf(out,
                ", \"lineno\": %" PRIu32 ", \"size\": %" PRId64 ", \"count\": %" PRId64
                ", \"samples\": %" PRId64 ", \"size_diff\": %" PRId64
                ", \"count_diff\": %" PRId64 ", \"n_tracebacks\": %" PRIu32,
                r->lineno, r->size, r->count, r->samples, r->size_diff,
                r->count_diff, r->n_tbs);
        if (t->group == PYTM_MODEL_TRACEBACK)
            json_frames(out, t, r);
        fputc('}', out);
    }
    fputs("]", out);
    if (app->tfilter.on) {
        fputs(", \"thread_filter\": {\"name\": ", out);
        json_str(out, app->tfilter.name);
        fprintf(out, ", \"tid\": %" PRId64 ", \"ident\": %" PRIu64 "}",
                app->tfilter.tid, app->tfilter.ident);
    }
    json_threads(app, out);
    if (app->tree) {
        fputs(", \"processes\": ", out);
        pytm_tree_json(app->tree, out);
    }
    fputs("}\n", out);
}

/* The column titles of the text table; `last` names the last column. */
static void
text_titles(FILE *out, bool diffed, const char *last)
{
    if (diffed)
        fprintf(out, "%12s %12s %9s %10s %10s %6s  %s\n", "Size", "Size Diff",
                "Count", "Count Diff", "Avg size", "%", last);
    else
        fprintf(out, "%12s %9s %10s %6s  %s\n", "Size", "Count", "Avg size", "%",
                last);
}

/* One text row: figures of a model or thread row, then `what`. */
static void
text_row(FILE *out, bool diffed, int64_t size, int64_t size_diff, int64_t count,
         int64_t count_diff, int64_t total, const char *what)
{
    char a[32], b[32], c[32];
    pytm_fmt_size(a, sizeof a, size, false);
    pytm_fmt_size(b, sizeof b, size_diff, true);
    pytm_fmt_size(c, sizeof c, count > 0 ? size / count : 0, false);
    double pct = total > 0 ? 100.0 * (double)size / (double)total : 0.0;
    if (diffed)
        fprintf(out, "%12s %12s %9" PRId64 " %+10" PRId64 " %10s %5.1f%%  %s\n", a,
                b, count, count_diff, c, pct, what);
    else
        fprintf(out, "%12s %9" PRId64 " %10s %5.1f%%  %s\n", a, count, c, pct, what);
}

static void
print_text(const struct pytm_app *app, FILE *out)
{
    const struct pytm_snap *s = &app->src.snap;
    const struct pytm_model_table *t = &app->table;
    const struct pytm_thread_rows *tr = &app->trows;
    bool est = s->meta.sample_interval != 1;
    char cur[32], peak[32], loc[1024];
    pytm_fmt_size(cur, sizeof cur, s->totals.traced_current, false);
    pytm_fmt_size(peak, sizeof peak, s->totals.traced_peak, false);
    fprintf(out, "pid %" PRId64 "  %s%s\ntraced %s%s  peak %s%s  interval %" PRIu64
                 "  tracebacks %" PRIu32 "  group %s%s%s\n",
            s->meta.pid, s->meta.cmdline ? s->meta.cmdline : "",
            app->src.exited ? "  (exited)" : "", est ? "~" : "", cur,
            est ? "~" : "", peak, s->meta.sample_interval, t->n_tbs,
            app->threads ? "thread" : pytm_model_group_name(t->group),
            t->cumulative ? " cumulative" : "", t->diffed ? " diff" : "");
    char tf[128];
    pytm_threads_fmt_filter(tf, sizeof tf, app);
    if (tf[0])
        fprintf(out, "thread %s\n", tf);
    text_titles(out, t->diffed, app->threads ? "Thread" : "Location");
    size_t n = n_out(app);
    for (size_t i = 0; i < n && app->threads; i++) {
        const struct pytm_thread_row *r = &tr->rows[i];
        pytm_threads_fmt_row(loc, sizeof loc, r);
        text_row(out, t->diffed, r->size, r->size_diff, r->count, r->count_diff,
                 tr->total_size, loc);
    }
    for (size_t i = 0; i < n && !app->threads; i++) {
        const struct pytm_model_row *r = &t->rows[i];
        pytm_fmt_location(loc, sizeof loc, t, r);
        text_row(out, t->diffed, r->size, r->size_diff, r->count, r->count_diff,
                 app->tfilter.on ? tr->total_size : t->total_size, loc);
    } /* %: of the whole process, also for one thread (as on screen) */
}

int
pytm_once_print(const struct pytm_app *app, FILE *out)
{
    if (app->opt.json)
        print_json(app, out);
    else
        print_text(app, out);
    return fflush(out) == 0 && !ferror(out) ? 0 : PYTM_E_IO;
}

int
pytm_once_run(struct pytm_app *app, FILE *out)
{
    int err = pytm_app_rebuild(app); /* sorts only a screenful */
    if (!err)
        err = pytm_model_sort(&app->table, app->sort, app->descending);
    if (!err)
        err = pytm_thread_rows_sort(&app->trows, app->sort, app->descending);
    if (err) {
        app->model_err = err;
        return err;
    }
    return pytm_once_print(app, out);
}
