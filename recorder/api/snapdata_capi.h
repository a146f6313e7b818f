/* recorder/api/snapdata_capi.h: what pytm._snapdata lends the other
 * extension modules of pytm.
 *
 * A process that only traces maps pytm._recorder alone (issue 13: each
 * KiB of an extension's text is resident through fault-around once it
 * is mapped). SnapData -- the C object behind pytm.Snapshot, with its
 * statistics, compare_to and filter code and the curses-free model --
 * lives in pytm._snapdata, imported on the first snapshot; the dump
 * codec and liblz4 live in pytm._dumpio, imported on the first dump or
 * load (snapdata_lazyio.c forwards SnapData's dump/load methods there).
 * Both borrow the SnapData type, DumpError and pytm_snapdata_wrap
 * through this table, published as the capsule PYTM_SNAPDATA_CAPI_NAME:
 * pytm._recorder to wrap what live.c and peer.c build
 * (snapdata_link.h), pytm._dumpio to wrap what it loads.
 *
 * All three modules are built from the same tree at the same time, so
 * they share pytm_snapdata's layout (snapdata_int.h); a borrower still
 * refuses a table whose size or SnapData basicsize differs from its own
 * (a stale module left next to a newer one) with ImportError.
 */
#ifndef PYTM_RECORDER_SNAPDATA_CAPI_H
#define PYTM_RECORDER_SNAPDATA_CAPI_H

#include <Python.h>
#include <stddef.h>

#include "snapdata_int.h"

#define PYTM_SNAPDATA_CAPI_NAME "pytm._snapdata._snapdata_capi"

/* Static in pytm._snapdata, filled before the capsule is published and
 * read-only afterwards; lives as long as that module (never unloaded). */
struct pytm_snapdata_capi {
    size_t size;                /* sizeof(struct pytm_snapdata_capi) */
    Py_ssize_t basicsize;       /* sizeof(pytm_snapdata) */
    PyTypeObject *type;         /* pytm._snapdata.SnapData (borrowed) */
    PyObject *dump_error;       /* pytm.DumpError (borrowed) */
    /* pytm_snapdata_wrap (snapdata.h): moves *s into a new SnapData. */
    PyObject *(*wrap)(struct pytm_snap *s);
};


/* The table of pytm._snapdata, importing that module first (with
 * `import_fn`: pytm._recorder passes pytm_import_untraced, the others
 * PyImport_Import; PyCapsule_Import alone would only look the submodule
 * up as an attribute of pytm). Checks the size and layout. Borrowed
 * pointer, or NULL with an exception. Needs the GIL. */
static inline const struct pytm_snapdata_capi *
pytm_snapdata_capi_import(PyObject *(*import_fn)(PyObject *))
{
    PyObject *name = PyUnicode_FromString("pytm._snapdata");
    PyObject *mod = name ? import_fn(name) : NULL;
    Py_XDECREF(name);
    if (mod == NULL)
        return NULL;
    Py_DECREF(mod);
    const struct pytm_snapdata_capi *c =
        PyCapsule_Import(PYTM_SNAPDATA_CAPI_NAME, 0);
    if (c == NULL)
        return NULL;
    if (c->size != sizeof(*c)
        || c->basicsize != (Py_ssize_t)sizeof(pytm_snapdata)) {
        PyErr_SetString(PyExc_ImportError,
                        "pytm's extension modules do not match (built from "
                        "different sources): reinstall pytm");
        return NULL;
    }
    return c;
}

#endif /* PYTM_RECORDER_SNAPDATA_CAPI_H */
