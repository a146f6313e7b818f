/* recorder/api/snapdata_lazyio: SnapData's dump/to_bytes/load/from_bytes
 * methods and pytm.DumpError, on the pytm._snapdata side.
 *
 * The codec itself is in pytm._dumpio (snapdata_io.c, dumpio.c), the
 * only module linked with liblz4 (snapdata_capi.h says why). Each method
 * here imports it on first use (untraced, through
 * pytm._recorder._import_untraced: untraced.h) and forwards its
 * arguments, SnapData (or
 * nothing, for the class methods) first. DumpError is created here, so
 * that `except pytm.DumpError` works before any dump was touched; the
 * capsule lends it to _dumpio together with the type and the wrapper.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "snapdata.h"
#include "snapdata_capi.h"
#include "snapdata_int.h"

/* Written once by pytm_snapdata_lazyio_add (module exec), then read-only;
 * the GIL protects both. */
PyObject *pytm_snapdata_dump_error = NULL;
static struct pytm_snapdata_capi capi;

int
pytm_snapdata_lazyio_add(PyObject *m)
{
    if (pytm_snapdata_dump_error == NULL) {
        pytm_snapdata_dump_error = PyErr_NewExceptionWithDoc(
            "pytm.DumpError",
            "A .pytm file (or buffer) is not a valid dump: foreign, "
            "truncated, corrupt or of an unsupported version. Attributes: "
            "filename, reason (short code such as 'TRUNCATED'), section, "
            "offset.",
            PyExc_ValueError, NULL);
        if (pytm_snapdata_dump_error == NULL)
            return -1;
    }
    capi.size = sizeof(capi);
    capi.basicsize = (Py_ssize_t)sizeof(pytm_snapdata);
    capi.type = &pytm_snapdata_type;
    capi.dump_error = pytm_snapdata_dump_error;
    capi.wrap = pytm_snapdata_wrap;
    PyObject *cap = PyCapsule_New(&capi, PYTM_SNAPDATA_CAPI_NAME, NULL);
    if (cap == NULL)
        return -1;
    int err = PyModule_AddObjectRef(m, "_snapdata_capi", cap);
    Py_DECREF(cap);
    if (err < 0)
        return -1;
    return PyModule_AddObjectRef(m, "DumpError", pytm_snapdata_dump_error);
}

/* pytm._dumpio.<name>(*head, *args): head is self for the instance
 * methods, nothing for the class methods. */
static PyObject *
forward(const char *name, PyObject *self, PyObject *args)
{
    /* pytm._recorder owns the reentrancy guard (untraced.h). */
    PyObject *rec = PyImport_ImportModule("pytm._recorder");
    if (rec == NULL)
        return NULL;
    PyObject *mod = PyObject_CallMethod(rec, "_import_untraced", "s",
                                        "pytm._dumpio");
    Py_DECREF(rec);
    if (mod == NULL)
        return NULL;
    PyObject *fn = PyObject_GetAttrString(mod, name);
    Py_DECREF(mod);
    if (fn == NULL)
        return NULL;
    Py_ssize_t n = args ? PyTuple_GET_SIZE(args) : 0, h = self ? 1 : 0;
    PyObject *all = PyTuple_New(n + h);
    if (all == NULL) {
        Py_DECREF(fn);
        return NULL;
    }
    if (self)
        PyTuple_SET_ITEM(all, 0, Py_NewRef(self));
    for (Py_ssize_t i = 0; i < n; i++)
        PyTuple_SET_ITEM(all, i + h, Py_NewRef(PyTuple_GET_ITEM(args, i)));
    PyObject *res = PyObject_Call(fn, all, NULL);
    Py_DECREF(all);
    Py_DECREF(fn);
    return res;
}

/* A METH_O argument as a 1-tuple for forward(). */
static PyObject *
forward_one(const char *name, PyObject *arg)
{
    PyObject *args = PyTuple_Pack(1, arg);
    if (args == NULL)
        return NULL;
    PyObject *res = forward(name, NULL, args);
    Py_DECREF(args);
    return res;
}

PyObject *
pytm_snapdata_dump(PyObject *self, PyObject *args)
{
    return forward("dump", self, args);
}

PyObject *
pytm_snapdata_to_bytes(PyObject *self, PyObject *args)
{
    return forward("to_bytes", self, args);
}

PyObject *
pytm_snapdata_load(PyObject *Py_UNUSED(cls), PyObject *path)
{
    return forward_one("load", path);
}

PyObject *
pytm_snapdata_from_bytes(PyObject *Py_UNUSED(cls), PyObject *buf)
{
    return forward_one("from_bytes", buf);
}
