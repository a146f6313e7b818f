/* recorder/core/session: tracing session lifecycle (see session.h).
 *
 * start: arena and private tables are created first, the session fields
 *   are published under the RAW lock (with the GIL held), and only then
 *   are the hooks installed. On any failure everything is undone.
 * stop: hooks are uninstalled first, pending RAW events applied, then
 *   `active` is cleared under the RAW lock -- after that unlock no hook
 *   touches the arena or the tables (RAW hooks check `active` under the
 *   lock; MEM/OBJ hooks need the GIL, which we hold) -- then the tables
 *   and code references are released and the arena closed.
 * fork: see the handlers at the end.
 */
#include <Python.h>

#include "session.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "hooks.h"
#include "policy.h"
#include "pytm_error.h"
#include "rawside.h"
#include "reftrace.h"
#include "tables.h"
#include "threads.h"
#include "tracebacks.h"

/* The process's session. Fields: see session.h. */
static struct pytm_session g;

struct pytm_session *
pytm_session_current(void)
{
    return &g;
}

/* GIL: last start() arguments. */
static uint32_t last_nframe = 1;
static uint64_t last_interval = PYTM_DEFAULT_SAMPLE_INTERVAL;
static uint64_t last_arena_size;
static bool last_keep;
static bool last_seeded;
static uint64_t last_seed;
static bool last_tree;
/* Set by the fork child handler (only thread), read by
 * pytm_session_after_fork_child (GIL). */
static bool child_cleanup;

/* Initial table sizes (log2 of slots). Exact mode records every block. */
#define TRACES_BITS_EXACT 16u
/* Sampled: 256 slots (4 KiB of index), grown on demand. The index's
 * pages are hashed to, so a bigger start makes every page resident soon
 * (4096 slots: 64 KiB on steady, issue 13) though few samples are live. */
#define TRACES_BITS_SAMPLED 8u
#define RAW_TRACES_BITS 8u
#define TRACES_BITS_CLEARED 4u
#define CACHE_BITS 8u /* 256 slots; the caches grow on demand (resident KiB) */

static bool
is_active(void)
{
    return atomic_load_explicit(&g.active, memory_order_relaxed) != 0;
}

/* Releases the GIL-protected private state. `release_refs`: DECREF the
 * cached code objects (false when the interpreter is gone). */
static void
free_private(bool release_refs)
{
    pytm_traces_free(&g.traces);
    pytm_filter_main_clear();
    if (release_refs)
        pytm_tb_clear_caches(&g);
    pytm_fcache_free(&g.fcache);
    pytm_tbcache_free(&g.tbcache);
    pytm_tables_unmap(g.capbuf, g.bufcap * sizeof(*g.capbuf));
    pytm_tables_unmap(g.fidbuf, g.bufcap * sizeof(*g.fidbuf));
    g.capbuf = NULL;
    g.fidbuf = NULL;
    g.bufcap = 0;
}

static int
alloc_private(const struct pytm_session_config *cfg)
{
    bool exact = cfg->interval == 1;
    if (pytm_traces_init(&g.traces,
                         exact ? TRACES_BITS_EXACT : TRACES_BITS_SAMPLED) < 0 ||
        pytm_fcache_init(&g.fcache, CACHE_BITS) < 0 ||
        pytm_tbcache_init(&g.tbcache, CACHE_BITS) < 0)
        return PYTM_E_NOMEM;
    g.bufcap = cfg->nframe;
    g.capbuf = pytm_tables_map(cfg->nframe * sizeof(*g.capbuf));
    g.fidbuf = pytm_tables_map(cfg->nframe * sizeof(*g.fidbuf));
    if (g.capbuf == NULL || g.fidbuf == NULL)
        return PYTM_E_NOMEM;
    return 0;
}

