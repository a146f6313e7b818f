/* tui/detail: the tracebacks of the selected group, most recent frame
 * first, each frame with its source line read from disk (bounded: at
 * most MAX_SRC_LINES lines of at most 4 KiB are scanned per frame). The
 * text is built once when the view opens; the source file is read
 * again only by the next open. */
#include "view.h"

#include <curses.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap.h"

#define MAX_TBS 200          /* tracebacks listed per group */
#define MAX_SRC_LINES 200000 /* lines scanned per source file */

/* Owned by the main thread: the open view's text. */
static char **lines;
static size_t n_lines, cap_lines;

static void
add_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
add_line(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n_lines == cap_lines) {
        size_t c = cap_lines ? cap_lines * 2 : 64;
        char **p = realloc(lines, c * sizeof *p);
        if (!p)
            return;
        lines = p;
        cap_lines = c;
    }
    char *s = strdup(buf);
    if (s)
        lines[n_lines++] = s;
}

/* Line `lineno` of file `path`, stripped, into buf ("" when unreadable). */
static void
source_line(const char *path, uint32_t lineno, char *buf, size_t len)
{
    buf[0] = '\0';
    if (lineno == 0 || lineno > MAX_SRC_LINES || path[0] == '<')
        return;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char tmp[4096];
    uint32_t at = 1;
    while (fgets(tmp, sizeof tmp, f)) {
        bool whole = strchr(tmp, '\n') != NULL || feof(f);
        if (at == lineno) {
            char *p = tmp;
            while (*p == ' ' || *p == '\t')
                p++;
            p[strcspn(p, "\r\n")] = '\0';
            snprintf(buf, len, "%.255s", p);
            break;
        }
        if (whole)
            at++;
    }
    fclose(f);
}

struct pick {
    uint32_t tb;
    int64_t size;
};

static int
pick_cmp(const void *a, const void *b)
{
    const struct pick *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->tb < y->tb ? -1 : x->tb > y->tb;
}

void
pytm_detail_close(void)
{
    for (size_t i = 0; i < n_lines; i++)
        free(lines[i]);
    free(lines);
    lines = NULL;
    n_lines = cap_lines = 0;
}

int
pytm_detail_open(struct pytm_app *app)
{
    pytm_detail_close();
    const struct pytm_model_table *t = &app->table;
    if (app->sel >= t->n_rows)
        return -1;
    const struct pytm_model_row *r = &t->rows[app->sel];
    const struct pytm_snap *s = pytm_model_row_snap(t, r);
    char loc[1024], a[32], src[256];
    pytm_fmt_location(loc, sizeof loc, t, r);
    pytm_fmt_size(a, sizeof a, r->size, false);
    add_line("%s  size %s  count %" PRId64 "  in %" PRIu32 " traceback%s%s", loc, a,
             r->count, r->n_tbs, r->n_tbs == 1 ? "" : "s",
             (r->flags & PYTM_MODEL_ROW_BASE) ? "  (only in the baseline)" : "");
    struct pick *p = malloc((s->n_tbs ? s->n_tbs : 1) * sizeof *p);
    if (!p)
        return -1;
    size_t np = 0;
    for (uint32_t i = 0; i < s->n_tbs; i++) {
        const struct pytm_snap_tb *tb = &s->tbs[i];
        if ((tb->size || tb->count || tb->samples) && pytm_model_row_has_tb(t, r, i))
            p[np++] = (struct pick){i, tb->size};
    }
    qsort(p, np, sizeof *p, pick_cmp);
    for (size_t k = 0; k < np && k < MAX_TBS; k++) {
        const struct pytm_snap_tb *tb = &s->tbs[p[k].tb];
        pytm_fmt_size(a, sizeof a, tb->size, false);
        add_line("%s", "");
        add_line("#%zu  size %s  count %" PRId64 "  %" PRIu32 " frame%s%s", k + 1, a,
                 tb->count, tb->nframe, tb->nframe == 1 ? "" : "s",
                 tb->total_nframe > tb->nframe ? "  (stack cut off)" : "");
        if (tb->nframe == 0)
            add_line("    <unknown>:0");
        for (uint32_t f = 0; f < tb->nframe; f++) {
            const struct pytm_snap_frame *fr = &s->frames[s->frame_ids[tb->frames_at + f]];
            const char *fn = pytm_snap_string(s, fr->filename);
            source_line(fn, fr->lineno, src, sizeof src);
            add_line("    %s:%" PRIu32, fn, fr->lineno);
            if (src[0])
                add_line("        %s", src);
        }
    }
    if (np > MAX_TBS)
        add_line("... %zu more tracebacks", np - MAX_TBS);
    free(p);
    app->detail_top = 0;
    return 0;
}

void
pytm_detail_draw(struct pytm_app *app)
{
    erase();
    int rows = LINES - 1;
    for (int y = 0; y < rows && app->detail_top + (size_t)y < n_lines; y++)
        mvaddnstr(y, 0, lines[app->detail_top + (size_t)y], COLS);
    attron(A_REVERSE);
    mvhline(LINES - 1, 0, ' ', COLS);
    mvaddnstr(LINES - 1, 0, "Detail: Up/Down/PgUp/PgDn scroll  Esc/q close", COLS);
    attroff(A_REVERSE);
    refresh();
}

unsigned
pytm_detail_key(struct pytm_app *app, int ch)
{
    size_t page = LINES > 2 ? (size_t)LINES - 2 : 1;
    size_t max = n_lines > page ? n_lines - page : 0;
    switch (ch) {
    case 27:
    case 'q':
        app->detail = false;
        pytm_detail_close();
        return PYTM_REACT_REDRAW;
    case KEY_UP:
    case 'k':
        app->detail_top = app->detail_top ? app->detail_top - 1 : 0;
        break;
    case KEY_DOWN:
    case 'j':
        app->detail_top = app->detail_top < max ? app->detail_top + 1 : max;
        break;
    case KEY_PPAGE:
        app->detail_top = app->detail_top > page ? app->detail_top - page : 0;
        break;
    case KEY_NPAGE:
        app->detail_top = app->detail_top + page < max ? app->detail_top + page : max;
        break;
    case KEY_HOME:
        app->detail_top = 0;
        break;
    case KEY_END:
        app->detail_top = max;
        break;
    default:
        return PYTM_REACT_NONE;
    }
    return PYTM_REACT_REDRAW;
}
