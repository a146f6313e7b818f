/* recorder/api/snapdata_build: raw tracemalloc traces -> struct pytm_snap.
 *
 * Input (tracemalloc's _get_traces() format, also what pickled stdlib
 * snapshots hold): a sequence of (domain, size, frames[, total_nframe])
 * with frames a sequence of (filename: str, lineno: int), most recent
 * first. Strings, frames and tracebacks are deduplicated by content
 * (Python dicts keyed by the objects themselves), so a list made of a
 * few distinct tracebacks yields a few tracebacks here.
 *
 * Limits (ValueError beyond them): domain and lineno in [0, 2**32),
 * size in [0, 2**63), total_nframe None or in [0, 2**32 - 1) (None is
 * stored as PYTM_SNAPDATA_TOTAL_UNKNOWN).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pytm_error.h"
#include "pytm_clock.h"
#include "snap.h"
#include "snapdata_int.h"

struct builder {
    struct pytm_snap *s;
    PyObject *strings; /* str -> index */
    PyObject *frames;  /* (str, lineno) -> index */
    PyObject *tbs;     /* (frames tuple, total) -> index */
    uint32_t *ids;     /* scratch frame ids, malloc'd */
    size_t ids_cap;
    PyObject *last_frames; /* fast path: the previous trace's frames
                              (strong reference, compared by address) */
    uint32_t last_total;
    uint32_t last_tb;
};

/* Re-raises the pending TypeError/ValueError/OverflowError as a
 * ValueError naming the trace; anything else (MemoryError) passes. */
static int
bad_trace(Py_ssize_t i)
{
    if (!PyErr_ExceptionMatches(PyExc_TypeError)
        && !PyErr_ExceptionMatches(PyExc_ValueError)
        && !PyErr_ExceptionMatches(PyExc_OverflowError))
        return -1;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyErr_Format(PyExc_ValueError,
                 "invalid raw trace at index %zd: %S (expected (domain, size, "
                 "frames[, total_nframe]) with frames of (filename, lineno))",
                 i, value ? value : Py_None);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return -1;
}

/* Exact index lookup in a dict of python int values; -1 absent, -2 error */
static long long
dict_index(PyObject *dict, PyObject *key)
{
    PyObject *v = PyDict_GetItemWithError(dict, key);
    if (v == NULL)
        return PyErr_Occurred() ? -2 : -1;
    return PyLong_AsLongLong(v);
}

static int
dict_put(PyObject *dict, PyObject *key, uint32_t idx)
{
    PyObject *v = PyLong_FromUnsignedLong(idx);
    if (v == NULL)
        return -1;
    int r = PyDict_SetItem(dict, key, v);
    Py_DECREF(v);
    return r;
}

static int
snap_err(int err)
{
    pytm_snapdata_raise(err, "building a snapshot");
    return -1;
}

