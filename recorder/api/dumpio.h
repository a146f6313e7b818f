/* recorder/api/dumpio.h: pytm._dumpio, the .pytm codec for SnapData
 * (snapdata_capi.h says why it is a module of its own).
 *
 * Functions (snapdata_io.c), each needing the GIL, each returning a new
 * reference or NULL with an exception: OSError (errno and file name
 * kept) when the file cannot be written or read, pytm.DumpError when
 * the bytes are not a valid dump, TypeError for a non-SnapData.
 *   dump(snapdata, path, attrs=None) -> None: writes atomically.
 *   to_bytes(snapdata, attrs=None) -> bytes.
 *   load(path) -> SnapData;  from_bytes(buf) -> SnapData.
 * attrs is a JSON text saved with the snapshot (ATTRIBUTES BLOCK in
 * snapdata_io.c) and comes back as SnapData.attrs.
 */
#ifndef PYTM_RECORDER_DUMPIO_H
#define PYTM_RECORDER_DUMPIO_H

#include <Python.h>

struct pytm_snapdata_capi;

/* pytm._snapdata's table (dumpio.c): set once by the module's exec
 * before any function can run, then read-only; the GIL protects it. */
extern const struct pytm_snapdata_capi *pytm_dumpio_capi;

PyObject *pytm_dumpio_dump(PyObject *mod, PyObject *args);
PyObject *pytm_dumpio_to_bytes(PyObject *mod, PyObject *args);
PyObject *pytm_dumpio_load(PyObject *mod, PyObject *path);
PyObject *pytm_dumpio_from_bytes(PyObject *mod, PyObject *buf);

#endif /* PYTM_RECORDER_DUMPIO_H */
