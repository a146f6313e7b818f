/* recorder/api/module: the CPython glue of pytm._recorder -- module
 * definition, argument parsing, exceptions. Everything else lives in
 * core/session.c (lifecycle; core/ is the hot path), live.c (snapshots
 * of the live session) and snapdata*.c (the SnapData type).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "live.h"
#include "peer.h"
#include "policy.h"
#include "pytm_error.h"
#include "reader.h"
#include "reftrace.h"
#include "session.h"
#include "snapdata_link.h"
#include "threads.h"
#include "untraced.h"

#define MAX_NFRAME 65535

/* Raises the exception for a failed start() step. Returns NULL.
 * rc and what come from pytm_session_start; err is errno right after it
 * (pytm_arena_create keeps the failing call's errno across its clean-up)
 * and dir the arena directory asked for (NULL: the default). An arena
 * that cannot be created for a system error is OSError(err, text), so
 * e.errno names the cause (ENOSPC on a full tmpfs). */
static PyObject *
raise_start_error(int rc, const char *what, int err, const char *dir)
{
    if (what != NULL && strcmp(what, "hooks") == 0)
        return PyErr_Format(PyExc_RuntimeError,
                            "pytm: cannot install the allocator hooks: ours "
                            "from a previous session are still chained below "
                            "another hook (e.g. tracemalloc started after "
                            "pytm); stop that one first");
    if (rc == PYTM_E_NOMEM)
        return PyErr_NoMemory();
    if (rc == PYTM_E_INVAL)
        return PyErr_Format(PyExc_ValueError, "pytm: cannot create the "
                            "arena: %s", pytm_strerror(rc));
    if (rc == PYTM_E_IO && err != 0 && what != NULL
        && strcmp(what, "arena") == 0) {
        /* OSError(errno, text): e.errno says ENOSPC, EACCES, ... */
        PyObject *text = PyUnicode_FromFormat(
            "pytm: cannot create the arena in %s: %s%s",
            dir ? dir : "/dev/shm", strerror(err),
            err == ENOSPC ? " (free space there, point PYTM_SHM_DIR at "
                            "another directory, or pass a smaller "
                            "arena_size)"
                          : "");
        PyObject *args = text ? Py_BuildValue("(iN)", err, text) : NULL;
        if (args == NULL)
            return NULL;
        PyErr_SetObject(PyExc_OSError, args);
        Py_DECREF(args);
        return NULL;
    }
    return PyErr_Format(PyExc_OSError, "pytm: cannot create the %s: %s",
                        what ? what : "session", pytm_strerror(rc));
}

/* An int >= 1 as uint64, or -1 with TypeError/ValueError/OverflowError. */
static int
positive_u64(PyObject *o, const char *name, uint64_t *out)
{
    if (!PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", name,
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow < 0 || (overflow == 0 && v < 1)) {
        PyErr_Format(PyExc_ValueError, "%s must be >= 1", name);
        return -1;
    }
    if (overflow > 0) {
        PyErr_Format(PyExc_OverflowError, "%s is too large", name);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

PyDoc_STRVAR(start_doc,
"start(nframe=1, sample_interval=DEFAULT_SAMPLE_INTERVAL, keep=False,\n"
"      arena_size=None, seed=None, tree=False, tree_root=0,\n"
"      tree_root_ticks=0, parent_pid=0)\n--\n\n"
"Start tracing Python memory allocations into a shared-memory arena.\n"
"Does nothing when already tracing. seed: an int (taken modulo 2**64)\n"
"makes the per-thread sampler seeds deterministic; None: random.\n"
"tree: the arena joins a process tree (pytm run following children);\n"
"tree_root 0 makes this process the root, else tree_root,\n"
"tree_root_ticks and parent_pid (0: getppid()) are recorded.");

static PyObject *
recorder_start(PyObject *Py_UNUSED(mod), PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"nframe", "sample_interval", "keep",
                             "arena_size", "seed", "tree", "tree_root",
                             "tree_root_ticks", "parent_pid", NULL};
    int nframe = 1;
    PyObject *interval_o = NULL, *arena_o = Py_None, *seed_o = Py_None;
    int keep = 0, tree = 0;
    long long tree_root = 0, parent_pid = 0;
    unsigned long long tree_ticks = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|iOpOOpLKL:start", kwlist,
                                     &nframe, &interval_o, &keep, &arena_o,
                                     &seed_o, &tree, &tree_root, &tree_ticks,
                                     &parent_pid))
        return NULL;
    if (tree_root < 0 || tree_root > INT32_MAX || parent_pid < 0 ||
        parent_pid > INT32_MAX)
        return PyErr_Format(PyExc_ValueError,
                            "tree_root and parent_pid must be PIDs or 0");
    if (nframe < 1 || nframe > MAX_NFRAME)
        return PyErr_Format(PyExc_ValueError,
                            "the number of frames must be in range [1; %d]",
                            MAX_NFRAME);
    struct pytm_session_config cfg = {
        .nframe = (uint32_t)nframe,
        .interval = PYTM_DEFAULT_SAMPLE_INTERVAL,
        .keep = keep != 0,
        .tree = tree != 0,
        .tree_root_pid = tree_root,
        .tree_root_ticks = tree_ticks,
        .parent_pid = parent_pid,
    };
    if (interval_o != NULL &&
        positive_u64(interval_o, "sample_interval", &cfg.interval) < 0)
        return NULL;
    if (arena_o != Py_None) {
        if (positive_u64(arena_o, "arena_size", &cfg.arena_size) < 0)
            return NULL;
        if (cfg.arena_size < PYTM_ARENA_MIN_SIZE)
            return PyErr_Format(PyExc_ValueError,
                                "arena_size must be at least %llu bytes",
                                (unsigned long long)PYTM_ARENA_MIN_SIZE);
    }
    if (seed_o != Py_None) {
        if (!PyLong_Check(seed_o))
            return PyErr_Format(PyExc_TypeError, "seed must be an int");
        cfg.seed = (uint64_t)PyLong_AsUnsignedLongLongMask(seed_o);
        if (cfg.seed == (uint64_t)-1 && PyErr_Occurred())
            return NULL;
        cfg.seeded = true;
    }
