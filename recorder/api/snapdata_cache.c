/* recorder/api/snapdata_cache: the Python objects of a SnapData, made on
 * demand and cached per string, frame and traceback, so a million traces
 * that share fifty tracebacks share fifty frame tuples, and statistics()
 * builds O(groups) objects. Everything here needs the GIL (which
 * protects the caches).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>

#include "snap.h"
#include "snapdata_int.h"

static const char UNKNOWN[] = "<unknown>";

static int
ensure_cache(PyObject ***cache, size_t n)
{
    if (*cache != NULL)
        return 0;
    *cache = calloc(n ? n : 1, sizeof(PyObject *));
    if (*cache == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void
clear_cache(PyObject ***cache, size_t n)
{
    if (*cache == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        Py_XDECREF((*cache)[i]);
    free(*cache);
    *cache = NULL;
}

PyObject *
pytm_snapdata_str(pytm_snapdata *o, uint32_t i)
{
    const struct pytm_snap *s = &o->snap;
    if (i > s->n_strings) {
        PyErr_SetString(PyExc_IndexError, "string index out of range");
        return NULL;
    }
    if (ensure_cache(&o->strs, (size_t)s->n_strings + 1) < 0)
        return NULL;
    if (o->strs[i] == NULL) {
        PyObject *str;
        if (i == s->n_strings) {
            str = PyUnicode_FromString(UNKNOWN);
        } else {
            const char *p = pytm_snap_string(s, i);
            Py_ssize_t len = (Py_ssize_t)s->str_len[i];
            str = PyUnicode_DecodeUTF8(p, len, "surrogatepass");
            if (str == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
                PyErr_Clear();
                str = PyUnicode_DecodeUTF8(p, len, "replace");
            }
        }
        if (str == NULL)
            return NULL;
        PyUnicode_InternInPlace(&str);
        o->strs[i] = str;
    }
    return Py_NewRef(o->strs[i]);
}

static PyObject *
frame_tuple(pytm_snapdata *o, uint32_t str, uint32_t lineno)
{
    PyObject *name = pytm_snapdata_str(o, str);
    if (name == NULL)
        return NULL;
    PyObject *line = PyLong_FromUnsignedLong(lineno);
    if (line == NULL) {
        Py_DECREF(name);
        return NULL;
    }
    PyObject *t = PyTuple_Pack(2, name, line);
    Py_DECREF(name);
    Py_DECREF(line);
    return t;
}

static PyObject *
get_frame(pytm_snapdata *o, uint32_t id)
{
    if (ensure_cache(&o->frames, o->snap.n_frames) < 0)
        return NULL;
    if (o->frames[id] == NULL) {
        const struct pytm_snap_frame *f = &o->snap.frames[id];
        o->frames[id] = frame_tuple(o, f->filename, f->lineno);
        if (o->frames[id] == NULL)
            return NULL;
    }
    return Py_NewRef(o->frames[id]);
}

PyObject *
pytm_snapdata_tb_frames(pytm_snapdata *o, uint32_t tb)
{
    const struct pytm_snap *s = &o->snap;
    if (ensure_cache(&o->tbs, s->n_tbs) < 0)
        return NULL;
    if (o->tbs[tb] != NULL)
        return Py_NewRef(o->tbs[tb]);
    const struct pytm_snap_tb *t = &s->tbs[tb];
    uint32_t n = t->nframe ? t->nframe : 1;
    PyObject *tuple = PyTuple_New(n);
    if (tuple == NULL)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        PyObject *f = t->nframe ? get_frame(o, s->frame_ids[t->frames_at + i])
                                : frame_tuple(o, s->n_strings, 0);
        if (f == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        PyTuple_SET_ITEM(tuple, i, f);
    }
    o->tbs[tb] = tuple;
    return Py_NewRef(tuple);
}

void
pytm_snapdata_clear_caches(pytm_snapdata *o)
{
    clear_cache(&o->strs, (size_t)o->snap.n_strings + 1);
    clear_cache(&o->frames, o->snap.n_frames);
    clear_cache(&o->tbs, o->snap.n_tbs);
}
