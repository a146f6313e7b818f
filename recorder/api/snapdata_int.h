/* recorder/api/snapdata_int.h: what the snapdata*.c files share. Not a
 * public header (see snapdata.h). */
#ifndef PYTM_RECORDER_SNAPDATA_INT_H
#define PYTM_RECORDER_SNAPDATA_INT_H

#include <Python.h>
#include <stdint.h>

#include "snap.h"

/* A traceback built from a raw trace whose total_nframe was None (a
 * tracemalloc pickle from before 3.9, or a hand-made trace) stores this
 * value; it converts back to None. Real stacks are never that deep. */
#define PYTM_SNAPDATA_TOTAL_UNKNOWN UINT32_MAX

typedef struct {
    PyObject_HEAD
    struct pytm_snap snap; /* immutable after creation */
    /* Lazily built Python objects, NULL until first asked for. Arrays
     * are malloc'd (not through PyMem, so they never show in a trace).
     * Protected by the GIL. */
    PyObject **strs;   /* [n_strings + 1] filename str; last "<unknown>" */
    PyObject **frames; /* [n_frames] (filename, lineno) tuples */
    PyObject **tbs;    /* [n_tbs] frame tuples, most recent first */
    PyObject *attrs;   /* JSON text of the attributes block of a loaded
                          dump (snapdata_io.c), or NULL; set once */
} pytm_snapdata;

/* The type object (snapdata.c). */
extern PyTypeObject pytm_snapdata_type;

/* pytm.DumpError (snapdata_lazyio.c); NULL until
 * pytm_snapdata_lazyio_add. Written once at module init, then read-only;
 * the GIL protects it. */
extern PyObject *pytm_snapdata_dump_error;

/* Creates pytm_snapdata_dump_error and adds it (DumpError) and the
 * capsule for pytm._dumpio (_snapdata_capi, snapdata_capi.h) to module
 * m. 0, or -1 with an exception. */
int pytm_snapdata_lazyio_add(PyObject *m);

/* Raises the Python exception for a PYTM_E_* code outside of I/O:
 * MemoryError for NOMEM, ValueError for INVAL, RuntimeError otherwise
 * (message from pytm_strerror, prefixed by `what`). Returns NULL. */
PyObject *pytm_snapdata_raise(int err, const char *what);

/* New reference to the str of string i (i == n_strings: "<unknown>"),
 * or NULL with an exception. Strings are decoded as UTF-8 with
 * surrogatepass (how snapdata_build encodes them), falling back to
 * "replace" for bytes that are not UTF-8 (a hostile dump). */
PyObject *pytm_snapdata_str(pytm_snapdata *o, uint32_t i);

/* Releases every cached object and cache array of o (snapdata_cache.c);
 * o's caches are empty afterwards. */
void pytm_snapdata_clear_caches(pytm_snapdata *o);

/* New reference to the frames tuple of traceback tb (most recent first,
 * (("<unknown>", 0),) when it has no frame), or NULL. */
PyObject *pytm_snapdata_tb_frames(pytm_snapdata *o, uint32_t tb);

/* Fills *out (initialised, empty) from a sequence of raw tracemalloc
 * traces (domain, size, frames[, total_nframe]) and a traceback limit.
 * Returns 0, or -1 with TypeError/ValueError naming the bad trace (then
 * *out is freed and empty). snapdata_build.c. */
int pytm_snapdata_build(PyObject *traces, PyObject *traceback_limit,
                       struct pytm_snap *out);

/* SnapData.dump(path, attrs=None), SnapData.to_bytes(attrs=None),
 * SnapData.load(path), SnapData.from_bytes(buf): snapdata_lazyio.c,
 * forwarded to pytm._dumpio (snapdata_io.c). attrs is a JSON text saved
 * with the snapshot (see the ATTRIBUTES BLOCK there). to_bytes accepts
 * args == NULL (no attrs). */
PyObject *pytm_snapdata_dump(PyObject *self, PyObject *args);
PyObject *pytm_snapdata_to_bytes(PyObject *self, PyObject *args);
PyObject *pytm_snapdata_load(PyObject *cls, PyObject *path);
PyObject *pytm_snapdata_from_bytes(PyObject *cls, PyObject *buf);

/* SnapData.statistics(key_type, cumulative=False),
 * compare_to(old, key_type, cumulative=False), filter(compiled),
 * select(mask: one byte per trace) and equals(other): snapdata_query.c. */
PyObject *pytm_snapdata_statistics(PyObject *self, PyObject *args);
PyObject *pytm_snapdata_compare_to(PyObject *self, PyObject *args);
PyObject *pytm_snapdata_filter(PyObject *self, PyObject *compiled);
PyObject *pytm_snapdata_select(PyObject *self, PyObject *mask);
PyObject *pytm_snapdata_equals(PyObject *self, PyObject *other);

#endif /* PYTM_RECORDER_SNAPDATA_INT_H */
