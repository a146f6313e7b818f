/* recorder/api/peer: another process's arena as a SnapData (see
 * peer.h). Every arena is hostile input: the reader validates it; this
 * file only turns the reader's verdicts into one-line errors.
 */
#define PY_SSIZE_T_CLEAN
#include "peer.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>

#include "pytm_error.h"
#include "reader.h"
#include "snap.h"
#include "snapdata_link.h"

/* pytm._recorder.ArenaError; written once at module exec, then
 * read-only. Protected by the GIL. */
static PyObject *peer_error;

int
pytm_peer_add_types(PyObject *m)
{
    if (peer_error == NULL) {
        peer_error = PyErr_NewExceptionWithDoc(
            "pytm.ArenaError",
            "Another process's arena cannot be read: no such process, not "
            "traced, foreign, corrupt or stale.",
            PyExc_RuntimeError, NULL);
        if (peer_error == NULL)
            return -1;
    }
    return PyModule_AddObjectRef(m, "ArenaError", peer_error);
}

/* True when a process `pid` exists (EPERM: it does, not ours). */
static int
pid_alive(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

/* The error for an arena that could not be attached. Returns NULL. */
static PyObject *
open_error(long long pid, int err)
{
    if (err == PYTM_E_NOENT && !pid_alive((pid_t)pid))
        return PyErr_Format(peer_error, "PID %lld: no such process", pid);
    if (err == PYTM_E_NOENT)
        return PyErr_Format(peer_error,
                            "PID %lld is not traced by pytm (no arena "
                            "pytm-%lld); run it under `python -m pytm run`, "
                            "or attach with `pytmtop -p %lld --attach`",
                            pid, pid, pid);
    if (err == PYTM_E_NOMEM)
        return PyErr_NoMemory();
    return PyErr_Format(peer_error, "PID %lld: %s", pid, pytm_strerror(err));
}

PyObject *
pytm_peer_read_arena(PyObject *Py_UNUSED(mod), PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"pid", "shm_dir", NULL};
    long long pid;
    const char *dir = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "L|z:read_arena", kwlist,
                                     &pid, &dir))
        return NULL;
    if (pid <= 0 || (long long)(pid_t)pid != pid)
        return PyErr_Format(PyExc_ValueError, "invalid PID %lld", pid);
    if (dir == NULL) {
        const char *env = getenv("PYTM_SHM_DIR");
        dir = env != NULL && env[0] != '\0' ? env : NULL;
    }
    struct pytm_reader *r = NULL;
    struct pytm_snap s;
    pytm_snap_init(&s);
    int err;
    enum pytm_reader_liveness live = PYTM_LIVE_RUNNING;
    Py_BEGIN_ALLOW_THREADS
    err = pytm_reader_open_pid((pid_t)pid, dir, &r);
    if (err == 0) {
        live = pytm_reader_liveness(r);
        if (live != PYTM_LIVE_EXITED)
            err = pytm_reader_snap(r, &s);
    }
    Py_END_ALLOW_THREADS
    if (r == NULL)
        return open_error(pid, err);
    /* attached: name the arena in any refusal */
    PyObject *path = PyUnicode_DecodeFSDefault(pytm_reader_path(r));
    pytm_reader_close(r);
    if (path == NULL) {
        pytm_snap_free(&s);
        return NULL;
    }
    if (err == 0 && live == PYTM_LIVE_EXITED)
        PyErr_Format(peer_error, "PID %lld: arena %U is stale: its process "
                     "exited (or the PID now belongs to another process)",
                     pid, path);
    else if (err != 0)
        PyErr_Format(peer_error, "PID %lld: %U: %s", pid, path,
                     pytm_strerror(err));
    Py_DECREF(path);
    if (PyErr_Occurred()) {
        pytm_snap_free(&s);
        return NULL;
    }
    return pytm_snapdata_link_wrap(&s); /* moves s; the reader validated it */
}
