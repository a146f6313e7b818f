/* model/snap_merge: one snapshot out of several processes' snapshots
 * (a process tree: pytmtop --children).
 *
 * Curses-free and I/O-free. The merged snapshot is an ordinary struct
 * pytm_snap that passes pytm_snap_validate, so the model groups it as
 * it groups one process: the model's keys compare by content, hence the
 * same filename:line in two processes is ONE row whose size is the sum.
 * With `split`, every filename of process P is stored as "[P] name"
 * instead, so the rows of different processes never join (the viewer's
 * PID column: pytm_snap_merge_split_pid() takes the prefix apart).
 *
 * Totals are sums over the processes: traced_current, traced_peak (the
 * sum of each process's own peak, an upper bound of the tree's peak),
 * and every counter. meta comes from the first process (pid,
 * cmdline, start time, nframe), except: sample_interval is the first
 * process's when all agree, else 0 ("mixed"); PYTM_SNAP_EXITED only
 * when every process has exited. traces[] are not merged (the result
 * has no PYTM_SNAP_HAS_TRACES; the model does not read them).
 * Threads (model/snap_threads.h) are appended process after process, so
 * each keeps its own rows; a thread's Python name is one of its
 * process's strings, hence "[P] name" with `split`. When any input has
 * splits, an input without them contributes its figures as thread 0
 * ("<unknown>"), so per-thread totals still sum to the whole.
 */
#ifndef PYTM_MODEL_SNAP_MERGE_H
#define PYTM_MODEL_SNAP_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snap.h"

/* One input process. */
struct pytm_snap_merge_in {
    int64_t pid;                  /* shown in the split prefix */
    const struct pytm_snap *snap; /* borrowed; passed pytm_snap_validate */
};

/* Replaces *out (initialised, freed first) by the merge of in[0 .. n).
 * n may be 0 (an empty snapshot). Inputs are only read; *out owns all
 * of its memory and borrows nothing.
 * Returns 0; PYTM_E_INVAL (NULL argument, an input snapshot NULL);
 * PYTM_E_NOMEM (also when the merged tables would not fit their uint32
 * indices). On failure *out is empty. */
int pytm_snap_merge(struct pytm_snap *out, const struct pytm_snap_merge_in *in,
                    size_t n, bool split);

/* For a filename of a merge made with split: "[1234] a.py" gives
 * *pid = 1234 and *rest = "a.py", returning true. Any other text returns
 * false with *pid = 0 and *rest = name. */
bool pytm_snap_merge_split_pid(const char *name, int64_t *pid,
                               const char **rest);

#endif /* PYTM_MODEL_SNAP_MERGE_H */