/* Reads a uint32-range Python int; -1 with an exception otherwise. */
static int
get_u32(PyObject *o, uint32_t max, uint32_t *out)
{
    if (!PyLong_Check(o)) {
        PyErr_SetString(PyExc_TypeError, "not an int");
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    if (v > max) {
        PyErr_SetString(PyExc_OverflowError, "out of range");
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int
intern_string(struct builder *b, PyObject *name, uint32_t *idx)
{
    long long known = dict_index(b->strings, name);
    if (known >= 0) {
        *idx = (uint32_t)known;
        return 0;
    }
    if (known == -2)
        return -1;
    PyObject *bytes = PyUnicode_AsEncodedString(name, "utf-8", "surrogatepass");
    if (bytes == NULL)
        return -1;
    int err = pytm_snap_add_string(b->s, PyBytes_AS_STRING(bytes),
                                   (size_t)PyBytes_GET_SIZE(bytes), idx);
    Py_DECREF(bytes);
    if (err < 0)
        return snap_err(err);
    return dict_put(b->strings, name, *idx);
}

static int
intern_frame(struct builder *b, PyObject *frame, uint32_t *idx)
{
    PyObject *key = PySequence_Tuple(frame);
    if (key == NULL)
        return -1;
    int r = -1;
    long long known;
    uint32_t sidx, lineno;
    if (PyTuple_GET_SIZE(key) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(key, 0))) {
        PyErr_SetString(PyExc_TypeError, "a frame must be (filename, lineno)");
        goto done;
    }
    known = dict_index(b->frames, key);
    if (known >= 0) {
        *idx = (uint32_t)known;
        r = 0;
        goto done;
    }
    if (known == -2 || get_u32(PyTuple_GET_ITEM(key, 1), UINT32_MAX, &lineno) < 0
        || intern_string(b, PyTuple_GET_ITEM(key, 0), &sidx) < 0)
        goto done;
    int err = pytm_snap_add_frame(b->s, sidx, lineno, idx);
    r = err < 0 ? snap_err(err) : dict_put(b->frames, key, *idx);
done:
    Py_DECREF(key);
    return r;
}

static int
intern_tb(struct builder *b, PyObject *frames, uint32_t total, uint32_t *idx)
{
    if (frames == b->last_frames && total == b->last_total) {
        *idx = b->last_tb;
        return 0;
    }
    PyObject *tuple = PySequence_Tuple(frames);
    if (tuple == NULL)
        return -1;
    int r = -1;
    PyObject *key = Py_BuildValue("(Ok)", tuple, (unsigned long)total);
    long long known = key ? dict_index(b->tbs, key) : -2;
    if (known >= 0) {
        *idx = (uint32_t)known;
        r = 0;
    } else if (known == -1) {
        size_t n = (size_t)PyTuple_GET_SIZE(tuple);
        if (n > b->ids_cap) {
            uint32_t *ids = realloc(b->ids, n * sizeof(*ids));
            if (ids == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            b->ids = ids;
            b->ids_cap = n;
        }
        if (n > UINT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "too many frames");
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            if (intern_frame(b, PyTuple_GET_ITEM(tuple, i), &b->ids[i]) < 0)
                goto done;
        int err = pytm_snap_add_tb(b->s, b->ids, (uint32_t)n, total, idx);
        r = err < 0 ? snap_err(err) : dict_put(b->tbs, key, *idx);
    }
done:
    Py_XDECREF(key);
    Py_DECREF(tuple);
    if (r == 0) {
        Py_XSETREF(b->last_frames, Py_NewRef(frames));
        b->last_total = total;
        b->last_tb = *idx;
    }
    return r;
}

static int
add_trace(struct builder *b, PyObject *item)
{
    PyObject *t = PySequence_Tuple(item);
    if (t == NULL)
        return -1;
    int r = -1;
    Py_ssize_t n = PyTuple_GET_SIZE(t);
    struct pytm_snap_trace tr = {0};
    uint32_t total = PYTM_SNAPDATA_TOTAL_UNKNOWN;
    long long size;
    if (n != 3 && n != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "a trace is (domain, size, frames[, total_nframe])");
        goto done;
    }
    if (get_u32(PyTuple_GET_ITEM(t, 0), UINT32_MAX, &tr.domain) < 0)
        goto done;
    if (!PyLong_Check(PyTuple_GET_ITEM(t, 1))) {
        PyErr_SetString(PyExc_TypeError, "size is not an int");
        goto done;
    }
    size = PyLong_AsLongLong(PyTuple_GET_ITEM(t, 1));
    if ((size == -1 && PyErr_Occurred()))
        goto done;
    if (size < 0) {
        PyErr_SetString(PyExc_ValueError, "negative size");
        goto done;
    }
    if (n == 4 && PyTuple_GET_ITEM(t, 3) != Py_None
        && get_u32(PyTuple_GET_ITEM(t, 3), PYTM_SNAPDATA_TOTAL_UNKNOWN - 1,
                   &total) < 0)
        goto done;
    if (intern_tb(b, PyTuple_GET_ITEM(t, 2), total, &tr.tb) < 0)
        goto done;
    tr.size = (uint64_t)size;
    tr.est_size = size;
    tr.est_count = 1;
    int err = pytm_snap_add_trace(b->s, &tr);
    r = err < 0 ? snap_err(err) : 0;
done:
    Py_DECREF(t);
    return r;
}

static int
set_meta(struct pytm_snap *s, PyObject *limit)
{
    uint32_t nframe = 0;
    /* traceback_limit is informative here; keep it when it fits. */
    if (PyLong_Check(limit)) {
        unsigned long long v = PyLong_AsUnsignedLongLong(limit);
        if (v == (unsigned long long)-1 && PyErr_Occurred())
            PyErr_Clear();
        else if (v <= UINT32_MAX)
            nframe = (uint32_t)v;
    }
    s->meta.nframe = nframe;
    s->meta.sample_interval = 1;
    s->meta.flags |= PYTM_SNAP_HAS_TRACES;
    s->meta.taken_realtime_ns = pytm_clock_ns(CLOCK_REALTIME);
    if (s->meta.cmdline == NULL) {
        s->meta.cmdline = calloc(1, 1);
        if (s->meta.cmdline == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    int64_t total = 0;
    for (uint64_t i = 0; i < s->n_traces; i++)
        total += s->traces[i].est_size;
    s->totals.traced_current = total;
    s->totals.traced_peak = total;
    s->totals.n_allocs = s->n_traces;
    s->totals.n_samples = s->n_traces;
    s->totals.live_samples = s->n_traces;
    pytm_snap_aggregate_traces(s);
    int err = pytm_snap_validate(s);
    return err < 0 ? snap_err(err) : 0;
}

int
pytm_snapdata_build(PyObject *traces, PyObject *traceback_limit,
                   struct pytm_snap *out)
{
    struct builder b = {.s = out};
    PyObject *seq = PySequence_Fast(traces, "traces must be a sequence");
    int r = -1;
    if (seq == NULL)
        goto done;
    b.strings = PyDict_New();
    b.frames = PyDict_New();
    b.tbs = PyDict_New();
    if (!b.strings || !b.frames || !b.tbs)
        goto done;
    out->meta.flags |= PYTM_SNAP_HAS_TRACES;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (add_trace(&b, PySequence_Fast_GET_ITEM(seq, i)) < 0) {
            bad_trace(i);
            goto done;
        }
    }
    r = set_meta(out, traceback_limit);
done:
    free(b.ids);
    Py_XDECREF(b.last_frames);
    Py_XDECREF(b.strings);
    Py_XDECREF(b.frames);
    Py_XDECREF(b.tbs);
    Py_XDECREF(seq);
    if (r < 0)
        pytm_snap_free(out);
    return r;
}