int
pytm_session_start(const struct pytm_session_config *cfg, const char **what)
{
    *what = NULL;
    if (is_active())
        return 0; /* like tracemalloc: already tracing, change nothing */

    struct pytm_arena_config ac = {
        .arena_size = cfg->arena_size,
        .sample_interval = cfg->interval,
        .nframe = cfg->nframe,
        .keep = cfg->keep,
        .shm_dir = pytm_session_shm_dir(),
        .tree = cfg->tree,
        .tree_root_pid = cfg->tree_root_pid,
        .tree_root_start_ticks = cfg->tree_root_ticks,
        .parent_pid = cfg->parent_pid,
    };
    struct pytm_arena *a = NULL;
    int rc = pytm_arena_create(&ac, &a);
    if (rc < 0) {
        *what = "arena";
        return rc;
    }
    uint32_t tb_noframe;
    rc = alloc_private(cfg);
    if (rc < 0) {
        *what = "tables";
        goto fail;
    }
    rc = pytm_arena_intern_traceback(a, NULL, 0, 0, &tb_noframe);
    if (rc < 0) {
        *what = "arena";
        goto fail;
    }
    struct pytm_traces raw;
    rc = pytm_traces_init(&raw, RAW_TRACES_BITS);
    if (rc < 0) {
        *what = "tables";
        goto fail;
    }

    pytm_raw_lock();
    g.gen = g.gen + 1 != 0 ? g.gen + 1 : 1;
    g.keep = cfg->keep;
    g.nframe = cfg->nframe;
    g.arena = a;
    g.hdr = pytm_arena_header(a);
    pytm_policy_init(&g.policy, cfg->interval, cfg->seeded, cfg->seed,
                     &g.hdr->counters.sample_interval_now);
    g.tbs = pytm_arena_tbs(a);
    g.tb_noframe = tb_noframe;
    g.unlinked = false;
    pytm_traces_free(&pytm_raw.traces);
    pytm_raw.traces = raw;
    pytm_raw.epoch++;
    pytm_raw_discard_locked();
    pytm_filter_raw_clear();
    pytm_threads_reset_all_locked();
    atomic_store_explicit(&g.active, 1, memory_order_relaxed);
    pytm_raw_unlock();
    pytm_filter_main_clear();
    pytm_tls.sampler.left = 0; /* the caller too, registered or not */

    rc = pytm_hooks_install(&g, g.policy.exact ? PYTM_HOOKS_EXACT
                                               : PYTM_HOOKS_SAMPLED);
    if (rc < 0) {
        *what = "hooks";
        pytm_raw_lock();
        atomic_store_explicit(&g.active, 0, memory_order_relaxed);
        pytm_raw.epoch++;
        pytm_traces_free(&pytm_raw.traces);
        pytm_raw_unlock();
        goto fail;
    }
    if (g.policy.exact)
        pytm_reftrace_install(&g); /* 3.13+; without it, no re-tagging */
    last_nframe = cfg->nframe;
    last_interval = cfg->interval;
    last_arena_size = cfg->arena_size;
    last_keep = cfg->keep;
    last_seeded = cfg->seeded;
    last_seed = cfg->seed;
    last_tree = cfg->tree;
    return 0;

fail:
    free_private(true);
    g.arena = NULL;
    g.hdr = NULL;
    g.tbs = NULL;
    pytm_arena_close(a, false, false);
    return rc;
}

const char *
pytm_session_shm_dir(void)
{
    const char *d = getenv("PYTM_SHM_DIR");
    return d != NULL && d[0] != '\0' ? d : NULL;
}

void
pytm_session_sync(void)
{
    if (!is_active())
        return;
    pytm_raw_lock();
    pytm_raw_drain_locked(&g);
    pytm_raw_unlock();
    struct pytm_tls *t = &pytm_tls;
    if (t->gen == g.gen)
        pytm_threads_flush(&g, t);
    atomic_store_explicit(&g.hdr->counters.tracemalloc_memory,
                          pytm_session_memory(), memory_order_relaxed);
}

/* Common part of stop and exit. */
static void
end_session(bool exiting, bool finalized)
{
    if (!is_active())
        return;
    if (!finalized) /* after finalization nothing creates objects, and
                       the tracer slot may not be touched without the GIL */
        pytm_reftrace_uninstall();
    pytm_hooks_uninstall();
    pytm_session_sync();

    pytm_raw_lock();
    atomic_store_explicit(&g.active, 0, memory_order_relaxed);
    pytm_raw.epoch++;
    pytm_raw_discard_locked();
    pytm_traces_free(&pytm_raw.traces);
    pytm_filter_raw_clear();
    pytm_raw_unlock();
    /* From here on no hook touches the arena or the tables. */

    struct pytm_arena *a = g.arena;
    free_private(!finalized);
    if (g.self_reader != NULL) {
        pytm_reader_close(g.self_reader);
        g.self_reader = NULL;
    }
    g.arena = NULL;
    g.hdr = NULL;
    g.tbs = NULL;
    /* An arena whose name was removed is closed as "kept": nothing to
     * unlink (and the name could only be ours again). */
    pytm_arena_close(a, g.keep || g.unlinked, exiting);
}

