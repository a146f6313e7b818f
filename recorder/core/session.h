/* recorder/core/session: one tracing session (start() .. stop()) and
 * the process-wide state it owns.
 *
 * There is one struct pytm_session per process (PEP 445 hooks are
 * process-wide); session.c owns it and passes it down: the hooks carry
 * it in their context, and the policy, record, threads, tracebacks and
 * rawside functions take it as their first argument. Nothing else
 * reaches for it; the Python glue asks pytm_session_current() once per
 * call.
 *
 * The lifecycle functions are called from the Python glue with the GIL
 * held. They return 0 or a negative PYTM_E_* and never raise; the glue
 * turns codes into exceptions.
 */
#ifndef PYTM_RECORDER_SESSION_H
#define PYTM_RECORDER_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "reader.h"
#include "tables.h"

/* The sampling policy's state: one per session. policy.c (policy.h)
 * makes every write to it and owns its meaning. */
struct pytm_policy {
    bool exact;              /* GIL+RAW: interval == 1 */
    bool seeded;             /* GIL+RAW: PYTM_SEED given */
    uint64_t seed;           /* GIL+RAW: with `seeded` */
    uint64_t interval;       /* GIL+RAW: given to start() */
    uint64_t interval_now;   /* GIL+RAW: what new countdowns are drawn
                                with; read by a RAW hook without the GIL
                                only under the RAW lock */
    uint64_t adapt_ns;       /* GIL: CLOCK_MONOTONIC of the last doubling */
    uint32_t adapt_drops;    /* GIL: arena-full drops since then */
    _Atomic uint32_t next_ordinal; /* atomic (relaxed RMW): ordinal of the
                                next thread to join, for seeded runs */
    _Atomic uint64_t *published; /* GIL+RAW: where interval_now is shown
                                to readers (the arena header's
                                counters.sample_interval_now) */
};


/* Everything a session owns. Protection of each field is given in its
 * comment; "GIL+RAW" means written only while holding both the GIL and
 * the RAW lock, so readers holding either one see a stable value. */
struct pytm_session {
    _Atomic int active;      /* GIL+RAW: hooks may record; read relaxed */
    uint32_t gen;            /* GIL+RAW: bumped at every start(), never 0
                                while active */
    uint32_t nframe;         /* GIL+RAW: traceback limit */
    bool keep;               /* GIL+RAW */
    struct pytm_policy policy;  /* sampling policy (fields labelled in
                                   policy.h) */
    struct pytm_arena *arena;       /* GIL+RAW */
    struct pytm_arena_header *hdr;  /* GIL+RAW */
    struct pytm_arena_tb *tbs;      /* GIL+RAW */
    uint32_t tb_noframe;     /* GIL+RAW: id of the traceback without
                                frames (nframe 0, shown as <unknown>:0) */
    struct pytm_traces traces;   /* GIL: MEM and OBJ blocks */
    struct pytm_fcache fcache;   /* GIL: holds a code reference per entry */
    struct pytm_tbcache tbcache; /* GIL */
    struct pytm_rawframe *capbuf;/* GIL: capture buffer, nframe entries */
    uint32_t *fidbuf;            /* GIL: frame ids, nframe entries */
    uint32_t bufcap;             /* GIL: entries of capbuf and fidbuf */
    bool unlinked;               /* GIL+RAW: the arena's name was removed
                                    at creation (fork child without keep):
                                    arena_path() is None, close must not
                                    unlink */
    struct pytm_reader *self_reader; /* GIL+RAW: with `unlinked`, a reader
                                    opened before the unlink, through
                                    which snapshots read the arena */
    uintptr_t last_main_alloc;   /* GIL: block of the latest MEM/OBJ record
                                    in exact mode; the 3.13 ref tracer
                                    skips the object created in it
                                    (reftrace.c) */
};

/* The process's session (active or not), for the Python glue. Never
 * NULL. Fields are read under the rules above (GIL for the glue). */
struct pytm_session *pytm_session_current(void);

/* Arguments of start(). */
struct pytm_session_config {
    uint32_t nframe;          /* 1 .. 65535 */
    uint64_t interval;        /* >= 1; 1 = exact */
    bool keep;
    uint64_t arena_size;      /* 0: default */
    bool seeded;              /* deterministic sampler seeds (PYTM_SEED) */
    uint64_t seed;            /* with `seeded`: thread k of the session
                                 seeds its sampler from (seed, k) */
    /* Process tree (pytm run following children; docs/arena.md,
     * "Process trees"): the arena gets PYTM_ARENA_FLAG_TREE and the
     * fields below; fork children then trace into NAMED, kept arenas of
     * the same tree (parent = this process). tree_root_pid 0: this
     * process is the root. */
    bool tree;
    int64_t tree_root_pid;
    uint64_t tree_root_ticks;
    int64_t parent_pid;       /* 0: getppid() */
};

/* Process-wide setup at module import: pthread key, atfork handlers.
 * 0 or PYTM_E_*. Idempotent. */
int pytm_session_global_init(void);

/* Starts tracing: creates the arena, private tables, installs the hooks.
 * When already tracing does nothing and returns 0 (like tracemalloc).
 * On failure returns a PYTM_E_* code, sets *what to the step that failed
 * ("arena", "tables", "hooks": our previous hooks are still chained below
 * another hook) and leaves
 * nothing behind (no hooks, no arena). */
int pytm_session_start(const struct pytm_session_config *cfg,
                       const char **what);

/* The arena directory: $PYTM_SHM_DIR when set and not empty (same rule
 * as pytmtop's -p/--list/--clean), else NULL (= /dev/shm). */
const char *pytm_session_shm_dir(void);

/* Stops tracing: restores the allocators, drops every trace, closes the
 * arena (unlinked unless keep). No-op when not tracing. */
void pytm_session_stop(void);

/* Interpreter exit: like stop but marks a kept arena EXITED. When
 * `finalized` the interpreter is gone (Py_AtExit): Python references
 * are leaked instead of released. */
void pytm_session_exit(bool finalized);

/* After fork(), in the child (Python's after_in_child hook, GIL held):
 * releases what the atfork child handler left and, when the parent was
 * tracing, starts a new session with the same settings in a new arena
 * (see session.c). Failure to restart leaves tracing off. */
void pytm_session_after_fork_child(void);

bool pytm_session_is_tracing(void);

/* Drops every trace, zeroes the arena's live aggregates and the peak.
 * Interned strings/frames/tracebacks stay (append-only). */
int pytm_session_clear(void);

void pytm_session_reset_peak(void);

/* (current, peak) after applying deferred RAW events; (0, 0) when not
 * tracing. */
void pytm_session_traced_memory(int64_t *current, int64_t *peak);

/* Bytes used by pytm itself: private tables + arena bytes in use. */
uint64_t pytm_session_memory(void);

/* Flushes the calling thread's counters and applies deferred RAW
 * events, so that the arena is up to date for a reader. GIL held. */
void pytm_session_sync(void);

/* Last values given to start() (or the defaults when never started). */
uint32_t pytm_session_nframe(void);
uint64_t pytm_session_interval(void);

#endif /* PYTM_RECORDER_SESSION_H */
