/* recorder/core/frames: frame capture shim (see frames.h).
 *
 * This is the only file of the extension compiled against CPython's
 * internal headers. It reads the _PyInterpreterFrame chain of 3.11, 3.12
 * and 3.13 directly, as the stdlib's tracemalloc does; any other version
 * (and the free-threaded build, and a build with -DPYTM_FRAMES_PUBLIC_API)
 * takes the public-API branch. Keep every use of internals in this file.
 *
 * What differs per version (tests/python/test_versions.py checks each):
 *   3.11  ts->cframe->current_frame; f->f_code; prev_instr; the
 *         runtime's current thread state is the one GIL's holder.
 *   3.12  the same frame fields; the current thread state is a
 *         thread-local, set while the thread is attached to its
 *         interpreter (one GIL per interpreter, PEP 684).
 *   3.13  _PyCFrame is gone: ts->current_frame; f->f_executable (a code
 *         object, or None in a shim frame); prev_instr became instr_ptr.
 *         Entry (shim) frames are owned by the C stack and carry no code
 *         object; _PyFrame_IsIncomplete() reports them first thing, so
 *         the walk never reads their f_executable as code.
 * Every version: lasti is _PyInterpreterFrame_LASTI(), the line is
 * PyCode_Addr2Line(code, lasti * sizeof(_Py_CODEUNIT)) -- what
 * PyUnstable_InterpreterFrame_GetLine() computes -- and it is computed
 * once per new (code, lasti) by the frame cache, never on the hot path.
 */
#define PY_SSIZE_T_CLEAN
/* Py_BUILD_CORE must be visible before Python.h: the internal headers
 * redeclare a few functions (e.g. _PyObject_LookupSpecialId) with the
 * core's signatures, which conflict with the public declarations made
 * when Python.h was read without it. The define is harmless where
 * nothing internal is included. */
#include <patchlevel.h>
#include <pyconfig.h>
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000 && \
    !defined(PYTM_FRAMES_PUBLIC_API) && !defined(Py_GIL_DISABLED)
#define PYTM_FRAMES_INTERNAL 1
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#else
#define PYTM_FRAMES_INTERNAL 0
#endif
#include <Python.h>

#if PYTM_FRAMES_INTERNAL
#include "internal/pycore_frame.h"
#include "internal/pycore_object.h"
#include "internal/pycore_pystate.h"
#endif

#include "frames.h"

#include <string.h>

#if PYTM_FRAMES_INTERNAL

#if PY_VERSION_HEX >= 0x030D0000
#define current_tstate() PyThreadState_GetUnchecked()
#elif PY_VERSION_HEX >= 0x030C0000
#define current_tstate() _PyThreadState_UncheckedGet()
#endif

/* The first frame to record at or after f: skips frames that have not
 * started executing yet (and, 3.13, the C stack's shim frames). */
static inline _PyInterpreterFrame *
first_complete(_PyInterpreterFrame *f)
{
    while (f != NULL && _PyFrame_IsIncomplete(f))
        f = f->previous;
    return f;
}

/* Code object of a complete frame. */
static inline PyCodeObject *
frame_code(_PyInterpreterFrame *f)
{
#if PY_VERSION_HEX >= 0x030D0000
    return (PyCodeObject *)f->f_executable;
#else
    return f->f_code;
#endif
}

/* The calling thread's innermost complete frame (GIL held). 3.12+: the
 * thread's own attached thread state (a call, no internal TLS access).
 * 3.11: the runtime's current tstate, which is the GIL holder -- this
 * thread; the stdlib uses PyGILState_GetThisThreadState(), and with the
 * GIL held both name the same thread state. */
static inline _PyInterpreterFrame *
current_frame(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyThreadState *ts = current_tstate();
    return ts == NULL ? NULL : first_complete(ts->current_frame);
#else
#if PY_VERSION_HEX >= 0x030C0000
    PyThreadState *ts = current_tstate();
#else
    PyThreadState *ts = _PyThreadState_GET();
#endif
    if (ts == NULL || ts->cframe == NULL)
        return NULL;
    return first_complete(ts->cframe->current_frame);
#endif
}

uint32_t
pytm_frames_capture(struct pytm_rawframe *out, uint32_t max, uint32_t *total)
{
    uint32_t n = 0, depth = 0;
    for (_PyInterpreterFrame *f = current_frame(); f != NULL;
         f = first_complete(f->previous)) {
        if (n < max) {
            out[n].code = frame_code(f);
            out[n].lasti = _PyInterpreterFrame_LASTI(f);
            out[n].pad = 0;
            n++;
        }
        if (depth < PYTM_FRAMES_MAX_TOTAL)
            depth++;
        else if (n >= max)
            break; /* depth saturated and nothing left to store */
    }
    *total = depth;
    return n;
}

uint32_t
pytm_frames_lineno(const struct pytm_rawframe *f)
{
    /* _PyInterpreterFrame_GetLine(): the address of the last instruction
     * in bytes. */
    int line = PyCode_Addr2Line((PyCodeObject *)f->code,
                                f->lasti * (int)sizeof(_Py_CODEUNIT));
    return line < 0 ? 0u : (uint32_t)line;
}