#if PY_VERSION_HEX >= 0x030C0000
    /* The hooks are process-wide and trace the main interpreter only
     * (core/hooks.c, "Sub-interpreters"). */
    if (PyInterpreterState_Get() != PyInterpreterState_Main())
        return PyErr_Format(PyExc_RuntimeError,
                            "pytm: start() must be called from the main "
                            "interpreter (sub-interpreters are not traced)");
#endif
    const char *what;
    int rc = pytm_session_start(&cfg, &what);
    int err = errno;
    if (rc < 0)
        return raise_start_error(rc, what, err, pytm_session_shm_dir());
    Py_RETURN_NONE;
}

static PyObject *
recorder_stop(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    pytm_session_stop();
    Py_RETURN_NONE;
}

static PyObject *
recorder_is_tracing(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    return PyBool_FromLong(pytm_session_is_tracing());
}

static PyObject *
recorder_get_traced_memory(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    int64_t cur, peak;
    pytm_session_traced_memory(&cur, &peak);
    return Py_BuildValue("(LL)", (long long)cur, (long long)peak);
}

static PyObject *
recorder_reset_peak(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    pytm_session_reset_peak();
    Py_RETURN_NONE;
}

static PyObject *
recorder_clear_traces(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    if (pytm_session_clear() < 0)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *
recorder_get_traceback_limit(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    return PyLong_FromUnsignedLong(pytm_session_nframe());
}

static PyObject *
recorder_get_sample_interval(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    return PyLong_FromUnsignedLongLong(pytm_session_interval());
}

static PyObject *
recorder_get_tracemalloc_memory(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    return PyLong_FromUnsignedLongLong(pytm_session_memory());
}

static PyObject *
recorder_arena_path(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    /* None also for a fork child's private (unnamed) arena. */
    const struct pytm_session *s = pytm_session_current();
    if (!pytm_session_is_tracing() || s->unlinked)
        Py_RETURN_NONE;
    return PyUnicode_DecodeFSDefault(pytm_arena_path(s->arena));
}

static PyObject *
recorder_take_snapshot_data(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    if (!pytm_session_is_tracing())
        return PyErr_Format(PyExc_RuntimeError,
                            "the tracemalloc module must be tracing memory "
                            "allocations to take a snapshot");
    return pytm_live_take(pytm_session_current());
}

static PyObject *
recorder_get_object_traceback_index(PyObject *Py_UNUSED(mod), PyObject *obj)
{
    uint32_t tb;
    if (pytm_live_object_tb(pytm_session_current(), obj, &tb))
        return PyLong_FromUnsignedLong(tb);
    Py_RETURN_NONE;
}

/* The part _clean_tree and _reap_tree share: runs one sweep of the
 * process tree (root, ticks)'s arenas under PYTM_SHM_DIR without the GIL
 * -- pytm_reader_reap_tree(grace_ns, keep_max) when `reap`, else
 * pytm_reader_clean_tree -- and returns the number removed, or NULL with
 * OSError("cannot <clean|reap> the process tree's arenas: ..."). The
 * caller has checked the arguments. */
static PyObject *
tree_sweep(bool reap, int64_t root, uint64_t ticks, uint64_t grace_ns,
           size_t keep_max)
{
    int rc;
    Py_BEGIN_ALLOW_THREADS
    const char *dir = pytm_session_shm_dir();
    rc = reap ? pytm_reader_reap_tree(dir, root, ticks, grace_ns, keep_max)
              : pytm_reader_clean_tree(dir, root, ticks);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return PyErr_Format(PyExc_OSError, "cannot %s the process tree's "
                            "arenas: %s", reap ? "reap" : "clean",
                            pytm_strerror(rc));
    return PyLong_FromLong(rc);
}

static bool
is_pid(long long v)
{
    return v > 0 && v <= INT32_MAX;
}

/* _clean_tree(root_pid, root_ticks) -> number of arenas removed. */
static PyObject *
recorder_clean_tree(PyObject *Py_UNUSED(mod), PyObject *args)
{
    long long root = 0;
    unsigned long long ticks = 0;
    if (!PyArg_ParseTuple(args, "LK:_clean_tree", &root, &ticks))
        return NULL;
    if (!is_pid(root))
        return PyErr_Format(PyExc_ValueError, "root_pid must be a PID");
    return tree_sweep(false, root, ticks, 0, 0);
}

/* _reap_tree(root_pid, root_ticks, grace_s, keep_max) -> count removed
 * (pytm_reader_reap_tree). */
static PyObject *
recorder_reap_tree(PyObject *Py_UNUSED(mod), PyObject *args)
{
    long long root = 0;
    unsigned long long ticks = 0;
    double grace = 0;
    Py_ssize_t keep_max = 0;
    if (!PyArg_ParseTuple(args, "LKdn:_reap_tree", &root, &ticks, &grace,
                          &keep_max))
        return NULL;
    if (!is_pid(root) || !(grace >= 0 && grace < 1e9) || keep_max < 0)
        return PyErr_Format(PyExc_ValueError, "bad _reap_tree arguments");
    return tree_sweep(true, root, ticks, (uint64_t)(grace * 1e9),
                      (size_t)keep_max);
}

/* _tree_identity() -> (tree_root_pid, tree_root_ticks, parent_pid) of the
 * running session's arena, or None when not tracing or not in a tree. */
static PyObject *
recorder_tree_identity(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    struct pytm_session *s = pytm_session_current();
    if (!pytm_session_is_tracing() || s->hdr == NULL ||
        !(s->hdr->flags & PYTM_ARENA_FLAG_TREE))
        Py_RETURN_NONE;
    return Py_BuildValue("(LKL)", (long long)s->hdr->tree_root_pid,
                         (unsigned long long)s->hdr->tree_root_start_ticks,
                         (long long)s->hdr->parent_pid);
}

static PyObject *
recorder_atexit(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    pytm_session_exit(false);
    Py_RETURN_NONE;
}

static PyObject *
recorder_after_fork_child(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    pytm_session_after_fork_child();
    Py_RETURN_NONE;
}

static PyObject *
recorder_stats(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    return pytm_live_stats(pytm_session_current());
}

/* Module __getattr__ (PEP 562): SnapData and DumpError moved to
 * pytm._snapdata (snapdata_capi.h); old spellings still resolve. */
static PyObject *
recorder_getattr(PyObject *Py_UNUSED(mod), PyObject *name)
{
    if (PyUnicode_Check(name)
        && (PyUnicode_CompareWithASCIIString(name, "SnapData") == 0
            || PyUnicode_CompareWithASCIIString(name, "DumpError") == 0)) {
        PyObject *modname = PyUnicode_FromString("pytm._snapdata");
        PyObject *sd = modname ? pytm_import_untraced(modname) : NULL;
        Py_XDECREF(modname);
        if (sd == NULL)
            return NULL;
        PyObject *res = PyObject_GetAttr(sd, name);
        Py_DECREF(sd);
        return res;
    }
    PyErr_Format(PyExc_AttributeError,
                 "module 'pytm._recorder' has no attribute %R", name);
    return NULL;
}

/* _import_untraced(name, attr=None, namespace=None): pytm/__init__.py's
 * lazy imports (untraced.h). With attr, returns module.attr instead of
 * the module, and stores it in the dict `namespace` when given -- also
 * untraced, since the store may grow the dict. METH_FASTCALL: a
 * METH_VARARGS argument tuple would be allocated (traced) before the
 * guard is set, then kept in the tuple free list under pytm's name. */
static PyObject *
recorder_import_untraced(PyObject *Py_UNUSED(mod), PyObject *const *args,
                         Py_ssize_t nargs)
{
    PyObject *name = nargs > 0 ? args[0] : NULL;
    PyObject *attr = nargs > 1 ? args[1] : Py_None;
    PyObject *ns = nargs > 2 ? args[2] : Py_None;
    if (nargs < 1 || nargs > 3 || !PyUnicode_Check(name)
        || (attr != Py_None && !PyUnicode_Check(attr))
        || (ns != Py_None && !PyDict_Check(ns))) {
        PyErr_SetString(PyExc_TypeError,
                        "_import_untraced(name: str, attr: str = None, "
                        "namespace: dict = None)");
        return NULL;
    }
    struct pytm_untraced u = pytm_untraced_begin();
    PyObject *res = PyImport_Import(name);
    if (res != NULL && attr != Py_None) {
        PyObject *value = PyObject_GetAttr(res, attr);
        Py_SETREF(res, value);
        if (res != NULL && ns != Py_None
            && PyDict_SetItem(ns, attr, res) < 0)
            Py_CLEAR(res);
    }
    pytm_untraced_end(&u);
    return res;
}

static PyObject *
recorder_reftrace_active(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    return PyBool_FromLong(pytm_reftrace_active());
}

static PyObject *
recorder_threads(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(unused))
{
    return pytm_live_threads(pytm_session_current());
}

/* _set_thread_names([(ident, native_id, name), ...]): walks the list
 * without allocating (it runs where the stdlib shows no trace of its
 * own: right after start(), and after Thread.start), ASCII names being
 * their own UTF-8. */
static PyObject *
recorder_set_thread_names(PyObject *Py_UNUSED(mod), PyObject *list)
{
    if (!PyList_Check(list))
        return PyErr_Format(PyExc_TypeError, "expected a list");
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        PyObject *it = PyList_GET_ITEM(list, i);
        unsigned long long ident;
        long long tid;
        const char *name;
        Py_ssize_t len;
        if (!PyArg_ParseTuple(it, "KLs#:_set_thread_names", &ident, &tid,
                              &name, &len))
            return NULL;
        if (pytm_session_is_tracing())
            (void)pytm_threads_set_name(pytm_session_current(),
                                        (uint64_t)ident, (int32_t)tid, name,
                                        (size_t)len);
    }
    Py_RETURN_NONE;
}

