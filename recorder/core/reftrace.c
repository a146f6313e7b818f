/* recorder/core/reftrace: re-tag objects reused from free lists (3.13+;
 * see reftrace.h). */
#include <Python.h>

#include "reftrace.h"

#if PY_VERSION_HEX >= 0x030D0000 && !defined(Py_GIL_DISABLED)

#include "arena.h"
#include "frames.h"
#include "rawside.h"
#include "session.h"
#include "tables.h"
#include "threads.h"
#include "tracebacks.h"

/* All GIL (the main interpreter's): written by install/uninstall, read
 * by the tracer, which CPython calls with the GIL held. */
static struct pytm_session *rt_session; /* NULL: not re-tagging */
static bool rt_installed;               /* ours was put in the slot */
static PyRefTracer rt_prev;             /* found at install, chained */
static void *rt_prev_data;

/* The object op was just created (GIL held): move its block's record to
 * the current traceback unless the block was allocated just now. */
static void
retag(struct pytm_session *s, PyObject *op)
{
    struct pytm_tls *t = &pytm_tls;
    if (t->guard ||
        atomic_load_explicit(&s->active, memory_order_relaxed) == 0 ||
        !pytm_frames_in_main_interp())
        return;
    uintptr_t blk = (uintptr_t)pytm_frames_object_block(op);
    if (blk == s->last_main_alloc) {
        s->last_main_alloc = 0; /* fresh: its traceback is this one */
        return;
    }
    struct pytm_trace_rec rec, old;
    if (!pytm_traces_get(&s->traces, blk, &rec))
        return; /* not ours: allocated before start() or untraced */
    /* Capturing may allocate: those pass through (exact mode: the guard;
     * sampled mode: the parked countdown, threads.h). */
    pytm_guard_set(t);
    int64_t was = pytm_park(t);
    uint32_t tb;
    if (pytm_tb_current(s, &tb) == 0 && tb != rec.tb) {
        uint32_t was = rec.tb;
        rec.tb = tb;
        if (pytm_traces_put(&s->traces, &rec, &old) == 1) {
            pytm_raw_drain(s); /* the serial updates keep their order */
            pytm_arena_record_move_serial(&s->tbs[was], &s->tbs[tb],
                                          rec.est_size, rec.est_count);
        }
    }
    /* else: arena full or same traceback -- the record stays as it was */
    pytm_unpark(t, was);
    pytm_guard_clear(t);
}

static int
tracer(PyObject *op, PyRefTracerEvent event, void *Py_UNUSED(data))
{
    struct pytm_session *s = rt_session;
    if (event == PyRefTracer_CREATE && s != NULL)
        retag(s, op);
    if (rt_prev != NULL)
        return rt_prev(op, event, rt_prev_data);
    return 0;
}

bool
pytm_reftrace_install(struct pytm_session *s)
{
    if (rt_installed)
        pytm_reftrace_uninstall();
    void *data = NULL;
    PyRefTracer prev = PyRefTracer_GetTracer(&data);
    if (prev == tracer) { /* ours, left chained below another: unwind */
        prev = rt_prev;
        data = rt_prev_data;
    }
    rt_prev = prev;
    rt_prev_data = data;
    s->last_main_alloc = 0;
    rt_session = s;
    if (PyRefTracer_SetTracer(tracer, NULL) < 0) {
        PyErr_Clear();
        rt_session = NULL;
        return false;
    }
    rt_installed = true;
    return true;
}

void
pytm_reftrace_uninstall(void)
{
    if (!rt_installed)
        return;
    rt_installed = false;
    rt_session = NULL;
    void *data = NULL;
    if (PyRefTracer_GetTracer(&data) == tracer) {
        if (PyRefTracer_SetTracer(rt_prev, rt_prev_data) < 0)
            PyErr_Clear();
        rt_prev = NULL;
        rt_prev_data = NULL;
    }
    /* else someone replaced ours: theirs stays; rt_prev stays chained
     * in case a tracer above still calls ours. */
}

bool
pytm_reftrace_active(void)
{
    void *data = NULL;
    return rt_installed && PyRefTracer_GetTracer(&data) == tracer;
}

#else /* before 3.13: no public reference tracer */

bool
pytm_reftrace_install(struct pytm_session *s)
{
    (void)s;
    return false;
}

void
pytm_reftrace_uninstall(void)
{
}

bool
pytm_reftrace_active(void)
{
    return false;
}

#endif