bool
pytm_frames_has_gil(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    /* 3.12+: an interpreter may have a GIL of its own (PEP 684), and we
     * trace the main interpreter only (hooks.c, "Sub-interpreters"). So
     * the question is whether this thread holds the *main* GIL: its
     * current thread state is set exactly while it is attached, and
     * names its interpreter. Lock-free, allocation-free, valid without a
     * thread state. */
    return pytm_frames_in_main_interp();
#else
    /* 3.11: one GIL. The thread holding it is the runtime's current
     * tstate; a thread knows its own (auto) tstate through a TSS key.
     * Both loads are lock-free and allocation-free, and valid without a
     * tstate. (PyGILState_Check() would answer 1 whenever its check is
     * disabled, e.g. once a subinterpreter exists -- not safe for us.) */
    PyThreadState *cur = _PyThreadState_GET();
    if (cur == NULL)
        return false;
    return cur == PyGILState_GetThisThreadState();
#endif
}

bool
pytm_frames_in_main_interp(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyThreadState *cur = current_tstate();
    return cur != NULL && cur->interp == PyInterpreterState_Main();
#else
    return true; /* one GIL: every interpreter's hooks are serialised */
#endif
}

void *
pytm_frames_object_block(void *obj)
{
    PyObject *o = (PyObject *)obj;
    return (char *)o - _PyType_PreHeaderSize(Py_TYPE(o));
}

#else /* public API fallback */

uint32_t
pytm_frames_capture(struct pytm_rawframe *out, uint32_t max, uint32_t *total)
{
    /* Borrowed from the thread state; new references from GetBack. */
    PyFrameObject *f = PyEval_GetFrame();
    uint32_t n = 0, depth = 0;
    Py_XINCREF(f);
    while (f != NULL) {
        if (n < max) {
            PyCodeObject *code = PyFrame_GetCode(f);
            out[n].code = code;
            /* The key is (code, line): without internals the line is the
             * cheapest stable position we can get. */
            out[n].lasti = PyFrame_GetLineNumber(f);
            out[n].pad = 0;
            Py_DECREF(code); /* the running frame keeps it alive */
            n++;
        }
        if (depth < PYTM_FRAMES_MAX_TOTAL)
            depth++;
        PyFrameObject *back = PyFrame_GetBack(f);
        Py_DECREF(f);
        f = back;
    }
    *total = depth;
    return n;
}

uint32_t
pytm_frames_lineno(const struct pytm_rawframe *f)
{
    return f->lasti < 0 ? 0u : (uint32_t)f->lasti;
}

bool
pytm_frames_in_main_interp(void)
{
    PyThreadState *cur = PyGILState_GetThisThreadState();
    return cur != NULL &&
           PyThreadState_GetInterpreter(cur) == PyInterpreterState_Main();
}

bool
pytm_frames_has_gil(void)
{
    return PyGILState_Check() != 0 && pytm_frames_in_main_interp();
}

void *
pytm_frames_object_block(void *obj)
{
    PyObject *o = (PyObject *)obj;
    size_t pre = PyType_IS_GC(Py_TYPE(o)) ? 2 * sizeof(void *) : 0;
#ifdef Py_TPFLAGS_MANAGED_DICT
    if (PyType_HasFeature(Py_TYPE(o), Py_TPFLAGS_MANAGED_DICT))
        pre += 2 * sizeof(PyObject *);
#endif
    return (char *)o - pre;
}

#endif

/* Encodes code point c as UTF-8 into p (room for 4 bytes); returns the
 * length. Surrogates (not encodable) become '?'. */
static size_t
put_utf8(char *p, Py_UCS4 c)
{
    if (c < 0x80) {
        p[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        p[0] = (char)(0xC0 | (c >> 6));
        p[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c >= 0xD800 && c <= 0xDFFF) {
        p[0] = '?';
        return 1;
    }
    if (c < 0x10000) {
        p[0] = (char)(0xE0 | (c >> 12));
        p[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        p[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    p[0] = (char)(0xF0 | (c >> 18));
    p[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    p[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    p[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

const char *
pytm_frames_filename(const void *code, size_t *len, char *scratch,
                     size_t scratch_size)
{
    static const char unknown[] = "<unknown>";
    PyObject *fn = ((PyCodeObject *)code)->co_filename;
    if (fn == NULL || !PyUnicode_Check(fn) || !PyUnicode_IS_READY(fn)) {
        *len = sizeof(unknown) - 1;
        return unknown;
    }
    if (PyUnicode_IS_COMPACT_ASCII(fn)) {
        *len = (size_t)PyUnicode_GET_LENGTH(fn);
        return (const char *)PyUnicode_DATA(fn);
    }
    if (PyUnicode_IS_COMPACT(fn)) {
        PyCompactUnicodeObject *cu = (PyCompactUnicodeObject *)fn;
        if (cu->utf8 != NULL) {
            *len = (size_t)cu->utf8_length;
            return cu->utf8;
        }
    }
    /* Encode by hand: PyUnicode_AsUTF8 would allocate its cache. */
    int kind = PyUnicode_KIND(fn);
    const void *data = PyUnicode_DATA(fn);
    Py_ssize_t n = PyUnicode_GET_LENGTH(fn);
    size_t out = 0;
    for (Py_ssize_t i = 0; i < n && out + 4 <= scratch_size; i++)
        out += put_utf8(scratch + out, PyUnicode_READ(kind, data, i));
    *len = out;
    return scratch;
}

void
pytm_frames_code_incref(const void *code)
{
    Py_INCREF((PyObject *)code);
}

void
pytm_frames_code_decref(const void *code)
{
    Py_DECREF((PyObject *)code);
}