static PyMethodDef recorder_methods[] = {
    {"_set_thread_names", recorder_set_thread_names, METH_O,
     "_set_thread_names([(ident, native_id, name), ...]): Python names of "
     "threads (threading.get_ident(), Thread.native_id), best effort: the "
     "first name given stays."},
    {"start", (PyCFunction)(void (*)(void))recorder_start,
     METH_VARARGS | METH_KEYWORDS, start_doc},
    {"stop", recorder_stop, METH_NOARGS,
     "Stop tracing: restore the allocators, clear the traces, close the "
     "arena (removed unless keep)."},
    {"is_tracing", recorder_is_tracing, METH_NOARGS,
     "True while tracing."},
    {"get_traced_memory", recorder_get_traced_memory, METH_NOARGS,
     "(current, peak) traced bytes; estimates when sampling."},
    {"reset_peak", recorder_reset_peak, METH_NOARGS,
     "Set the peak to the current traced size."},
    {"clear_traces", recorder_clear_traces, METH_NOARGS,
     "Forget every trace (interned tracebacks stay)."},
    {"get_traceback_limit", recorder_get_traceback_limit, METH_NOARGS,
     "Maximum number of frames stored in a traceback."},
    {"get_sample_interval", recorder_get_sample_interval, METH_NOARGS,
     "Mean sampling interval in bytes of the last start() (1: exact)."},
    {"get_tracemalloc_memory", recorder_get_tracemalloc_memory, METH_NOARGS,
     "Bytes used by pytm: private tables plus arena bytes in use."},
    {"arena_path", recorder_arena_path, METH_NOARGS,
     "Path of the shared-memory arena, or None when not tracing."},
    {"take_snapshot_data", recorder_take_snapshot_data, METH_NOARGS,
     "SnapData of the current state, with every recorded block."},
    {"get_object_traceback_index", recorder_get_object_traceback_index, METH_O,
     "Traceback index of the block holding obj, or None if not recorded."},
    {"_clean_tree", recorder_clean_tree, METH_VARARGS,
     "Remove a process tree's arenas (not the root's): _clean_tree(root, "
     "ticks) -> count."},
    {"_reap_tree", recorder_reap_tree, METH_VARARGS,
     "Remove dead tree members' arenas older than grace_s, and beyond "
     "keep_max: _reap_tree(root, ticks, grace_s, keep_max) -> count."},
    {"_tree_identity", recorder_tree_identity, METH_NOARGS,
     "(tree_root_pid, tree_root_ticks, parent_pid) or None."},
    {"read_arena", (PyCFunction)(void (*)(void))pytm_peer_read_arena,
     METH_VARARGS | METH_KEYWORDS,
     "read_arena(pid, shm_dir=None) -> SnapData of another process's "
     "arena (no traces); raises ArenaError."},
    {"_atexit", recorder_atexit, METH_NOARGS,
     "Interpreter exit: stop, marking a kept arena EXITED."},
    {"_after_fork_child", recorder_after_fork_child, METH_NOARGS,
     "os.register_at_fork(after_in_child=...) hook."},
    {"_stats", recorder_stats, METH_NOARGS,
     "Internal counters of the recorder, for tests and diagnostics."},
    {"__getattr__", recorder_getattr, METH_O, NULL},
    {"_import_untraced", (PyCFunction)(void (*)(void))recorder_import_untraced,
     METH_FASTCALL,
     "_import_untraced(name, attr=None, namespace=None) -> module, or "
     "module.attr (also stored in the dict namespace): import with this "
     "thread's allocations untraced (pytm's own lazily loaded modules)."},
    {"_reftrace_active", recorder_reftrace_active, METH_NOARGS,
     "True while pytm's reference tracer is installed (3.13+, exact)."},
    {"_threads", recorder_threads, METH_NOARGS,
     "Live thread slots of the arena: list of (tid, name, n_allocs, "
     "n_samples)."},
    {NULL, NULL, 0, NULL},
};

