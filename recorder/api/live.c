/* recorder/api/live: SnapData of the live session and diagnostics (see
 * live.h).
 *
 * A snapshot is assembled in two halves: the traces come from the
 * writer-side tables (copied first, with the GIL held and the RAW queue
 * drained, so they match the arena aggregates), the strings, frames,
 * tracebacks, totals and meta come from reading our own arena through
 * shm's reader -- the same validated path pytmtop uses. Nothing between
 * the two halves allocates through Python, so no traceback can be
 * interned in between; RAW blocks recorded without the GIL by other
 * threads meanwhile only reach the aggregates, which SnapData recomputes
 * from traces[] anyway.
 */
#include "live.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arena.h"
#include "frames.h"
#include "pytm_error.h"
#include "rawside.h"
#include "reader.h"
#include "session.h"
#include "snap.h"
#include "snapdata_link.h"
#include "tables.h"
#include "threads.h"

/* RAW records other threads may add while the buffer is prepared. */
#define RAW_SLACK 256u
/* Below this many bytes one thread fills the buffer alone. */
#define PARALLEL_MIN ((size_t)8 << 20)

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* A fresh buffer of a large snapshot is mapped but not yet backed: one
 * madvise faults a range in at once, cheaper than a trap per page
 * during the copy. Best effort (older kernels: EINVAL, ignored). */
static void
prefault(void *buf, size_t bytes)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    if (bytes < ((size_t)1 << 20))
        return;
    uintptr_t a = ((uintptr_t)buf + pg - 1) & ~(uintptr_t)(pg - 1);
    uintptr_t e = ((uintptr_t)buf + bytes) & ~(uintptr_t)(pg - 1);
    if (e > a)
        (void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
}

/* One part of the buffer: fault [dst, dst + fault) in, then copy
 * `bytes` from src to dst. Plain memory work, no Python, no hooks. */
struct fill {
    char *dst;
    const char *src;
    size_t bytes;
    size_t fault;
};

static void *
fill_run(void *arg)
{
    struct fill *f = arg;
    prefault(f->dst, f->fault);
    if (f->bytes != 0)
        memcpy(f->dst, f->src, f->bytes);
    return NULL;
}

/* Copies the main table's records to buf[0 .. n_main) and faults in
 * the whole buffer of cap records. For a big snapshot most of the time
 * is the kernel backing fresh pages, so a helper thread does the second
 * half while the calling thread does the first (inline when the thread
 * cannot be started). The main table does not change meanwhile: the
 * caller holds the GIL throughout and the helper only reads it. */
static void
fill_main(const struct pytm_traces *t, struct pytm_snap_trace *buf, size_t cap)
{
    const char *src = (const char *)pytm_traces_records(t);
    size_t used = t->count * sizeof(*buf), all = cap * sizeof(*buf);
    size_t half = all < PARALLEL_MIN ? all : (all / 2) & ~(size_t)4095;
    /* Part 1: [0, half); part 2: [half, all), of which the records
     * beyond `half` are copied. */
    struct fill one = {(char *)buf, src, used < half ? used : half, half};
    struct fill two = {(char *)buf + half, src + half,
                       used > half ? used - half : 0, all - half};
    pthread_t th;
    bool helper = two.fault != 0 &&
                  pthread_create(&th, NULL, fill_run, &two) == 0;
    fill_run(&one);
    if (helper)
        pthread_join(th, NULL);
    else if (two.fault != 0)
        fill_run(&two);
}

PyObject *
pytm_live_take(struct pytm_session *ses)
{
    pytm_session_sync();

    /* 1. traces (malloc: the snapshot owns one malloc per array): the
     * main table's records first, then the RAW table's. The buffer is
     * allocated, faulted in and filled with the main records before the
     * RAW lock is taken (milliseconds for a million traces); RAW
     * records added meanwhile by other threads fit in the slack, else
     * the buffer grows and we retry. */
    size_t n_main = ses->traces.count;
    pytm_raw_lock();
    size_t raw_room = pytm_raw.traces.count + RAW_SLACK;
    pytm_raw_unlock();
    struct pytm_snap_trace *tr = malloc((n_main + raw_room) * sizeof(*tr));
    if (tr == NULL)
        return PyErr_NoMemory();
    fill_main(&ses->traces, tr, n_main + raw_room);
    size_t n;
    for (;;) {
        pytm_raw_lock();
        pytm_raw_drain_locked(ses);
        size_t n_raw = pytm_raw.traces.count;
        if (n_raw <= raw_room) {
            if (n_raw != 0)
                memcpy(tr + n_main, pytm_traces_records(&pytm_raw.traces),
                       n_raw * sizeof(*tr));
            pytm_raw_unlock();
            n = n_main + n_raw;
            break;
        }
        pytm_raw_unlock();
        raw_room = n_raw * 2 + RAW_SLACK;
        struct pytm_snap_trace *bigger =
            realloc(tr, (n_main + raw_room) * sizeof(*tr));
        if (bigger == NULL) {
            free(tr);
            return PyErr_NoMemory();
        }
        tr = bigger;
    }

    /* 2. everything else, through the reader */
    struct pytm_reader *r = NULL;
    struct pytm_snap s;
    pytm_snap_init(&s);
    int rc;
    if (ses->self_reader != NULL) {
        /* The arena's name is gone (fork child): the reader opened
         * before the unlink still maps it. */
        rc = pytm_reader_snap(ses->self_reader, &s);
    }
    else {
        rc = pytm_reader_open_path(pytm_arena_path(ses->arena), &r);
        if (rc == 0) {
            rc = pytm_reader_snap(r, &s);
            pytm_reader_close(r);
        }
    }
    if (rc < 0) {
        free(tr);
        return PyErr_Format(PyExc_RuntimeError,
                            "pytm: cannot read back the arena: %s",
                            pytm_strerror(rc));
    }
    /* The records name arena tbs; the reader merged per-thread tbs of
     * one stack (model/snap_threads.h): splits[arena tb].tb is the
     * merged index. A tb published after the read cannot be named by a
     * record taken before it. */
    for (size_t i = 0; i < n; i++)
        if (tr[i].tb < s.n_splits)
            tr[i].tb = s.splits[tr[i].tb].tb;
    s.traces = tr;
    s.n_traces = n;
    s.meta.flags |= PYTM_SNAP_HAS_TRACES;
    rc = pytm_snap_validate(&s);
    if (rc < 0) {
        pytm_snap_free(&s);
        return PyErr_Format(PyExc_RuntimeError,
                            "pytm: inconsistent snapshot: %s",
                            pytm_strerror(rc));
    }
    return pytm_snapdata_link_wrap(&s); /* moves s */
}

