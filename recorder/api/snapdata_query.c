/* recorder/api/snapdata_query: SnapData.statistics, compare_to, filter and
 * equals: the O(#traces) and O(#tracebacks) work of the tracemalloc API,
 * done in C with the GIL released; Python objects only for the result
 * rows (O(#groups)).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "pytm_error.h"
#include "snap.h"
#include "snapfilter.h"
#include "snapdata.h"
#include "snapdata_int.h"

/* ---- statistics / compare_to ------------------------------------------ */

static int
parse_opts(const char *key_type, int cumulative, struct pytm_model_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    if (pytm_model_group_parse(key_type, &opts->group) < 0) {
        PyErr_Format(PyExc_ValueError, "unknown key_type: '%s'", key_type);
        return -1;
    }
    if (cumulative && opts->group == PYTM_MODEL_TRACEBACK) {
        PyErr_Format(PyExc_ValueError,
                     "cumulative mode cannot by used with key type '%s'",
                     key_type);
        return -1;
    }
    opts->cumulative = cumulative != 0;
    opts->filter = NULL;
    return 0;
}

/* The key frames of a row: the representative traceback's frames for
 * TRACEBACK, else the one frame (filename, lineno). */
static PyObject *
row_frames(pytm_snapdata *owner, const struct pytm_model_table *t,
           const struct pytm_model_row *row)
{
    if (t->group == PYTM_MODEL_TRACEBACK)
        return pytm_snapdata_tb_frames(owner, row->tb);
    PyObject *name = pytm_snapdata_str(owner, row->str);
    if (name == NULL)
        return NULL;
    return Py_BuildValue("((Nk))", name, (unsigned long)row->lineno);
}

/* List of (frames, size, count, samples) or, after a diff,
 * (frames, size, size_diff, count, count_diff, samples), in table order. */
