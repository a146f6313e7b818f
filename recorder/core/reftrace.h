/* recorder/core/reftrace: CPython 3.13's reference tracer, so that an
 * object reused from a free list gets the traceback of its reuse.
 *
 * Why. A free list keeps a dead object's memory block allocated; when
 * the object is reused, no allocator hook runs, and without help the
 * block keeps the traceback of whoever first allocated it. tracemalloc
 * re-tags it from _Py_NewReference (3.11/3.12: a private hook only the
 * stdlib can use; 3.13: the public PyRefTracer_SetTracer() slot, which
 * we use the same way).
 *
 * What it does. In exact mode only (sampled mode estimates where bytes
 * were allocated, and a reuse allocates nothing; it also keeps the
 * object-creation path free of our code). On every object creation in
 * the main interpreter: when the object's block is recorded, and is not
 * the block recorded last (a fresh allocation, already tagged with the
 * current traceback), its record moves to the current traceback, the
 * aggregates with it. Destructions are only passed on.
 *
 * The slot is process-wide and holds one tracer: we chain to the one we
 * found at install (called after ours, with its data) and put it back at
 * uninstall -- if the slot still holds ours. Whoever replaced ours meanwhile
 * keeps the slot: the stdlib's tracemalloc.start() installs its tracer
 * without chaining and its stop() empties the slot; both just end our
 * re-tagging for the session (nothing breaks, nothing is restored that
 * is no longer wanted). Our tracer stays callable after uninstall (a
 * tracer chained above ours may still call it): it then only chains.
 *
 * Before 3.13 both functions do nothing. GIL held for both.
 */
#ifndef PYTM_RECORDER_REFTRACE_H
#define PYTM_RECORDER_REFTRACE_H

#include <stdbool.h>

struct pytm_session;

/* Installs the tracer for session s (exact mode, s active). Returns
 * true when it is installed (false before 3.13, or when the slot could
 * not be set: tracing goes on without re-tagging). */
bool pytm_reftrace_install(struct pytm_session *s);

/* Restores the tracer found at install if ours is still in the slot;
 * leaves the slot alone otherwise. No-op when not installed. */
void pytm_reftrace_uninstall(void);

/* True while ours is the installed tracer (for tests and diagnostics). */
bool pytm_reftrace_active(void);

#endif /* PYTM_RECORDER_REFTRACE_H */