void
pytm_session_stop(void)
{
    end_session(false, false);
}

void
pytm_session_exit(bool finalized)
{
    end_session(true, finalized);
}

bool
pytm_session_is_tracing(void)
{
    return is_active();
}

int
pytm_session_clear(void)
{
    if (!is_active())
        return 0;
    pytm_session_sync();
    pytm_raw_lock();
    pytm_raw.epoch++;
    pytm_raw_discard_locked();
    int rc = pytm_traces_reset(&pytm_raw.traces, RAW_TRACES_BITS);
    pytm_filter_raw_clear();
    /* Shrink the main table to its minimum: clear_traces() releases the
     * memory of the traces, as tracemalloc's does (get_tracemalloc_memory
     * must not grow across it), and the table regrows on demand. */
    int rc2 = pytm_traces_reset(&g.traces, TRACES_BITS_CLEARED);
    pytm_filter_main_clear();
    pytm_arena_clear(g.arena);
    pytm_arena_reset_peak(g.arena);
    pytm_raw_unlock();
    /* Tables are consistent (empty) before any DECREF runs code. */
    pytm_tb_clear_caches(&g);
    return rc < 0 ? rc : rc2;
}

void
pytm_session_reset_peak(void)
{
    if (!is_active())
        return;
    pytm_session_sync();
    pytm_arena_reset_peak(g.arena);
}

void
pytm_session_traced_memory(int64_t *current, int64_t *peak)
{
    *current = *peak = 0;
    if (!is_active())
        return;
    pytm_session_sync();
    struct pytm_arena_counters *c = &g.hdr->counters;
    *current = atomic_load_explicit(&c->traced_current, memory_order_relaxed);
    *peak = atomic_load_explicit(&c->traced_peak, memory_order_relaxed);
}

uint64_t
pytm_session_memory(void)
{
    uint64_t n = pytm_traces_memory(&g.traces) +
                 pytm_fcache_memory(&g.fcache) +
                 pytm_tbcache_memory(&g.tbcache) +
                 (uint64_t)g.bufcap *
                     (sizeof(*g.capbuf) + sizeof(*g.fidbuf));
    if (is_active()) {
        pytm_raw_lock();
        n += pytm_traces_memory(&pytm_raw.traces);
        pytm_raw_unlock();
        n += pytm_arena_memory_usage(g.arena);
    }
    return n;
}

uint32_t
pytm_session_nframe(void)
{
    return last_nframe;
}

uint64_t
pytm_session_interval(void)
{
    return last_interval;
}

/* ---- process-wide: fork and exit -------------------------------------
 *
 * fork(): the child must never write into the parent's arena. We choose
 * "tracing stops in the child":
 *   prepare (parent, forking thread): take the RAW lock so that the
 *     child does not inherit it held by a thread that will not exist;
 *   parent: release it;
 *   child: reset the lock, clear `active`, restore the allocators and
 *     forget every other thread's TLS (those threads do not exist in the
 *     child). Only flag stores and PyMem_SetAllocator here: the child of
 *     a C-level fork() may be about to exec.
 *   os.register_at_fork(after_in_child=...) -> after_fork_child (GIL):
 *     releases the private tables and code references. The parent's
 *     arena is never written, closed nor unlinked by the child:
 *     pytm_arena_forget closes only the child's copy of its fd (kept by
 *     the writer for its backing steps), and its mapping is left mapped
 *     and forgotten. Then, like tracemalloc (which keeps tracing in the
 *     child), tracing resumes in the child with the parent's settings in
 *     a NEW arena <shm dir>/pytm-<child pid>. The parent's traces are not
 *     carried over (the child starts empty). Unless keep=True, the new
 *     arena's name is removed right away: fork children often end with
 *     os._exit() (multiprocessing does), which runs no exit handler, and
 *     a named arena would then leak a tmpfs object per child.
 *     Such an arena is private to the child (arena_path() is None; the
 *     in-process API works). With keep=True the child's arena stays
 *     named and visible to pytmtop, like the parent's.
 *     In a process tree (cfg.tree: `pytm run` following children) the
 *     child's arena is named and kept too, and its identity names the
 *     parent (the pid of the arena we inherited) and the tree's root
 *     (copied from that arena): pytmtop --children finds it, and the
 *     root's `pytm run` removes the tree's arenas at its exit.
 */
