/* recorder/api/peer: another process's arena as a SnapData, for
 * `python -m pytm export --pid` and pytm.export.from_pid().
 *
 * The arena is read read-only through shm's reader (shm/reader.h), the
 * same validated path pytmtop -p uses, into the struct pytm_snap that
 * dumps load into: strings, frames, tracebacks with their live and
 * cumulative aggregates, totals and meta, no traces[] (the per-block
 * table lives in the traced process's private memory).
 */
#ifndef PYTM_RECORDER_PEER_H
#define PYTM_RECORDER_PEER_H

#include <Python.h>

/* Adds `ArenaError` (pytm._recorder.ArenaError, a RuntimeError
 * subclass) to module m. Call once from the module's exec function.
 * Returns 0, or -1 with an exception set. */
int pytm_peer_add_types(PyObject *m);

/* _recorder.read_arena(pid, shm_dir=None) -> SnapData of the newest
 * arena of `pid` under shm_dir (None: $PYTM_SHM_DIR, else /dev/shm).
 * Refuses, with ArenaError and one line naming the PID and the cause:
 * no such process; a live process without an arena (not traced); an
 * arena owned by another user; a foreign, corrupt or half-created
 * arena; a stale arena (its process exited, or the PID was reused).
 * A stopped arena whose process is alive (start(keep=True) then stop())
 * is read. ValueError for a PID <= 0. Needs the GIL; releases it while
 * copying the arena. Returns a new reference or NULL. */
PyObject *pytm_peer_read_arena(PyObject *mod, PyObject *args, PyObject *kw);

#endif /* PYTM_RECORDER_PEER_H */
