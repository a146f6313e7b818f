/* tui/tree: pytmtop --children, a process tree behind the one source.
 *
 * The source (source.h) keeps reading the target process; the tree
 * finds the target's descendants among the arenas of the shm dir (same
 * tree root and root start ticks in the arena identity; unless the
 * target is the root, also a parent chain up to the target), reads each of them every refresh, and replaces
 * src->snap with the merge of them all (model/snap_merge.h), so every
 * view (table, detail, baseline, dump) works on the tree unchanged.
 * A child that exits keeps its last snapshot, marked exited; a child
 * arena that fails validation is skipped (tried again next refresh)
 * and never stops the view. Curses-free. One thread owns a tree.
 */
#ifndef PYTM_TUI_TREE_H
#define PYTM_TUI_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "snap.h"
#include "source.h"

struct pytm_reader;

struct pytm_tree_proc {
    int64_t pid;
    int64_t parent_pid;        /* 0 for the target */
    uint64_t start_ticks;      /* with pid: tells a reused PID apart */
    struct pytm_reader *reader; /* NULL for the target (src reads it)
                                   and once exited */
    struct pytm_snap snap;     /* last good snapshot (owned) */
    struct pytm_snap scratch;  /* read target */
    bool has_snap;
    bool exited;
};

struct pytm_tree {
    bool in_tree;              /* the target's arena belongs to a tree */
    int64_t root_pid;          /* the tree's root and its start ticks */
    uint64_t root_ticks;
    struct pytm_tree_proc *procs; /* procs[0]: the target */
    size_t n, cap;
    long focus;                /* index into procs shown alone, -1: all */
    bool split;                /* rows split by process ([PID] prefix) */
    uint64_t seen_refresh;     /* src->n_refresh taken over last */
    int last_err;              /* last merge or scan error, 0 if none */
};

/* Starts a tree on an opened LIVE source: procs[0] is the target. The
 * first pytm_tree_refresh finds the children. 0 or PYTM_E_NOMEM /
 * PYTM_E_INVAL (not a live source). */
int pytm_tree_init(struct pytm_tree *t, const struct pytm_source *src);

/* After pytm_source_refresh (or once src->exited is set): takes over a
 * new target snapshot, rescans the shm dir for new descendants, reads
 * every running child, and re-merges into src->snap (pytm_tree_merge).
 * Returns 0, or a PYTM_E_* of the scan or merge (src->snap then still
 * holds the previous merge; also in t->last_err). */
int pytm_tree_refresh(struct pytm_tree *t, struct pytm_source *src);

/* Re-merges the procs' last snapshots into src->snap with the current
 * focus and split (after a key). 0 or PYTM_E_NOMEM. */
int pytm_tree_merge(struct pytm_tree *t, struct pytm_source *src);

/* Focus: all -> procs[0] -> procs[1] ... -> all. */
void pytm_tree_cycle_focus(struct pytm_tree *t);

/* One line: "procs 4 (1 exited)  [all]  1234 1.2 MiB  x1236 20 KiB ..."
 * (x: exited, [..]: the focus), cut to len. */
void pytm_tree_format(const struct pytm_tree *t, char *buf, size_t len);

/* JSON array of {pid, parent_pid, exited, traced_current, traced_peak},
 * one per process. Returns 0 or PYTM_E_IO. */
int pytm_tree_json(const struct pytm_tree *t, FILE *out);

struct pytm_app;

/* The tree keys of the main view (keys.c's table): SPLIT toggles the
 * per-process rows, FOCUS cycles pytm_tree_cycle_focus; both re-merge
 * and reset the selection. Without a tree (no --children) they only put
 * a hint in the status line. Returns PYTM_REACT_* flags (view.h). */
enum pytm_tree_key { PYTM_TREE_KEY_SPLIT, PYTM_TREE_KEY_FOCUS };
unsigned pytm_tree_key(struct pytm_app *app, enum pytm_tree_key k);

/* Frees every process's readers and snapshots. Safe twice. */
void pytm_tree_free(struct pytm_tree *t);

#endif /* PYTM_TUI_TREE_H */