bool
pytm_live_object_tb(struct pytm_session *ses, PyObject *obj, uint32_t *tb)
{
    if (!pytm_session_is_tracing())
        return false;
    uintptr_t blk = (uintptr_t)pytm_frames_object_block(obj);
    struct pytm_trace_rec rec;
    if (pytm_traces_get(&ses->traces, blk, &rec)) {
        *tb = rec.tb;
        return true;
    }
    bool found = false;
    pytm_raw_lock();
    if (pytm_traces_get(&pytm_raw.traces, blk, &rec)) {
        *tb = rec.tb;
        found = true;
    }
    pytm_raw_unlock();
    return found;
}

PyObject *
pytm_live_stats(struct pytm_session *ses)
{
    bool on = pytm_session_is_tracing();
    if (on)
        pytm_session_sync();
    pytm_raw_lock();
    unsigned long long raw_count = pytm_raw.traces.count;
    unsigned long long pending =
        atomic_load_explicit(&pytm_raw.n_pending, memory_order_relaxed);
    unsigned long long epoch = pytm_raw.epoch;
    size_t n_threads = 0;
    for (struct pytm_tls *t = pytm_raw.threads; t != NULL; t = t->next)
        n_threads++;
    pytm_raw_unlock();
    return Py_BuildValue(
        "{s:O,s:O,s:K,s:k,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:d,s:K,s:K,s:n,s:n}",
        "tracing", on ? Py_True : Py_False,
        "exact", ses->policy.exact ? Py_True : Py_False,
        "interval", (unsigned long long)ses->policy.interval,
        "nframe", (unsigned long)ses->nframe,
        "traces", (unsigned long long)ses->traces.count,
        "traces_capacity",
        (unsigned long long)pytm_traces_capacity(&ses->traces),
        "raw_traces", raw_count,
        "frame_cache", (unsigned long long)ses->fcache.count,
        "tb_cache", (unsigned long long)ses->tbcache.count,
        "pending", pending,
        "epoch", epoch,
        "filter_load", pytm_filter_main_load(),
        "gen", (unsigned long long)ses->gen,
        "tb_noframe", (unsigned long long)ses->tb_noframe,
        "registered_threads", (Py_ssize_t)n_threads,
        "tls_size", (Py_ssize_t)sizeof(struct pytm_tls));
}

PyObject *
pytm_live_threads(struct pytm_session *ses)
{
    PyObject *list = PyList_New(0);
    if (list == NULL || !pytm_session_is_tracing())
        return list;
    pytm_session_sync();
    /* Our own arena, mapped read-write by us: trusted layout. */
    struct pytm_arena_header *h = ses->hdr;
    struct pytm_arena_thread *slots =
        (struct pytm_arena_thread *)((char *)h + h->threads.offset);
    uint64_t hwm = atomic_load_explicit(&h->published.threads_hwm,
                                        memory_order_acquire);
    for (uint64_t i = 0; i < hwm && i < h->threads.capacity; i++) {
        struct pytm_arena_thread *t = &slots[i];
        if (atomic_load_explicit(&t->state, memory_order_acquire) !=
            PYTM_THREAD_LIVE)
            continue;
        char name[sizeof(t->name) + 1];
        memcpy(name, t->name, sizeof(t->name));
        name[sizeof(t->name)] = '\0';
        PyObject *item = Py_BuildValue(
            "(iNKK)", (int)t->tid,
            PyUnicode_DecodeUTF8(name, (Py_ssize_t)strlen(name), "replace"),
            (unsigned long long)atomic_load_explicit(&t->n_allocs,
                                                     memory_order_relaxed),
            (unsigned long long)atomic_load_explicit(&t->n_samples,
                                                     memory_order_relaxed));
        if (item == NULL || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
    }
    return list;
}
