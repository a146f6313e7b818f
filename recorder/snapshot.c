/* recorder/snapshot: SnapData of the live session and diagnostics (see
 * snapshot.h).
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
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "frames.h"
#include "pytm_error.h"
#include "rawside.h"
#include "reader.h"
#include "session.h"
#include "snap.h"
#include "snapobj.h"
#include "tables.h"
#include "threads.h"

static size_t
copy_table(const struct pytm_traces *t, struct pytm_snap_trace *out)
{
    size_t k = 0;
    for (size_t i = 0; i < pytm_traces_capacity(t); i++) {
        const struct pytm_trace_rec *r = &t->slots[i];
        if (r->ptr == 0)
            continue;
        out[k].size = r->size;
        out[k].est_size = r->est_size;
        out[k].est_count = r->est_count;
        out[k].tb = r->tb;
        out[k].domain = r->domain;
        k++;
    }
    return k;
}

PyObject *
pytm_snapshot_take(void)
{
    pytm_session_sync();

    /* 1. traces (malloc: the snapshot owns one malloc per array) */
    size_t n_main = pytm_g.traces.count;
    pytm_raw_lock();
    pytm_raw_drain_locked();
    size_t n_raw = pytm_raw.traces.count;
    size_t cap = n_main + n_raw;
    struct pytm_snap_trace *tr = malloc((cap ? cap : 1) * sizeof(*tr));
    size_t n = 0;
    if (tr != NULL)
        n = copy_table(&pytm_raw.traces, tr);
    pytm_raw_unlock();
    if (tr == NULL)
        return PyErr_NoMemory();
    n += copy_table(&pytm_g.traces, tr + n);

    /* 2. everything else, through the reader */
    struct pytm_reader *r = NULL;
    struct pytm_snap s;
    pytm_snap_init(&s);
    int rc;
    if (pytm_g.self_reader != NULL) {
        /* The arena's name is gone (fork child): the reader opened
         * before the unlink still maps it. */
        rc = pytm_reader_snapshot(pytm_g.self_reader, &s);
    }
    else {
        rc = pytm_reader_open_path(pytm_arena_path(pytm_g.arena), &r);
        if (rc == 0) {
            rc = pytm_reader_snapshot(r, &s);
            pytm_reader_close(r);
        }
    }
    if (rc < 0) {
        free(tr);
        return PyErr_Format(PyExc_RuntimeError,
                            "pytm: cannot read back the arena: %s",
                            pytm_strerror(rc));
    }
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
    return pytm_snapobj_wrap(&s); /* moves s */
}

bool
pytm_snapshot_object_tb(PyObject *obj, uint32_t *tb)
{
    if (!pytm_session_is_tracing())
        return false;
    uintptr_t blk = (uintptr_t)pytm_frames_object_block(obj);
    const struct pytm_trace_rec *rec = pytm_traces_get(&pytm_g.traces, blk);
    if (rec != NULL) {
        *tb = rec->tb;
        return true;
    }
    bool found = false;
    pytm_raw_lock();
    rec = pytm_traces_get(&pytm_raw.traces, blk);
    if (rec != NULL) {
        *tb = rec->tb;
        found = true;
    }
    pytm_raw_unlock();
    return found;
}

PyObject *
pytm_snapshot_stats(void)
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
        "exact", pytm_g.exact ? Py_True : Py_False,
        "interval", (unsigned long long)pytm_g.interval,
        "nframe", (unsigned long)pytm_g.nframe,
        "traces", (unsigned long long)pytm_g.traces.count,
        "traces_capacity",
        (unsigned long long)pytm_traces_capacity(&pytm_g.traces),
        "raw_traces", raw_count,
        "frame_cache", (unsigned long long)pytm_g.fcache.count,
        "tb_cache", (unsigned long long)pytm_g.tbcache.count,
        "pending", pending,
        "epoch", epoch,
        "filter_load", pytm_filter_main_load(),
        "gen", (unsigned long long)pytm_g.gen,
        "tb_noframe", (unsigned long long)pytm_g.tb_noframe,
        "registered_threads", (Py_ssize_t)n_threads,
        "tls_size", (Py_ssize_t)sizeof(struct pytm_tls));
}

PyObject *
pytm_snapshot_threads(void)
{
    PyObject *list = PyList_New(0);
    if (list == NULL || !pytm_session_is_tracing())
        return list;
    pytm_session_sync();
    /* Our own arena, mapped read-write by us: trusted layout. */
    struct pytm_arena_header *h = pytm_g.hdr;
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
