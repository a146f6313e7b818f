/* recorder/api/snapdata_io: SnapData dump/load through dump/dump.h, the
 * functions of pytm._dumpio (dumpio.h; the SnapData methods forward here,
 * snapdata_lazyio.c).
 *
 * Errors: I/O failures raise OSError (errno and file name kept);
 * anything wrong with the bytes of a dump (foreign, truncated, corrupt,
 * unsupported version) raises pytm.DumpError, a ValueError subclass,
 * whose message names the file and what is wrong, with attributes
 * filename, reason (the PYTM_E_* name, e.g. "TRUNCATED"), section and
 * offset.
 *
 * ATTRIBUTES BLOCK. tracemalloc's Snapshot.dump pickles the object, so
 * extra attributes set on a snapshot come back after load. The .pytm
 * format v1.0 has no section for them, so they travel as the LAST entry
 * of the string table, which no frame references:
 *
 *     "\0pytm-attrs\0" + JSON object (UTF-8)
 *
 * The leading NUL makes it invisible to C code printing strings and
 * impossible to confuse with a file name. dump(attrs=...) appends it to
 * a private copy of the string table (frames, tracebacks and traces are
 * shared, not copied); load() strips it again (n_strings - 1, which
 * keeps the snapshot valid because nothing points at it) and exposes the
 * JSON text as SnapData.attrs. Other readers (pytmtop) ignore it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dumpio.h"
#include "dump.h"
#include "pytm_error.h"
#include "snap.h"
#include "snapdata_capi.h"
#include "snapdata_int.h"

#define ATTRS_TAG "\0pytm-attrs\0"
#define ATTRS_TAG_LEN (sizeof(ATTRS_TAG) - 1)

/* ---- errors ---- */

static PyObject *
raise_dump_error(int code, const struct pytm_dump_error *e, PyObject *name)
{
    PyObject *dump_error = pytm_dumpio_capi->dump_error;
    if (code == PYTM_E_NOMEM)
        return PyErr_NoMemory();
    const char *what = e->msg[0] ? e->msg : pytm_strerror(code);
    PyObject *exc = PyObject_CallFunction(
        dump_error, "N",
        PyUnicode_FromFormat("%S: %s (%s)", name, what, pytm_error_name(code)));
    if (exc == NULL)
        return NULL;
    PyObject *reason = PyUnicode_FromString(pytm_error_name(code));
    PyObject *section = PyUnicode_FromString(
        e->section ? pytm_dump_section_name((uint32_t)e->section) : "");
    PyObject *offset = PyLong_FromUnsignedLongLong(e->offset);
    if (reason && section && offset
        && PyObject_SetAttrString(exc, "filename", name) == 0
        && PyObject_SetAttrString(exc, "reason", reason) == 0
        && PyObject_SetAttrString(exc, "section", section) == 0
        && PyObject_SetAttrString(exc, "offset", offset) == 0)
        PyErr_SetObject(dump_error, exc);
    Py_XDECREF(reason);
    Py_XDECREF(section);
    Py_XDECREF(offset);
    Py_DECREF(exc);
    return NULL;
}

static PyObject *
raise_io(int code, int saved_errno, const struct pytm_dump_error *e,
         PyObject *name)
{
    if (code != PYTM_E_IO)
        return raise_dump_error(code, e, name);
    errno = saved_errno ? saved_errno : EIO;
    return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, name);
}

/* ---- attributes block ---- */

/* *out = a shallow copy of s whose string table (only) is private and
 * ends with the attributes block. Free with free_attrs_copy. */