static PyObject *
rows_to_list(pytm_snapdata *cur, pytm_snapdata *base,
             const struct pytm_model_table *t)
{
    PyObject *list = PyList_New((Py_ssize_t)t->n_rows);
    if (list == NULL)
        return NULL;
    for (size_t i = 0; i < t->n_rows; i++) {
        const struct pytm_model_row *row = &t->rows[i];
        pytm_snapdata *owner =
            (row->flags & PYTM_MODEL_ROW_BASE) && base ? base : cur;
        PyObject *frames = row_frames(owner, t, row);
        PyObject *item = NULL;
        if (frames != NULL && t->diffed)
            item = Py_BuildValue("(NLLLLL)", frames, (long long)row->size,
                                 (long long)row->size_diff,
                                 (long long)row->count,
                                 (long long)row->count_diff,
                                 (long long)row->samples);
        else if (frames != NULL)
            item = Py_BuildValue("(NLLL)", frames, (long long)row->size,
                                 (long long)row->count,
                                 (long long)row->samples);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

PyObject *
pytm_snapdata_statistics(PyObject *op, PyObject *args)
{
    pytm_snapdata *self = (pytm_snapdata *)op;
    const char *key_type;
    int cumulative = 0;
    struct pytm_model_opts opts;
    if (!PyArg_ParseTuple(args, "s|p:statistics", &key_type, &cumulative)
        || parse_opts(key_type, cumulative, &opts) < 0)
        return NULL;
    struct pytm_model_table t;
    pytm_model_init(&t);
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = pytm_model_build(&t, &self->snap, &opts);
    Py_END_ALLOW_THREADS
    PyObject *res = err < 0 ? pytm_snapdata_raise(err, "statistics")
                            : rows_to_list(self, NULL, &t);
    pytm_model_free(&t);
    return res;
}

PyObject *
pytm_snapdata_compare_to(PyObject *op, PyObject *args)
{
    pytm_snapdata *self = (pytm_snapdata *)op;
    PyObject *old;
    const char *key_type;
    int cumulative = 0;
    struct pytm_model_opts opts;
    if (!PyArg_ParseTuple(args, "O!s|p:compare_to", &pytm_snapdata_type, &old,
                          &key_type, &cumulative)
        || parse_opts(key_type, cumulative, &opts) < 0)
        return NULL;
    pytm_snapdata *base = (pytm_snapdata *)old;
    struct pytm_model_table cur, prev;
    pytm_model_init(&cur);
    pytm_model_init(&prev);
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = pytm_model_build(&prev, &base->snap, &opts);
    if (err == 0)
        err = pytm_model_build(&cur, &self->snap, &opts);
    if (err == 0)
        err = pytm_model_diff(&cur, &prev);
    Py_END_ALLOW_THREADS
    PyObject *res = err < 0 ? pytm_snapdata_raise(err, "compare_to")
                            : rows_to_list(self, base, &cur);
    pytm_model_free(&cur);
    pytm_model_free(&prev);
    return res;
}

/* ---- filter --------------------------------------------------------------- */

/* Parses one compiled filter (see pytm/_filters.py: compile_filters).
 * *keep receives a new reference to the bytes object name_match points
 * into, so that it outlives the GIL-free filtering. */
static int
parse_filter(PyObject *item, uint32_t n_strings, struct pytm_snapfilter *f,
             PyObject **keep)
{
    int kind, inclusive, all_frames, any_lineno, any_domain, never_domain;
    unsigned int lineno, domain;
    memset(f, 0, sizeof(*f));
    *keep = NULL;
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) < 1) {
        PyErr_SetString(PyExc_TypeError, "compiled filter must be a tuple");
        return -1;
    }
    kind = (int)PyLong_AsLong(PyTuple_GET_ITEM(item, 0));
    if (kind == -1 && PyErr_Occurred())
        return -1;
    if (kind == PYTM_SNAPFILTER_DOMAIN) {
        if (!PyArg_ParseTuple(item, "ipIp:filter", &kind, &inclusive, &domain,
                              &never_domain))
            return -1;
        f->kind = PYTM_SNAPFILTER_DOMAIN;
        f->inclusive = inclusive;
        f->domain = domain;
        f->never_domain = never_domain;
        return 0;
    }
    PyObject *table;
    if (kind != PYTM_SNAPFILTER_FRAME
        || !PyArg_ParseTuple(item, "ipSIppIpp:filter", &kind, &inclusive,
                             &table, &lineno, &any_lineno, &all_frames,
                             &domain, &any_domain, &never_domain)) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "unknown filter kind %d", kind);
        return -1;
    }
    if (PyBytes_GET_SIZE(table) != (Py_ssize_t)n_strings + 1) {
        PyErr_SetString(PyExc_ValueError,
                        "filter match table does not fit this snapshot");
        return -1;
    }
    f->kind = PYTM_SNAPFILTER_FRAME;
    f->inclusive = inclusive;
    f->name_match = (const uint8_t *)PyBytes_AS_STRING(table);
    f->name_match_len = (size_t)PyBytes_GET_SIZE(table);
    f->lineno = lineno;
    f->any_lineno = any_lineno;
    f->all_frames = all_frames;
    f->domain = domain;
    f->any_domain = any_domain;
    f->never_domain = never_domain;
    *keep = Py_NewRef(table);
    return 0;
}

/* The traceback table's cumulative totals (alloc_*) count every block
 * ever allocated there, the dropped traces' included: they cannot be
 * split by trace, so a filtered snapshot has none (0 = unknown). */
static PyObject *
wrap_filtered(int err, struct pytm_snap *out)
{
    if (err < 0)
        return pytm_snapdata_raise(err, "filter_traces");
    for (uint32_t i = 0; i < out->n_tbs; i++) {
        out->tbs[i].alloc_size = 0;
        out->tbs[i].alloc_count = 0;
        out->tbs[i].alloc_samples = 0;
    }
    return pytm_snapdata_wrap(out);
}