static int
recorder_exec(PyObject *m)
{
#ifdef Py_GIL_DISABLED
    /* The hooks' design rests on the GIL (core/hooks.c); the free-threaded
     * build has none. docs/free-threading.md says what a port needs. */
    (void)m;
    PyErr_SetString(PyExc_ImportError,
                    "pytm does not support the free-threaded build of "
                    "CPython (python3.13t) yet: use the default build of "
                    "the same version (see docs/free-threading.md)");
    return -1;
#endif
    if (pytm_session_global_init() < 0) {
        PyErr_SetString(PyExc_RuntimeError, "pytm: cannot set up the "
                        "thread-exit key or fork handlers");
        return -1;
    }
    if (pytm_peer_add_types(m) < 0)
        return -1;
    if (PyModule_AddIntConstant(m, "DEFAULT_SAMPLE_INTERVAL",
                                PYTM_DEFAULT_SAMPLE_INTERVAL) < 0 ||
        PyModule_AddIntConstant(m, "MAX_NFRAME", MAX_NFRAME) < 0 ||
        PyModule_AddIntConstant(m, "ARENA_DEFAULT_SIZE",
                                (long)PYTM_ARENA_DEFAULT_SIZE) < 0 ||
        PyModule_AddIntConstant(m, "ARENA_MIN_SIZE",
                                (long)PYTM_ARENA_MIN_SIZE) < 0)
        return -1;
    return 0;
}

static PyModuleDef_Slot recorder_slots[] = {
    {Py_mod_exec, recorder_exec},
#if PY_VERSION_HEX >= 0x030C0000
    /* Importable in interpreters that share the main GIL, refused (with
     * ImportError) in those with their own: the module's state is
     * process-wide. Only the main interpreter may start tracing. */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef recorder_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pytm._recorder",
    .m_doc = "pytm's allocator hooks and shared-memory recorder.",
    .m_size = 0,
    .m_methods = recorder_methods,
    .m_slots = recorder_slots,
};

PyMODINIT_FUNC
PyInit__recorder(void)
{
    return PyModuleDef_Init(&recorder_module);
}
