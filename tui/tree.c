/* tui/tree: following a process tree's arenas (see tree.h). */
#include "tree.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "pytm_error.h"
#include "reader.h"
#include "snap_merge.h"
#include "view.h"

int
pytm_tree_init(struct pytm_tree *t, const struct pytm_source *src)
{
    memset(t, 0, sizeof *t);
    t->focus = -1;
    if (src->kind != PYTM_SOURCE_LIVE || !src->reader)
        return PYTM_E_INVAL;
    t->procs = calloc(4, sizeof *t->procs);
    if (!t->procs)
        return PYTM_E_NOMEM;
    t->cap = 4;
    t->n = 1;
    struct pytm_tree_proc *p = &t->procs[0];
    p->pid = src->pid;
    pytm_snap_init(&p->snap);
    pytm_snap_init(&p->scratch);
    int64_t parent;
    t->in_tree = pytm_reader_tree(src->reader, &t->root_pid, &t->root_ticks,
                                  &parent);
    t->seen_refresh = UINT64_MAX; /* the first refresh takes src->snap */
    return 0;
}

static struct pytm_tree_proc *
find(struct pytm_tree *t, int64_t pid, uint64_t ticks)
{
    for (size_t i = 1; i < t->n; i++)
        if (t->procs[i].pid == pid && t->procs[i].start_ticks == ticks)
            return &t->procs[i];
    return NULL;
}

/* True when pid is the target or a known descendant (still running or
 * not: a parent that exited still links its children). */
static bool
known_pid(const struct pytm_tree *t, int64_t pid)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->procs[i].pid == pid)
            return true;
    return false;
}

static int
add_proc(struct pytm_tree *t, const struct pytm_reader_entry *e)
{
    if (t->n == t->cap) {
        struct pytm_tree_proc *np = realloc(t->procs, 2 * t->cap * sizeof *np);
        if (!np)
            return PYTM_E_NOMEM;
        t->procs = np;
        t->cap *= 2;
    }
    struct pytm_reader *r;
    if (pytm_reader_open_path(e->path, &r) != 0)
        return 0; /* gone or invalid since it was listed: try next time */
    int64_t root, parent;
    uint64_t ticks;
    if (!pytm_reader_tree(r, &root, &ticks, &parent) || root != t->root_pid
        || ticks != t->root_ticks || pytm_reader_pid(r) != e->pid) {
        pytm_reader_close(r); /* replaced under the same name */
        return 0;
    }
    struct pytm_tree_proc *p = &t->procs[t->n++];
    memset(p, 0, sizeof *p);
    p->pid = e->pid;
    p->parent_pid = parent;
    p->start_ticks = e->proc_start_ticks;
    p->reader = r;
    pytm_snap_init(&p->snap);
    pytm_snap_init(&p->scratch);
    return 0;
}

/* Adds the listed arenas of the tree: all of them when the target is
 * the root, else those whose parent chain reaches the target (repeating
 * while a pass adds one: a listing is unordered). */
static int
scan(struct pytm_tree *t)
{
    struct pytm_reader_entry *v;
    size_t n;
    int rc = pytm_reader_list(pytm_source_shm_dir(), &v, &n);
    if (rc)
        return rc;
    /* From the root, the whole tree: a child whose parent is no traced
     * process (a shell between them) still counts. */
    bool whole = t->procs[0].pid == t->root_pid;
    bool added = true;
    while (added && rc == 0) {
        added = false;
        for (size_t i = 0; i < n && rc == 0; i++) {
            const struct pytm_reader_entry *e = &v[i];
            if (!e->tree || e->tree_root_pid != t->root_pid
                || e->tree_root_start_ticks != t->root_ticks
                || e->pid == t->procs[0].pid
                || find(t, e->pid, e->proc_start_ticks)
                || (!whole && !known_pid(t, e->parent_pid)))
                continue;
            size_t before = t->n;
            rc = add_proc(t, e);
            added = added || t->n > before;
        }
    }
    free(v);
    return rc;
}

/* One read of a child; an exited child gets its final read, then its
 * reader is closed and its figures stay frozen. */
static void
read_child(struct pytm_tree_proc *p)
{
    if (!p->reader)
        return;
    enum pytm_reader_liveness live = pytm_reader_liveness(p->reader);
    if (pytm_reader_snap(p->reader, &p->scratch) == 0) {
        struct pytm_snap tmp = p->snap;
        p->snap = p->scratch;
        p->scratch = tmp;
        p->has_snap = true;
    } /* else: torn or hostile, keep the last good one */
    if (live == PYTM_LIVE_EXITED) {
        p->exited = true;
        p->snap.meta.flags |= PYTM_SNAP_EXITED;
        pytm_reader_close(p->reader);
        p->reader = NULL;
        pytm_snap_free(&p->scratch);
    }
}

