/* recorder/api/live: the live session's state as Python objects -- a
 * SnapData of what it recorded, object -> traceback lookups,
 * diagnostics. Every function takes the session (core/session.h) and
 * needs the GIL.
 */
#ifndef PYTM_RECORDER_LIVE_H
#define PYTM_RECORDER_LIVE_H

#include <Python.h>
#include <stdbool.h>
#include <stdint.h>

struct pytm_session;

/* A new SnapData (snapdata.h) holding the arena's strings, frames,
 * tracebacks, totals and meta (read back through shm's reader, exactly
 * what another process would see) plus traces[]: every live recorded
 * block (PYTM_SNAP_HAS_TRACES). Traceback indexes are arena traceback
 * ids. The session must be active. Returns NULL with an exception on
 * failure. */
PyObject *pytm_live_take(struct pytm_session *s);

/* True and *tb set when the memory block holding `obj` is recorded. */
bool pytm_live_object_tb(struct pytm_session *s, PyObject *obj,
                         uint32_t *tb);

/* Dict of internal counters (table sizes, filter load, pending events). */
PyObject *pytm_live_stats(struct pytm_session *s);

/* List of (tid, name, n_allocs, n_samples) of the arena's live thread
 * slots; empty when not tracing. */
PyObject *pytm_live_threads(struct pytm_session *s);

#endif /* PYTM_RECORDER_LIVE_H */
