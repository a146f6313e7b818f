/* recorder/snapshot: the recorder's state as Python objects -- a SnapData
 * of the live session, object -> traceback lookups, diagnostics.
 * All functions need the GIL.
 */
#ifndef PYTM_RECORDER_SNAPSHOT_H
#define PYTM_RECORDER_SNAPSHOT_H

#include <Python.h>
#include <stdbool.h>
#include <stdint.h>

/* A new SnapData (snapobj.h) holding the arena's strings, frames,
 * tracebacks, totals and meta (read back through shm's reader, exactly
 * what another process would see) plus traces[]: every live recorded
 * block (PYTM_SNAP_HAS_TRACES). Traceback indexes are arena traceback
 * ids. The session must be active. Returns NULL with an exception on
 * failure. */
PyObject *pytm_snapshot_take(void);

/* True and *tb set when the memory block holding `obj` is recorded. */
bool pytm_snapshot_object_tb(PyObject *obj, uint32_t *tb);

/* Dict of internal counters (table sizes, filter load, pending events). */
PyObject *pytm_snapshot_stats(void);

/* List of (tid, name, n_allocs, n_samples) of the arena's live thread
 * slots; empty when not tracing. */
PyObject *pytm_snapshot_threads(void);

#endif /* PYTM_RECORDER_SNAPSHOT_H */
