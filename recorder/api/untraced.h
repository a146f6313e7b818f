/* recorder/api/untraced.h: importing pytm's own lazily loaded parts
 * (pytm/__init__.py's snapshot side, pytm._dumpio) without tracing them.
 *
 * They load on first use, which may be while tracing (the first
 * take_snapshot() or dump()). tracemalloc never traces its own module,
 * imported before start(); so that pytm's snapshots do not show ~100 KiB
 * of its own code objects either, the import runs with the calling
 * thread's reentrancy guard set (core/threads.h): its allocations pass
 * through untraced, while frees still forget recorded blocks (hooks.c
 * checks the guard only on the allocation side). Nested calls (an
 * import that triggers another) keep the outer guard.
 */
#ifndef PYTM_RECORDER_UNTRACED_H
#define PYTM_RECORDER_UNTRACED_H

#include <Python.h>

#include "threads.h"

/* PyImport_Import(name) with allocations untraced in this thread. New
 * reference, or NULL with an exception. Needs the GIL. */
static inline PyObject *
pytm_import_untraced(PyObject *name)
{
    struct pytm_tls *t = &pytm_tls;
    int outer = t->guard;
    if (!outer)
        pytm_guard_set(t);
    PyObject *mod = PyImport_Import(name);
    if (!outer)
        pytm_guard_clear(t);
    return mod;
}

#endif /* PYTM_RECORDER_UNTRACED_H */
