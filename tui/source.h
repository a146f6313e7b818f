/* tui/source: where pytmtop's snapshots come from, behind one interface
 * (htop's platform idea): a live arena of a process (shm reader), or a
 * .pytm dump file (read once; refresh is a no-op).
 *
 * A source owns the latest good snapshot. pytm_source_refresh() reads a
 * new one into a scratch snapshot and swaps it in only when the read
 * succeeds, so a torn or failed read keeps showing the previous data;
 * when the traced process has exited the last snapshot is kept (marked
 * PYTM_SNAP_EXITED) and stays dumpable.
 * Thread-safety: none; one thread owns a source.
 */
#ifndef PYTM_TUI_SOURCE_H
#define PYTM_TUI_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "snap.h"

struct pytm_reader;

enum pytm_source_kind { PYTM_SOURCE_LIVE, PYTM_SOURCE_FILE };

struct pytm_source {
    enum pytm_source_kind kind;
    struct pytm_snap snap;    /* latest good snapshot (owned) */
    struct pytm_snap scratch; /* read target, swapped in on success */
    struct pytm_reader *reader; /* LIVE: attached reader, else NULL */
    int64_t pid;              /* LIVE: traced pid; FILE: meta.pid */
    char path[512];           /* arena or dump path */
    bool exited;              /* LIVE: process gone (data frozen) */
    bool stopped;             /* LIVE: tracing stopped */
    int last_err;             /* last refresh error (0 = fine) */
    uint64_t n_refresh;       /* successful refreshes */
};

/* The directory holding the arenas: $PYTM_SHM_DIR when set and not
 * empty (the recorder honours the same variable when it creates them),
 * else NULL, which the shm reader reads as /dev/shm. Used by -p,
 * spawn mode, --list and --clean. */
const char *pytm_source_shm_dir(void);

/* Attaches to the arena of pid under pytm_source_shm_dir() and takes a
 * first snapshot.
 * Returns 0, or the reader's PYTM_E_* (then *src holds nothing). */
int pytm_source_open_pid(struct pytm_source *src, pid_t pid);

/* Loads a dump file. Returns 0 or pytm_dump_read's PYTM_E_*; msg (may be
 * NULL, msg_len bytes) receives the decoder's one-line reason. */
int pytm_source_open_file(struct pytm_source *src, const char *path,
                          char *msg, size_t msg_len);

/* LIVE: takes a new snapshot (see above). FILE: returns 0, no change.
 * Returns 0 when src->snap changed or stayed valid; a PYTM_E_* read
 * error leaves the previous snapshot in place (also in src->last_err). */
int pytm_source_refresh(struct pytm_source *src);

/* Frees the snapshots and detaches. Safe twice. */
void pytm_source_close(struct pytm_source *src);

/* Resident set size of pid in bytes (/proc/PID/status VmRSS), or -1. */
int64_t pytm_source_rss(int64_t pid);

#endif /* PYTM_TUI_SOURCE_H */
