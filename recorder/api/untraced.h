/* recorder/api/untraced.h: importing pytm's own lazily loaded parts
 * (pytm/__init__.py's snapshot side, pytm._dumpio) without tracing them.
 *
 * They load on first use, which may be while tracing (the first
 * take_snapshot() or dump()). tracemalloc never traces its own module,
 * imported before start(); so that pytm's snapshots do not show ~100 KiB
 * of its own code objects either, the import runs with the calling
 * thread's reentrancy guard set (exact mode) and its countdown parked
 * (sampled mode; core/threads.h, PARKING): its allocations pass through
 * untraced, while frees still forget recorded blocks (hooks.c skips only
 * on the allocation side). Nested calls (an import that triggers
 * another) keep the outer guard; parking nests.
 */
#ifndef PYTM_RECORDER_UNTRACED_H
#define PYTM_RECORDER_UNTRACED_H

#include <Python.h>

#include "threads.h"

/* A stretch of this thread's code whose allocations pass untraced:
 * pytm_untraced_begin() ... pytm_untraced_end(&u). Nests. Needs the GIL
 * (or at least: not inside a hook). */
struct pytm_untraced {
    int outer;   /* the guard was already set */
    int64_t was; /* the countdown before parking */
};

static inline struct pytm_untraced
pytm_untraced_begin(void)
{
    struct pytm_tls *t = &pytm_tls;
    struct pytm_untraced u = {.outer = t->guard};
    if (!u.outer)
        pytm_guard_set(t);
    u.was = pytm_park(t);
    return u;
}

static inline void
pytm_untraced_end(const struct pytm_untraced *u)
{
    struct pytm_tls *t = &pytm_tls;
    pytm_unpark(t, u->was);
    if (!u->outer)
        pytm_guard_clear(t);
}

/* PyImport_Import(name) with allocations untraced in this thread. New
 * reference, or NULL with an exception. Needs the GIL. */
static inline PyObject *
pytm_import_untraced(PyObject *name)
{
    struct pytm_untraced u = pytm_untraced_begin();
    PyObject *mod = PyImport_Import(name);
    pytm_untraced_end(&u);
    return mod;
}

#endif /* PYTM_RECORDER_UNTRACED_H */
