/* attach/module: pytm._attach, the CPython glue of the attach layer.
 *
 * Used only by `python -m pytm attach/detach` (recorder/pytm/attach.py),
 * in the process that attaches, never in the traced one. Each function
 * raises pytm._attach.AttachError(name, message), name being the
 * PYTM_ATTACH_E_* code without its prefix ("NOTPY", "PERM", ...).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "attach_error.h"
#include "inject.h"
#include "pytm_error.h"
#include "reader.h"
#include "target.h"

static PyObject *AttachError; /* module state; set once at import (GIL) */

static PyObject *
raise(int err, const char *msg)
{
    PyObject *v = Py_BuildValue("(ss)", pytm_attach_errname(err),
                                msg && msg[0] ? msg : pytm_attach_strerror(err));
    if (v) {
        PyErr_SetObject(AttachError, v);
        Py_DECREF(v);
    }
    return NULL;
}

static PyObject *
attach_probe(PyObject *self, PyObject *args)
{
    (void)self;
    int pid;
    if (!PyArg_ParseTuple(args, "i:probe", &pid))
        return NULL;
    struct pytm_target *t = PyMem_RawMalloc(sizeof *t);
    if (!t)
        return PyErr_NoMemory();
    char msg[512];
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = pytm_target_probe((pid_t)pid, t, msg, sizeof msg);
    Py_END_ALLOW_THREADS
    PyObject *res = err ? raise(err, msg)
                        : Py_BuildValue("{s:k,s:s,s:K,s:K,s:K}",
                                        "version_hex", (unsigned long)t->version_hex,
                                        "lib", t->lib,
                                        "add_pending_call", (unsigned long long)t->add_pending_call,
                                        "run_simple_string", (unsigned long long)t->run_simple_string,
                                        "syscall_insn", (unsigned long long)t->syscall_insn);
    PyMem_RawFree(t);
    return res;
}

static PyObject *
attach_inject(PyObject *self, PyObject *args)
{
    (void)self;
    struct pytm_inject_req q = {0};
    unsigned long long func, arg0, sc;
    Py_buffer payload;
    if (!PyArg_ParseTuple(args, "iKKKy*i:inject", &q.pid, &func, &arg0, &sc,
                          &payload, &q.timeout_ms))
        return NULL;
    q.func = func;
    q.arg0 = arg0;
    q.syscall_insn = sc;
    q.payload = payload.buf;
    q.payload_len = (size_t)payload.len;
    struct pytm_inject_result r;
    char msg[512];
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = pytm_inject_call(&q, &r, msg, sizeof msg);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&payload);
    if (err)
        return raise(err, msg);
    return Py_BuildValue("{s:K,s:L,s:K,s:O,s:i}", "page", (unsigned long long)r.page,
                         "ret", (long long)r.ret, "held_ns", (unsigned long long)r.held_ns,
                         "was_in_syscall", r.was_in_syscall ? Py_True : Py_False,
                         "resent_signals", r.resent_signals);
}

static PyObject *
attach_arena_state(PyObject *self, PyObject *args)
{
    (void)self;
    int pid;
    const char *dir = NULL;
    if (!PyArg_ParseTuple(args, "i|z:arena_state", &pid, &dir))
        return NULL;
    struct pytm_reader *rd = NULL;
    int err = pytm_reader_open_pid((pid_t)pid, dir, &rd);
    if (err == PYTM_E_NOENT)
        Py_RETURN_NONE;
    if (err)
        return Py_BuildValue("(ss)", "error", pytm_strerror(err));
    enum pytm_reader_liveness l = pytm_reader_liveness(rd);
    PyObject *res = Py_BuildValue("(ss)", pytm_reader_liveness_name(l), pytm_reader_path(rd));
    pytm_reader_close(rd);
    return res;
}

static PyMethodDef methods[] = {
    {"probe", attach_probe, METH_VARARGS,
     "probe(pid) -> dict: the interpreter of a process (version_hex, lib, "
     "addresses); never stops it."},
    {"inject", attach_inject, METH_VARARGS,
     "inject(pid, func, arg0, syscall_insn, payload, timeout_ms) -> dict: "
     "make the main thread call func(arg0, page holding payload)."},
    {"arena_state", attach_arena_state, METH_VARARGS,
     "arena_state(pid, shm_dir=None) -> None | (liveness, path) | ('error', text)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "pytm._attach",
                                    "ptrace injection for python -m pytm attach", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC
PyInit__attach(void)
{
    PyObject *m = PyModule_Create(&moddef);
    if (!m)
        return NULL;
    AttachError = PyErr_NewException("pytm._attach.AttachError", NULL, NULL);
    if (!AttachError || PyModule_AddObjectRef(m, "AttachError", AttachError) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