int
pytm_tree_refresh(struct pytm_tree *t, struct pytm_source *src)
{
    struct pytm_tree_proc *target = &t->procs[0];
    if (src->n_refresh != t->seen_refresh) {
        /* src->snap is the target's new snapshot: take it over */
        struct pytm_snap tmp = target->snap;
        target->snap = src->snap;
        src->snap = tmp;
        target->has_snap = true;
        t->seen_refresh = src->n_refresh;
    }
    target->exited = src->exited;
    if (src->exited)
        target->snap.meta.flags |= PYTM_SNAP_EXITED;
    int rc = t->in_tree ? scan(t) : 0;
    for (size_t i = 1; i < t->n; i++)
        read_child(&t->procs[i]);
    int mrc = pytm_tree_merge(t, src);
    t->last_err = rc ? rc : mrc;
    return t->last_err;
}

int
pytm_tree_merge(struct pytm_tree *t, struct pytm_source *src)
{
    struct pytm_snap_merge_in *in = malloc(t->n * sizeof *in);
    if (!in)
        return PYTM_E_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->procs[i].has_snap && (t->focus < 0 || (size_t)t->focus == i))
            in[k++] = (struct pytm_snap_merge_in){t->procs[i].pid,
                                                  &t->procs[i].snap};
    struct pytm_snap out;
    pytm_snap_init(&out);
    int rc = pytm_snap_merge(&out, in, k, t->split);
    free(in);
    if (rc)
        return rc;
    pytm_snap_free(&src->snap);
    src->snap = out;
    return 0;
}

void
pytm_tree_cycle_focus(struct pytm_tree *t)
{
    t->focus = t->focus + 1 >= (long)t->n ? -1 : t->focus + 1;
}

void
pytm_tree_format(const struct pytm_tree *t, char *buf, size_t len)
{
    size_t exited = 0;
    for (size_t i = 0; i < t->n; i++)
        exited += t->procs[i].exited;
    size_t n = 0;
    int k = snprintf(buf, len, "procs %zu (%zu exited)%s  %s", t->n, exited,
                     t->split ? " split" : "", t->focus < 0 ? "[all]" : "all");
    for (size_t i = 0; i < t->n && k >= 0 && (n += (size_t)k) < len; i++) {
        const struct pytm_tree_proc *p = &t->procs[i];
        char sz[32];
        pytm_fmt_size(sz, sizeof sz, p->snap.totals.traced_current, false);
        bool f = t->focus == (long)i;
        k = snprintf(buf + n, len - n, "  %s%s%" PRId64 " %s%s", f ? "[" : "",
                     p->exited ? "x" : "", p->pid, sz, f ? "]" : "");
    }
}

int
pytm_tree_json(const struct pytm_tree *t, FILE *out)
{
    if (fputc('[', out) == EOF)
        return PYTM_E_IO;
    for (size_t i = 0; i < t->n; i++) {
        const struct pytm_tree_proc *p = &t->procs[i];
        if (fprintf(out,
                    "%s{\"pid\": %" PRId64 ", \"parent_pid\": %" PRId64
                    ", \"exited\": %s, \"traced_current\": %" PRId64
                    ", \"traced_peak\": %" PRId64 "}",
                    i ? ", " : "", p->pid, p->parent_pid,
                    p->exited ? "true" : "false", p->snap.totals.traced_current,
                    p->snap.totals.traced_peak) < 0)
            return PYTM_E_IO;
    }
    return fputc(']', out) == EOF ? PYTM_E_IO : 0;
}

void
pytm_tree_free(struct pytm_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        pytm_reader_close(t->procs[i].reader);
        pytm_snap_free(&t->procs[i].snap);
        pytm_snap_free(&t->procs[i].scratch);
    }
    free(t->procs);
    memset(t, 0, sizeof *t);
    t->focus = -1;
}

unsigned
pytm_tree_key(struct pytm_app *app, enum pytm_tree_key k)
{
    struct pytm_tree *t = app->tree;
    if (!t) {
        snprintf(app->status, sizeof app->status,
                 "not following a process tree (pytmtop -p PID --children)");
        return PYTM_REACT_REDRAW;
    }
    if (k == PYTM_TREE_KEY_SPLIT)
        t->split = !t->split;
    else
        pytm_tree_cycle_focus(t);
    app->sel = app->top = 0;
    if (pytm_tree_merge(t, &app->src) != 0)
        snprintf(app->status, sizeof app->status, "process tree: out of memory");
    else if (k == PYTM_TREE_KEY_FOCUS)
        snprintf(app->status, sizeof app->status, t->focus < 0
                 ? "showing every process of the tree"
                 : "showing pid %" PRId64 " only (o: next)",
                 t->focus < 0 ? 0 : t->procs[t->focus].pid);
    return PYTM_REACT_REBUILD;
}
