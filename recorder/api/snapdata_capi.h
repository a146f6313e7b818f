/* recorder/api/snapdata_capi.h: what pytm._recorder lends pytm._dumpio.
 *
 * The dump codec (dump/, linked with liblz4) lives in its own extension
 * module, pytm._dumpio, so that a process that only traces never maps
 * liblz4 nor the codec's code (about 120 KiB of peak RSS, issue 13).
 * SnapData itself stays in pytm._recorder (take_snapshot makes one);
 * its dump/to_bytes/load/from_bytes methods import pytm._dumpio on first
 * use (snapdata_lazyio.c), which borrows the SnapData type, DumpError
 * and pytm_snapdata_wrap through this table, published as the capsule
 * PYTM_SNAPDATA_CAPI_NAME (PyCapsule_Import).
 *
 * Both modules are built from the same tree at the same time, so they
 * share pytm_snapdata's layout (snapdata_int.h); _dumpio still refuses a
 * table whose size or SnapData basicsize differs from its own (a stale
 * module left next to a newer one) with ImportError.
 */
#ifndef PYTM_RECORDER_SNAPDATA_CAPI_H
#define PYTM_RECORDER_SNAPDATA_CAPI_H

#include <Python.h>
#include <stddef.h>

struct pytm_snap;

#define PYTM_SNAPDATA_CAPI_NAME "pytm._recorder._snapdata_capi"

/* Static in pytm._recorder, filled before the capsule is published and
 * read-only afterwards; lives as long as that module (never unloaded). */
struct pytm_snapdata_capi {
    size_t size;                /* sizeof(struct pytm_snapdata_capi) */
    Py_ssize_t basicsize;       /* sizeof(pytm_snapdata) */
    PyTypeObject *type;         /* pytm._recorder.SnapData (borrowed) */
    PyObject *dump_error;       /* pytm.DumpError (borrowed) */
    /* pytm_snapdata_wrap (snapdata.h): moves *s into a new SnapData. */
    PyObject *(*wrap)(struct pytm_snap *s);
};

#endif /* PYTM_RECORDER_SNAPDATA_CAPI_H */