static int
with_attrs(const struct pytm_snap *s, const char *json, size_t len,
           struct pytm_snap *out)
{
    struct pytm_snap t;
    pytm_snap_init(&t);
    t.str_pool = malloc(s->str_pool_size ? s->str_pool_size : 1);
    t.str_off = malloc(((size_t)s->n_strings + 1) * sizeof(*t.str_off));
    t.str_len = malloc(((size_t)s->n_strings + 1) * sizeof(*t.str_len));
    char *block = malloc(ATTRS_TAG_LEN + len + 1);
    int err = 0;
    if (!t.str_pool || !t.str_off || !t.str_len || !block) {
        err = PYTM_E_NOMEM;
        goto done;
    }
    if (s->str_pool_size)
        memcpy(t.str_pool, s->str_pool, s->str_pool_size);
    if (s->n_strings) {
        memcpy(t.str_off, s->str_off, s->n_strings * sizeof(*t.str_off));
        memcpy(t.str_len, s->str_len, s->n_strings * sizeof(*t.str_len));
    }
    t.str_pool_size = s->str_pool_size;
    t.n_strings = s->n_strings;
    memcpy(block, ATTRS_TAG, ATTRS_TAG_LEN);
    memcpy(block + ATTRS_TAG_LEN, json, len);
    err = pytm_snap_add_string(&t, block, ATTRS_TAG_LEN + len, NULL);
done:
    free(block);
    if (err < 0) {
        pytm_snap_free(&t);
        return err;
    }
    *out = *s; /* shares everything but the string table */
    out->str_pool = t.str_pool;
    out->str_off = t.str_off;
    out->str_len = t.str_len;
    out->str_pool_size = t.str_pool_size;
    out->n_strings = t.n_strings;
    return 0;
}

static void
free_attrs_copy(struct pytm_snap *c)
{
    free(c->str_pool);
    free(c->str_off);
    free(c->str_len);
}

/* Strips a trailing attributes block from a freshly decoded snapshot;
 * returns its JSON text as a new str, Py_None when there is none, or
 * NULL with an exception. */
static PyObject *
take_attrs(struct pytm_snap *s)
{
    if (s->n_strings == 0)
        Py_RETURN_NONE;
    uint32_t last = s->n_strings - 1;
    const char *p = pytm_snap_string(s, last);
    uint32_t len = s->str_len[last];
    if (len < ATTRS_TAG_LEN || memcmp(p, ATTRS_TAG, ATTRS_TAG_LEN) != 0)
        Py_RETURN_NONE;
    for (uint32_t i = 0; i < s->n_frames; i++)
        if (s->frames[i].filename == last)
            Py_RETURN_NONE; /* referenced: an odd file name, keep it */
    PyObject *json = PyUnicode_DecodeUTF8(p + ATTRS_TAG_LEN,
                                          len - ATTRS_TAG_LEN, "replace");
    if (json != NULL)
        s->n_strings = last;
    return json;
}

static PyObject *
wrap_loaded(struct pytm_snap *s)
{
    PyObject *attrs = take_attrs(s);
    if (attrs == NULL) {
        pytm_snap_free(s);
        return NULL;
    }
    PyObject *obj = pytm_dumpio_capi->wrap(s);
    if (obj == NULL) {
        Py_DECREF(attrs);
        return NULL;
    }
    ((pytm_snapdata *)obj)->attrs = attrs; /* steals */
    return obj;
}

/* attrs argument: None or str -> (UTF-8 pointer or NULL, length) */
static int
attrs_arg(PyObject *attrs, const char **json, Py_ssize_t *len)
{
    *json = NULL;
    *len = 0;
    if (attrs == NULL || attrs == Py_None)
        return 0;
    if (!PyUnicode_Check(attrs)) {
        PyErr_SetString(PyExc_TypeError, "attrs must be a str (JSON) or None");
        return -1;
    }
    *json = PyUnicode_AsUTF8AndSize(attrs, len);
    return *json ? 0 : -1;
}

/* ---- methods ---- */

