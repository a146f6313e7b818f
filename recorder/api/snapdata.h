/* recorder/api/snapdata: pytm._snapdata.SnapData, the C object behind
 * pytm.Snapshot.
 *
 * A SnapData owns one immutable struct pytm_snap (model/snap.h), normally
 * with traces[] (PYTM_SNAP_HAS_TRACES), and answers the heavy questions
 * of the tracemalloc API in C: statistics() and compare_to() through the
 * curses-free model (model/model.h), filter() through model/snapfilter,
 * dump()/load() through dump/dump.h (in pytm._dumpio, loaded on first
 * use: snapdata_capi.h), and per-index trace access that
 * builds Python objects only for what a caller asks for. The Python
 * classes (recorder/pytm/_snapshot.py) are a thin layer over it.
 *
 * Files: snapdata.c (type, trace access, metadata), snapdata_cache.c
 * (cached str/frame/traceback objects), snapdata_query.c (statistics,
 * compare_to, filter, select, equality), snapdata_build.c (raw
 * tracemalloc trace tuples -> snap), snapdata_lazyio.c (pytm.DumpError
 * and the dump/load methods, forwarded to pytm._dumpio), snapdata_io.c
 * and dumpio.c (pytm._dumpio: the codec side), snapdata_int.h (what
 * those files share).
 *
 * Threading: every SnapData is immutable once created; its lazily
 * filled caches of Python objects are protected by the GIL. Long C work
 * on the snapshot (grouping, dump encoding, file I/O) runs with the GIL
 * released, which is safe because nothing writes the snapshot.
 */
#ifndef PYTM_RECORDER_SNAPDATA_H
#define PYTM_RECORDER_SNAPDATA_H

#include <Python.h>

struct pytm_snap;

/* Makes the SnapData type ready and adds `SnapData` and `DumpError`
 * (pytm.DumpError, a ValueError subclass) to module m. Call once from
 * the module's init/exec function. Returns 0, or -1 with an exception
 * set. */
int pytm_snapdata_add_types(PyObject *m);

/* Wraps *s in a new SnapData, MOVING its content: on return *s is empty
 * (pytm_snap_init state) whatever the outcome, so the caller never frees
 * it twice. The snapshot must have passed pytm_snap_validate. When it
 * has traces[], every traceback's live aggregates are recomputed from
 * them (pytm_snap_aggregate_traces) so that statistics always describe
 * exactly the traces. Readies the type on first use if
 * pytm_snapdata_add_types was not called yet.
 * Returns a new reference, or NULL with an exception set (the content
 * of *s is then freed). Needs the GIL. */
PyObject *pytm_snapdata_wrap(struct pytm_snap *s);

/* The snapshot inside a SnapData (borrowed, valid while obj lives), or
 * NULL with TypeError set when obj is not a SnapData. */
const struct pytm_snap *pytm_snapdata_get(PyObject *obj);

#endif /* PYTM_RECORDER_SNAPDATA_H */
