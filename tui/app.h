/* tui/app: pytmtop's state (options, source, model tables, view state)
 * and the curses-free operations on it: rebuilding the rows after a
 * refresh or a key, the baseline, the dump command. The views
 * (screen.c, detail.c, keys.c) read and change this state; only the
 * main loop (loop.c) owns its lifetime.
 */
#ifndef PYTM_TUI_APP_H
#define PYTM_TUI_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "model.h"
#include "source.h"
#include "thread_rows.h"
#include "sparkline.h"

struct pytm_app_opts {
    int64_t pid;               /* -p */
    const char *file;          /* FILE.pytm (or NEW in a diff) */
    const char *base_file;     /* OLD.pytm of `pytmtop OLD NEW` */
    char **spawn_argv;         /* after --: python script.py ... */
    double delay;              /* -d seconds */
    long iterations;           /* --iterations N, 0 = forever */
    bool once, json, list, clean;
    long limit;                /* --limit (once), 0 = all */
    enum pytm_model_group group;
    bool threads;              /* --group thread: the thread view */
    const char *thread;        /* --thread NAME|TID: the thread filter */
    bool cumulative;
    bool children;             /* --children (and spawn mode): follow the
                                  target's process tree (tree.h) */
};

struct pytm_tree;

struct pytm_app {
    struct pytm_app_opts opt;
    struct pytm_source src;
    pid_t child;               /* spawned child, or 0 */
    struct pytm_tree *tree;    /* with opt.children: owned, else NULL */

    /* model: current table, and the baseline (a copy of a snapshot) */
    struct pytm_model_table table;
    struct pytm_model_table base_table; /* built unsorted from `base`
                               with base_key; serves every refresh's
                               diff until the baseline or key changes */
    struct pytm_snap base;     /* owned copy, valid when has_base */
    bool has_base;
    bool base_built;           /* base_table is current for base_key */
    struct {                   /* the options base_table was built with */
        enum pytm_model_group group;
        bool cumulative;
        char filter[128];
        bool tf_on;            /* and thread filter (tui/threads.h) */
        int64_t tf_tid;
        uint64_t tf_ident;
    } base_key;
    uint64_t base_taken_ns;    /* when the baseline was taken */
    int model_err;

    /* threads (tui/threads.h) */
    struct pytm_thread_rows trows; /* T view: threads of src.snap, diffed
                               against base when has_base */
    struct {                   /* Enter in the T view; Esc clears */
        bool on;
        int64_t tid;           /* the thread's identity; (0, 0) is */
        uint64_t ident;        /* "<unknown>" */
        char name[64];         /* its name when chosen, for the header */
    } tfilter;
    struct pytm_snap fsnap;    /* src.snap filtered to tfilter (owned;
                                  table borrows it while tfilter.on) */
    struct pytm_snap fbase;    /* base filtered likewise (base_table
                                  borrows it while base_key.tf_on) */

    /* view state */
    bool threads;              /* T: the thread view instead of groups */
    enum pytm_model_group group;
    bool cumulative;
    bool show_diff;            /* d: diff columns (needs a baseline) */
    enum pytm_model_sort sort; /* < > */
    bool descending;           /* I */
    char filter[128];          /* / */
    bool paused;               /* space */
    double delay;              /* + - */
    size_t sel, top;           /* selection and first visible row */
    size_t page;               /* table rows on screen (set by the loop;
                                  0 outside curses) */
    bool detail;               /* Enter */
    size_t detail_top;
    bool help;                 /* ? */
    size_t help_top;           /* first help line shown (tui/help.c) */
    char status[256];          /* one-line message */
    struct pytm_sparkline spark; /* traced memory over the session */
};

/* Regroups src.snap (filtered to the thread filter, if any) into
 * app->table (unsorted), diffs it against the cached base table when a
 * baseline is set (rebuilding that table only when the baseline, group,
 * cumulative, filter or thread filter changed), rebuilds the thread
 * rows, then puts in order only the rows the screen can reach soon:
 * pytm_app_sort_rows(app, sel + page + 1). Keeps the selection in range
 * of the shown view (pytm_app_n_rows).
 * Returns 0 or a PYTM_E_* (then the table is empty; also model_err). */
int pytm_app_rebuild(struct pytm_app *app);

/* Rows of the shown view: thread rows in the thread view, else
 * table rows. */
size_t pytm_app_n_rows(const struct pytm_app *app);

/* Makes sure rows [0, upto) of app->table are in the view's (sort,
 * descending) order (and, in the thread view, every thread row), sorting a margin of a few pages more when it has to
 * sort at all (free while table.n_sorted covers upto). SIZE_MAX: full
 * sort (--once). Returns 0 or PYTM_E_NOMEM (also model_err; rows stay
 * as they were). */
int pytm_app_sort_rows(struct pytm_app *app, size_t upto);

/* b: the current snapshot becomes the baseline (the base table is
 * rebuilt at the next pytm_app_rebuild). 0 or PYTM_E_NOMEM. */
int pytm_app_set_baseline(struct pytm_app *app);

/* s: writes src.snap to pytm-<pid>-<YYYYmmdd-HHMMSS>.pytm in the cwd and
 * puts the path (or the error) into app->status. Returns 0 or PYTM_E_*. */
int pytm_app_dump(struct pytm_app *app);

/* Frees everything the app owns (source, tables, baseline, thread
 * rows and filtered copies). */
void pytm_app_done(struct pytm_app *app);

/* Formats n bytes as "12.3 MiB" (sign kept when `sign`). */
void pytm_fmt_size(char *buf, size_t len, int64_t n, bool sign);

/* Copies s into buf of `width` display columns, shortened from the left
 * with "…" when longer. Returns buf. */
char *pytm_fmt_left_trunc(char *buf, size_t len, const char *s, int width);

/* Location text of a row: "file:line", "file", or (TRACEBACK) "file:line
 * (+N frames)". */
void pytm_fmt_location(char *buf, size_t len, const struct pytm_model_table *t,
                       const struct pytm_model_row *r);

#endif /* PYTM_TUI_APP_H */