PyObject *
pytm_snapdata_filter(PyObject *op, PyObject *compiled)
{
    pytm_snapdata *self = (pytm_snapdata *)op;
    PyObject *seq = PySequence_Fast(compiled, "filters must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    struct pytm_snapfilter *fs = calloc(n ? (size_t)n : 1, sizeof(*fs));
    PyObject **keep = calloc(n ? (size_t)n : 1, sizeof(*keep));
    PyObject *res = NULL;
    Py_ssize_t parsed = 0;
    if (fs == NULL || keep == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (; parsed < n; parsed++)
        if (parse_filter(PySequence_Fast_GET_ITEM(seq, parsed),
                         self->snap.n_strings, &fs[parsed], &keep[parsed]) < 0)
            goto done;
    struct pytm_snap out;
    pytm_snap_init(&out);
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = pytm_snapfilter_apply(&self->snap, fs, (size_t)n, &out);
    Py_END_ALLOW_THREADS
    res = wrap_filtered(err, &out);
done:
    for (Py_ssize_t i = 0; keep && i < parsed; i++)
        Py_XDECREF(keep[i]);
    free(keep);
    free(fs);
    Py_DECREF(seq);
    return res;
}

PyObject *
pytm_snapdata_select(PyObject *op, PyObject *mask)
{
    pytm_snapdata *self = (pytm_snapdata *)op;
    Py_buffer view;
    if (PyObject_GetBuffer(mask, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if ((uint64_t)view.len != self->snap.n_traces) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "select() needs one byte per trace");
        return NULL;
    }
    struct pytm_snap out;
    pytm_snap_init(&out);
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = pytm_snapfilter_select(&self->snap, view.buf, (size_t)view.len, &out);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return wrap_filtered(err, &out);
}

/* ---- equality ------------------------------------------------------------- */

/* Frame i of traceback tb as (filename bytes, length, lineno), with the
 * "<unknown>" frame for a traceback without frames. */
static void
tb_frame(const struct pytm_snap *s, uint32_t tb, uint32_t i, const char **name,
         uint32_t *len, uint32_t *lineno)
{
    const struct pytm_snap_tb *t = &s->tbs[tb];
    if (t->nframe == 0) {
        *name = "<unknown>";
        *len = (uint32_t)strlen(*name);
        *lineno = 0;
        return;
    }
    const struct pytm_snap_frame *f = &s->frames[s->frame_ids[t->frames_at + i]];
    *name = pytm_snap_string(s, f->filename);
    *len = s->str_len[f->filename];
    *lineno = f->lineno;
}

/* Do two tracebacks hold the same frames and total_nframe (what the raw
 * trace tuples of tracemalloc compare)? */
static bool
tb_equal(const struct pytm_snap *a, uint32_t ta, const struct pytm_snap *b,
         uint32_t tb)
{
    const struct pytm_snap_tb *x = &a->tbs[ta], *y = &b->tbs[tb];
    uint32_t nx = x->nframe ? x->nframe : 1, ny = y->nframe ? y->nframe : 1;
    if (nx != ny || x->total_nframe != y->total_nframe)
        return false;
    for (uint32_t i = 0; i < nx; i++) {
        const char *n1, *n2;
        uint32_t l1, l2, line1, line2;
        tb_frame(a, ta, i, &n1, &l1, &line1);
        tb_frame(b, tb, i, &n2, &l2, &line2);
        if (line1 != line2 || l1 != l2 || memcmp(n1, n2, l1) != 0)
            return false;
    }
    return true;
}

/* 1 equal, 0 different, PYTM_E_NOMEM. */
static int
traces_equal(const struct pytm_snap *a, const struct pytm_snap *b)
{
    if (a->n_traces != b->n_traces)
        return 0;
    /* known[ta] = a tb of b proven equal to ta, or UINT32_MAX */
    uint32_t *known = malloc((a->n_tbs ? a->n_tbs : 1) * sizeof(uint32_t));
    if (known == NULL)
        return PYTM_E_NOMEM;
    memset(known, 0xff, (a->n_tbs ? a->n_tbs : 1) * sizeof(uint32_t));
    int equal = 1;
    for (uint64_t i = 0; i < a->n_traces && equal; i++) {
        const struct pytm_snap_trace *x = &a->traces[i], *y = &b->traces[i];
        if (x->domain != y->domain || x->est_size != y->est_size) {
            equal = 0;
        } else if (known[x->tb] != y->tb) {
            if (tb_equal(a, x->tb, b, y->tb))
                known[x->tb] = y->tb;
            else
                equal = 0;
        }
    }
    free(known);
    return equal;
}

PyObject *
pytm_snapdata_equals(PyObject *op, PyObject *other)
{
    pytm_snapdata *self = (pytm_snapdata *)op;
    if (!PyObject_TypeCheck(other, &pytm_snapdata_type)) {
        PyErr_SetString(PyExc_TypeError, "equals() needs a SnapData");
        return NULL;
    }
    const struct pytm_snap *a = &self->snap;
    const struct pytm_snap *b = &((pytm_snapdata *)other)->snap;
    if ((a->meta.flags ^ b->meta.flags) & PYTM_SNAP_HAS_TRACES)
        Py_RETURN_FALSE;
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = traces_equal(a, b);
    Py_END_ALLOW_THREADS
    if (r < 0)
        return pytm_snapdata_raise(r, "equals");
    return PyBool_FromLong(r);
}