PyObject *
pytm_dumpio_dump(PyObject *Py_UNUSED(mod), PyObject *args)
{
    PyObject *self, *path, *attrs = NULL, *bytes = NULL, *name = NULL;
    const char *json;
    Py_ssize_t json_len;
    if (!PyArg_ParseTuple(args, "O!O|O:dump", pytm_dumpio_capi->type, &self,
                          &path, &attrs)
        || attrs_arg(attrs, &json, &json_len) < 0
        || !PyUnicode_FSConverter(path, &bytes))
        return NULL;
    name = PyUnicode_DecodeFSDefault(PyBytes_AS_STRING(bytes));
    if (name == NULL) {
        Py_DECREF(bytes);
        return NULL;
    }
    const struct pytm_snap *s = &((pytm_snapdata *)self)->snap;
    struct pytm_snap copy;
    struct pytm_dump_error e = {0};
    int code, saved_errno = 0;
    Py_BEGIN_ALLOW_THREADS
    code = json ? with_attrs(s, json, (size_t)json_len, &copy) : 0;
    if (code == 0) {
        code = pytm_dump_write(PyBytes_AS_STRING(bytes), json ? &copy : s, &e);
        saved_errno = errno;
        if (json)
            free_attrs_copy(&copy);
    }
    Py_END_ALLOW_THREADS
    PyObject *res = code < 0 ? raise_io(code, saved_errno, &e, name)
                             : Py_NewRef(Py_None);
    Py_DECREF(bytes);
    Py_DECREF(name);
    return res;
}

PyObject *
pytm_dumpio_to_bytes(PyObject *Py_UNUSED(mod), PyObject *args)
{
    PyObject *self, *attrs = NULL;
    const char *json;
    Py_ssize_t json_len;
    if (!PyArg_ParseTuple(args, "O!|O:to_bytes", pytm_dumpio_capi->type,
                          &self, &attrs))
        return NULL;
    if (attrs_arg(attrs, &json, &json_len) < 0)
        return NULL;
    const struct pytm_snap *s = &((pytm_snapdata *)self)->snap;
    struct pytm_snap copy;
    struct pytm_dump_error e = {0};
    void *buf = NULL;
    size_t len = 0;
    int code;
    Py_BEGIN_ALLOW_THREADS
    code = json ? with_attrs(s, json, (size_t)json_len, &copy) : 0;
    if (code == 0) {
        code = pytm_dump_write_mem(json ? &copy : s, &buf, &len, &e);
        if (json)
            free_attrs_copy(&copy);
    }
    Py_END_ALLOW_THREADS
    if (code < 0) {
        PyObject *name = PyUnicode_FromString("<bytes>");
        if (name != NULL) {
            raise_dump_error(code, &e, name);
            Py_DECREF(name);
        }
        return NULL;
    }
    PyObject *res = PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
    free(buf);
    return res;
}

PyObject *
pytm_dumpio_load(PyObject *Py_UNUSED(mod), PyObject *path)
{
    PyObject *bytes = NULL;
    if (!PyUnicode_FSConverter(path, &bytes))
        return NULL;
    PyObject *name = PyUnicode_DecodeFSDefault(PyBytes_AS_STRING(bytes));
    if (name == NULL) {
        Py_DECREF(bytes);
        return NULL;
    }
    struct pytm_snap s;
    struct pytm_dump_error e = {0};
    int code, saved_errno;
    pytm_snap_init(&s);
    Py_BEGIN_ALLOW_THREADS
    code = pytm_dump_read(PyBytes_AS_STRING(bytes), &s, &e);
    saved_errno = errno;
    Py_END_ALLOW_THREADS
    PyObject *res = code < 0 ? raise_io(code, saved_errno, &e, name)
                             : wrap_loaded(&s);
    Py_DECREF(bytes);
    Py_DECREF(name);
    return res;
}

PyObject *
pytm_dumpio_from_bytes(PyObject *Py_UNUSED(mod), PyObject *data)
{
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    struct pytm_snap s;
    struct pytm_dump_error e = {0};
    int code;
    pytm_snap_init(&s);
    Py_BEGIN_ALLOW_THREADS
    code = pytm_dump_read_mem(view.buf, (size_t)view.len, &s, &e);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (code == 0)
        return wrap_loaded(&s);
    PyObject *name = PyUnicode_FromString("<bytes>");
    if (name != NULL) {
        raise_dump_error(code, &e, name);
        Py_DECREF(name);
    }
    return NULL;
}
