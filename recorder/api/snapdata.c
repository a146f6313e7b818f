/* recorder/api/snapdata: the SnapData type (contract in snapdata.h): object
 * lifecycle, per-index trace access, metadata, the method table. The
 * cached Python objects are built by snapdata_cache.c.
 */
#define PY_SSIZE_T_CLEAN
#include "snapdata.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "pytm_error.h"
#include "snap.h"
#include "snapfilter.h"
#include "snap_threads.h"
#include "snapdata_int.h"

/* ---- errors ----------------------------------------------------------- */

PyObject *
pytm_snapdata_raise(int err, const char *what)
{
    if (err == PYTM_E_NOMEM)
        return PyErr_NoMemory();
    PyObject *type = err == PYTM_E_INVAL ? PyExc_ValueError : PyExc_RuntimeError;
    PyErr_Format(type, "%s: %s", what, pytm_strerror(err));
    return NULL;
}

/* ---- lifecycle --------------------------------------------------------- */

static void
snapdata_dealloc(pytm_snapdata *self)
{
    pytm_snapdata_clear_caches(self);
    Py_XDECREF(self->attrs);
    pytm_snap_free(&self->snap);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyObject *
pytm_snapdata_wrap(struct pytm_snap *s)
{
    if (PyType_Ready(&pytm_snapdata_type) < 0) {
        pytm_snap_free(s);
        return NULL;
    }
    pytm_snapdata *o = PyObject_New(pytm_snapdata, &pytm_snapdata_type);
    if (o == NULL) {
        pytm_snap_free(s);
        return NULL;
    }
    o->snap = *s; /* move */
    pytm_snap_init(s);
    o->strs = NULL;
    o->frames = NULL;
    o->tbs = NULL;
    o->attrs = NULL;
    if (o->snap.meta.flags & PYTM_SNAP_HAS_TRACES)
        pytm_snap_aggregate_traces(&o->snap);
    return (PyObject *)o;
}

const struct pytm_snap *
pytm_snapdata_get(PyObject *obj)
{
    if (!PyObject_TypeCheck(obj, &pytm_snapdata_type)) {
        PyErr_Format(PyExc_TypeError, "expected SnapData, got %.200s",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return &((pytm_snapdata *)obj)->snap;
}

static int
need_traces(pytm_snapdata *self)
{
    if (self->snap.meta.flags & PYTM_SNAP_HAS_TRACES)
        return 0;
    PyErr_SetString(PyExc_ValueError,
                    "this snapshot has per-traceback totals only, no traces");
    return -1;
}

/* ---- traces -------------------------------------------------------------- */

static Py_ssize_t
snapdata_len(pytm_snapdata *self)
{
    return (Py_ssize_t)self->snap.n_traces;
}

/* (domain, size, frames, total_nframe) of trace i. */
static PyObject *
raw_trace(pytm_snapdata *self, uint64_t i)
{
    const struct pytm_snap_trace *t = &self->snap.traces[i];
    uint32_t total = self->snap.tbs[t->tb].total_nframe;
    PyObject *frames = pytm_snapdata_tb_frames(self, t->tb);
    if (frames == NULL)
        return NULL;
    if (total == PYTM_SNAPDATA_TOTAL_UNKNOWN)
        return Py_BuildValue("(kLNO)", (unsigned long)t->domain,
                             (long long)t->est_size, frames, Py_None);
    return Py_BuildValue("(kLNk)", (unsigned long)t->domain,
                         (long long)t->est_size, frames, (unsigned long)total);
}

static int
trace_index(pytm_snapdata *self, PyObject *arg, uint64_t *out)
{
    Py_ssize_t i = PyNumber_AsSsize_t(arg, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred())
        return -1;
    Py_ssize_t n = (Py_ssize_t)self->snap.n_traces;
    if (i < 0)
        i += n;
    if (i < 0 || i >= n) {
        PyErr_SetString(PyExc_IndexError, "trace index out of range");
        return -1;
    }
    *out = (uint64_t)i;
    return 0;
}

static PyObject *
snapdata_trace(pytm_snapdata *self, PyObject *arg)
{
    uint64_t i;
    if (need_traces(self) < 0 || trace_index(self, arg, &i) < 0)
        return NULL;
    return raw_trace(self, i);
}

/* (frames, total_nframe) of traceback index i (the index that
 * get_object_traceback_index returns for a live snapshot). */
static PyObject *
snapdata_traceback(pytm_snapdata *self, PyObject *arg)
{
    Py_ssize_t i = PyNumber_AsSsize_t(arg, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    /* A live snapshot's index names an arena tb; the reader merged
     * per-thread tbs and splits[arena tb].tb is the merged one. */
    uint64_t n_idx = self->snap.n_splits ? self->snap.n_splits
                                         : self->snap.n_tbs;
    if (i < 0 || (uint64_t)i >= n_idx) {
        PyErr_SetString(PyExc_IndexError, "traceback index out of range");
        return NULL;
    }
    if (self->snap.n_splits)
        i = self->snap.splits[i].tb;
    uint32_t total = self->snap.tbs[i].total_nframe;
    PyObject *frames = pytm_snapdata_tb_frames(self, (uint32_t)i);
    if (frames == NULL)
        return NULL;
    if (total == PYTM_SNAPDATA_TOTAL_UNKNOWN)
        return Py_BuildValue("(NO)", frames, Py_None);
    return Py_BuildValue("(Nk)", frames, (unsigned long)total);
}

/* Every traceback with its aggregates, by traceback index: a list of
 * (frames, total_nframe, size, count, alloc_size, alloc_count,
 * alloc_samples). size/count are live (recomputed from the traces when
 * there are traces); the alloc_* are cumulative since start(), as the
 * arena kept them, and all 0 when unknown (a snapshot built from raw
 * traces, or a filtered one). */
static PyObject *
snapdata_tracebacks(pytm_snapdata *self, PyObject *Py_UNUSED(unused))
{
    PyObject *list = PyList_New((Py_ssize_t)self->snap.n_tbs);
    if (list == NULL)
        return NULL;
    for (uint32_t i = 0; i < self->snap.n_tbs; i++) {
        const struct pytm_snap_tb *t = &self->snap.tbs[i];
        PyObject *frames = pytm_snapdata_tb_frames(self, i);
        PyObject *total = t->total_nframe == PYTM_SNAPDATA_TOTAL_UNKNOWN
                              ? Py_NewRef(Py_None)
                              : PyLong_FromUnsignedLong(t->total_nframe);
        PyObject *row = frames == NULL || total == NULL ? NULL
            : Py_BuildValue("(NNLLKKK)", frames, total, (long long)t->size,
                            (long long)t->count,
                            (unsigned long long)t->alloc_size,
                            (unsigned long long)t->alloc_count,
                            (unsigned long long)t->alloc_samples);
        if (row == NULL) {
            if (frames == NULL || total == NULL) {
                Py_XDECREF(frames);
                Py_XDECREF(total);
            }
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, row);
    }
    return list;
}

/* (est_count, true block size) of trace i: its sampled-mode weights. */
static PyObject *
snapdata_weights(pytm_snapdata *self, PyObject *arg)
{
    uint64_t i;
    if (need_traces(self) < 0 || trace_index(self, arg, &i) < 0)
        return NULL;
    const struct pytm_snap_trace *t = &self->snap.traces[i];
    return Py_BuildValue("(LK)", (long long)t->est_count,
                         (unsigned long long)t->size);
}

static PyObject *
snapdata_raw_traces(pytm_snapdata *self, PyObject *Py_UNUSED(unused))
{
    if (need_traces(self) < 0)
        return NULL;
    PyObject *list = PyList_New((Py_ssize_t)self->snap.n_traces);
    if (list == NULL)
        return NULL;
    for (uint64_t i = 0; i < self->snap.n_traces; i++) {
        PyObject *t = raw_trace(self, i);
        if (t == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    return list;
}

static PyObject *
snapdata_strings(pytm_snapdata *self, PyObject *Py_UNUSED(unused))
{
    PyObject *list = PyList_New(self->snap.n_strings);
    if (list == NULL)
        return NULL;
    for (uint32_t i = 0; i < self->snap.n_strings; i++) {
        PyObject *s = pytm_snapdata_str(self, i);
        if (s == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, s);
    }
    return list;
}

/* (size, count, samples) summed over the traces. */
static PyObject *
snapdata_total(pytm_snapdata *self, PyObject *Py_UNUSED(unused))
{
    if (need_traces(self) < 0)
        return NULL;
    long long size = 0, count = 0;
    for (uint64_t i = 0; i < self->snap.n_traces; i++) {
        size += self->snap.traces[i].est_size;
        count += self->snap.traces[i].est_count;
    }
    return Py_BuildValue("(LLK)", size, count,
                         (unsigned long long)self->snap.n_traces);
}

/* ---- metadata ---------------------------------------------------------- */

static PyObject *
get_traceback_limit(pytm_snapdata *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLong(self->snap.meta.nframe);
}

static PyObject *
get_sample_interval(pytm_snapdata *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLongLong(self->snap.meta.sample_interval);
}

static PyObject *
get_has_traces(pytm_snapdata *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->snap.meta.flags & PYTM_SNAP_HAS_TRACES);
}

static PyObject *
get_attrs(pytm_snapdata *self, void *Py_UNUSED(closure))
{
    return Py_NewRef(self->attrs ? self->attrs : Py_None);
}

static PyObject *
get_n_tracebacks(pytm_snapdata *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLong(self->snap.n_tbs);
}

/* Indices traceback() accepts: arena tbs (splits) when known. */
static PyObject *
get_n_arena_tracebacks(pytm_snapdata *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLongLong(
        self->snap.n_splits ? self->snap.n_splits : self->snap.n_tbs);
}

/* Everything else of meta and totals, as a dict (for Snapshot.info). */
static PyObject *
snapdata_info(pytm_snapdata *self, PyObject *Py_UNUSED(unused))
{
    const struct pytm_snap_meta *m = &self->snap.meta;
    const struct pytm_snap_totals *t = &self->snap.totals;
    const char *cmd = m->cmdline ? m->cmdline : "";
    return Py_BuildValue(
        "{s:L,s:K,s:K,s:K,s:k,s:k,s:N,s:O,s:L,s:L,s:K,s:K,s:K,s:K,s:K,s:K,"
        "s:K,s:K}",
        "pid", (long long)m->pid,
        "start_time_ns", (unsigned long long)m->start_realtime_ns,
        "taken_time_ns", (unsigned long long)m->taken_realtime_ns,
        "sample_interval", (unsigned long long)m->sample_interval,
        "traceback_limit", (unsigned long)m->nframe,
        "flags", (unsigned long)m->flags,
        "cmdline", PyUnicode_DecodeUTF8(cmd, (Py_ssize_t)strlen(cmd), "replace"),
        "exited", (m->flags & PYTM_SNAP_EXITED) ? Py_True : Py_False,
        "traced_current", (long long)t->traced_current,
        "traced_peak", (long long)t->traced_peak,
        "n_allocs", (unsigned long long)t->n_allocs,
        "n_samples", (unsigned long long)t->n_samples,
        "n_frees", (unsigned long long)t->n_frees,
        "n_dropped", (unsigned long long)t->n_dropped,
        "live_samples", (unsigned long long)t->live_samples,
        "clear_epoch", (unsigned long long)t->clear_epoch,
        "threads_unknown", (unsigned long long)t->threads_unknown,
        "stacks_folded", (unsigned long long)t->stacks_folded);
}

static PyObject *
snapdata_from_traces(PyObject *Py_UNUSED(cls), PyObject *args)
{
    PyObject *traces, *limit;
    if (!PyArg_ParseTuple(args, "OO:from_traces", &traces, &limit))
        return NULL;
    struct pytm_snap s;
    pytm_snap_init(&s);
    if (pytm_snapdata_build(traces, limit, &s) < 0)
        return NULL;
    return pytm_snapdata_wrap(&s);
}

/* Pickling goes through the .pytm encoding. */
static PyObject *
snapdata_reduce(PyObject *self, PyObject *Py_UNUSED(unused))
{
    PyObject *buf = pytm_snapdata_to_bytes(self, NULL);
    if (buf == NULL)
        return NULL;
    PyObject *ctor = PyObject_GetAttrString((PyObject *)Py_TYPE(self),
                                            "from_bytes");
    if (ctor == NULL) {
        Py_DECREF(buf);
        return NULL;
    }
    return Py_BuildValue("(N(N))", ctor, buf);
}

/* ---- type ------------------------------------------------------------------ */

/* [(name, ident, tid, size, count)] per thread, 0 = unknown first
 * (ident and tid 0); only threads with figures. */
static PyObject *
snapdata_thread_stats(pytm_snapdata *self, PyObject *Py_UNUSED(unused))
{
    const struct pytm_snap *s = &self->snap;
    struct pytm_snap_thread_total *t =
        calloc((size_t)s->n_threads + 1, sizeof *t);
    if (t == NULL)
        return PyErr_NoMemory();
    pytm_snap_threads_totals(s, t);
    PyObject *out = PyList_New(0);
    for (uint32_t k = 0; out != NULL && k <= s->n_threads; k++) {
        if (t[k].size == 0 && t[k].count == 0)
            continue;
        const struct pytm_snap_thread *th = k ? &s->threads[k - 1] : NULL;
        PyObject *row = Py_BuildValue(
            "(sKLLL)", pytm_snap_thread_name(s, k),
            (unsigned long long)(th ? th->ident : 0),
            (long long)(th ? th->tid : 0), (long long)t[k].size,
            (long long)t[k].count);
        if (row == NULL || PyList_Append(out, row) < 0)
            Py_CLEAR(out);
        Py_XDECREF(row);
    }
    free(t);
    return out;
}

static PyMethodDef snapdata_methods[] = {
    {"thread_stats", (PyCFunction)snapdata_thread_stats, METH_NOARGS,
     "[(name, ident, tid, size, count)] per thread; name '<unknown>' for "
     "figures no thread identity covers."},
    {"trace", (PyCFunction)snapdata_trace, METH_O,
     "trace(i) -> (domain, size, frames, total_nframe), frames most recent "
     "first; size is the estimate in sampled mode."},
    {"traceback", (PyCFunction)snapdata_traceback, METH_O,
     "traceback(i) -> (frames, total_nframe) of traceback index i, "
     "frames most recent first."},
    {"tracebacks", (PyCFunction)snapdata_tracebacks, METH_NOARGS,
     "List of (frames, total_nframe, size, count, alloc_size, alloc_count, "
     "alloc_samples) per traceback index; alloc_* are cumulative, 0 when "
     "unknown."},
    {"weights", (PyCFunction)snapdata_weights, METH_O,
     "weights(i) -> (count, block_size): blocks trace i stands for and the "
     "true size of its sampled block."},
    {"raw_traces", (PyCFunction)snapdata_raw_traces, METH_NOARGS,
     "List of every trace tuple (tracemalloc's _get_traces() format); "
     "equal tracebacks share one frames tuple."},
    {"strings", (PyCFunction)snapdata_strings, METH_NOARGS,
     "The string table (file names), indexed as filter tables expect."},
    {"total", (PyCFunction)snapdata_total, METH_NOARGS,
     "(size, count, samples) summed over the traces."},
    {"info", (PyCFunction)snapdata_info, METH_NOARGS,
     "Metadata and process totals as a dict."},
    {"statistics", pytm_snapdata_statistics, METH_VARARGS,
     "statistics(key_type, cumulative=False) -> sorted list of "
     "(frames, size, count, samples)."},
    {"compare_to", pytm_snapdata_compare_to, METH_VARARGS,
     "compare_to(old, key_type, cumulative=False) -> sorted list of "
     "(frames, size, size_diff, count, count_diff, samples)."},
    {"filter", pytm_snapdata_filter, METH_O,
     "filter(compiled_filters) -> new SnapData (see pytm._filters)."},
    {"select", pytm_snapdata_select, METH_O,
     "select(mask) -> new SnapData with the traces whose mask byte is "
     "non-zero (one byte per trace)."},
    {"equals", pytm_snapdata_equals, METH_O,
     "True when both hold the same traces in the same order."},
    {"dump", pytm_snapdata_dump, METH_VARARGS,
     "dump(path, attrs=None): write the .pytm format atomically; attrs is "
     "a JSON text saved alongside."},
    {"to_bytes", pytm_snapdata_to_bytes, METH_VARARGS,
     "to_bytes(attrs=None): the .pytm encoding as bytes."},
    {"load", pytm_snapdata_load, METH_O | METH_CLASS,
     "load(path) -> SnapData; raises OSError or pytm.DumpError."},
    {"from_bytes", pytm_snapdata_from_bytes, METH_O | METH_CLASS,
     "from_bytes(buf) -> SnapData; raises pytm.DumpError."},
    {"from_traces", snapdata_from_traces, METH_VARARGS | METH_CLASS,
     "from_traces(traces, traceback_limit) -> SnapData from raw "
     "tracemalloc trace tuples."},
    {"__reduce__", snapdata_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef snapdata_getset[] = {
    {"traceback_limit", (getter)get_traceback_limit, NULL,
     "Traceback limit the snapshot was taken with.", NULL},
    {"sample_interval", (getter)get_sample_interval, NULL,
     "Mean sampling interval in bytes; 1 means exact.", NULL},
    {"has_traces", (getter)get_has_traces, NULL,
     "Whether per-block traces are present.", NULL},
    {"attrs", (getter)get_attrs, NULL,
     "JSON text of the attributes saved with a loaded dump, or None.", NULL},
    {"n_arena_tracebacks", (getter)get_n_arena_tracebacks, NULL,
     "indices traceback() accepts (arena tracebacks)", NULL},
    {"n_tracebacks", (getter)get_n_tracebacks, NULL,
     "Number of distinct tracebacks.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods snapdata_as_sequence = {
    .sq_length = (lenfunc)snapdata_len,
};

PyTypeObject pytm_snapdata_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pytm._snapdata.SnapData",
    .tp_basicsize = sizeof(pytm_snapdata),
    .tp_dealloc = (destructor)snapdata_dealloc,
    .tp_as_sequence = &snapdata_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An immutable snapshot of traced memory (C side of "
              "pytm.Snapshot). Made by take_snapshot_data(), load(), "
              "from_bytes(), from_traces() or filter().",
    .tp_methods = snapdata_methods,
    .tp_getset = snapdata_getset,
};

int
pytm_snapdata_add_types(PyObject *m)
{
    if (PyType_Ready(&pytm_snapdata_type) < 0)
        return -1;
    if (PyModule_AddObjectRef(m, "SnapData", (PyObject *)&pytm_snapdata_type) < 0
        || pytm_snapdata_lazyio_add(m) < 0)
        return -1;
    return 0;
}