static void
fork_prepare(void)
{
    pytm_raw_lock();
}

static void
fork_parent(void)
{
    pytm_raw_unlock();
}

static void
fork_child(void)
{
    atomic_store_explicit(&pytm_raw.lock, 0, memory_order_relaxed);
    pytm_raw.threads = NULL;
    if (pytm_tls.registered == 1) {
        pytm_tls.next = pytm_tls.prev = NULL;
        pytm_raw.threads = &pytm_tls;
    }
    if (!is_active())
        return;
    atomic_store_explicit(&g.active, 0, memory_order_relaxed);
    pytm_raw.epoch++;
    pytm_raw_discard_locked();
    pytm_hooks_uninstall();
    child_cleanup = true;
}

void
pytm_session_after_fork_child(void)
{
    if (!child_cleanup)
        return;
    child_cleanup = false;
    pytm_reftrace_uninstall();
    pytm_traces_free(&pytm_raw.traces);
    pytm_filter_raw_clear();
    free_private(true);
    /* Read before forgetting it: the inherited (parent's) arena names
     * the tree this child joins. Identity fields never change. */
    int64_t parent_pid = g.hdr->pid;
    int64_t tree_root = g.hdr->tree_root_pid;
    uint64_t tree_ticks = g.hdr->tree_root_start_ticks;
    /* The parent's arena: leave its mapping alone, never close it here
     * (that would mark it stopped and unlink the parent's object); only
     * our inherited copy of its fd goes. */
    pytm_arena_forget(g.arena);
    g.arena = NULL;
    g.hdr = NULL;
    g.tbs = NULL;
    if (g.self_reader != NULL) { /* a fork child's child: our copy */
        pytm_reader_close(g.self_reader);
        g.self_reader = NULL;
    }
    g.unlinked = false;

    struct pytm_session_config cfg = {
        .nframe = last_nframe,
        .interval = last_interval,
        .keep = last_keep,
        .arena_size = last_arena_size,
        .seeded = last_seeded,
        .seed = last_seed,
        .tree = last_tree,
        .tree_root_pid = tree_root,
        .tree_root_ticks = tree_ticks,
        .parent_pid = parent_pid,
    };
    if (cfg.tree)
        cfg.keep = true; /* named; the root's pytm run removes it */
    const char *what;
    if (pytm_session_start(&cfg, &what) < 0)
        return; /* tracing stays off in this child */
    if (cfg.keep)
        return;
    /* Keep a reader on the object for snapshots, then remove the name. If
     * either step fails the arena simply stays named (removed at exit). */
    struct pytm_reader *r = NULL;
    if (pytm_reader_open_path(pytm_arena_path(g.arena), &r) < 0)
        return;
    if (unlink(pytm_arena_path(g.arena)) != 0) {
        pytm_reader_close(r);
        return;
    }
    pytm_raw_lock();
    g.unlinked = true;
    g.self_reader = r;
    pytm_raw_unlock();
}

static void
at_exit_finalized(void)
{
    /* Py_AtExit: after Py_FinalizeEx; Python objects are gone. Normally
     * the Python-level atexit hook has already ended the session. */
    pytm_session_exit(true);
}

int
pytm_session_global_init(void)
{
    static bool done;
    if (done)
        return 0;
    int rc = pytm_threads_global_init(&g);
    if (rc < 0)
        return rc;
    if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0)
        return PYTM_E_NOMEM;
    if (Py_AtExit(at_exit_finalized) < 0)
        return PYTM_E_NOMEM;
    done = true;
    return 0;
}
