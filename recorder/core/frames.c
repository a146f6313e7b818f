/* recorder/core/frames: frame capture shim (see frames.h).
 *
 * This is the only file of the extension compiled against CPython's
 * internal headers, and only on 3.11, whose _PyInterpreterFrame layout
 * it reads. Any other version takes the public-API branch. Keep every
 * use of internals in this file.
 */
#define PY_SSIZE_T_CLEAN
/* Py_BUILD_CORE must be visible before Python.h: the internal headers
 * redeclare a few functions (e.g. _PyObject_LookupSpecialId) with the
 * core's signatures, which conflict with the public declarations made
 * when Python.h was read without it. It only matters on 3.11, the one
 * version whose internals we read; the define is harmless elsewhere
 * because nothing internal is included then. */
#include <patchlevel.h>
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 && \
    !defined(PYTM_FRAMES_PUBLIC_API)
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

/* 3.11: the calling thread's current frame (GIL held). The stdlib uses
 * PyGILState_GetThisThreadState(); with the GIL held both name the same
 * thread state, and the runtime's current-tstate load is cheaper. */
uint32_t
pytm_frames_capture(struct pytm_rawframe *out, uint32_t max, uint32_t *total)
{
    PyThreadState *ts = _PyThreadState_GET();
    uint32_t n = 0, depth = 0;
    if (ts == NULL || ts->cframe == NULL) {
        *total = 0;
        return 0;
    }
    for (_PyInterpreterFrame *f = ts->cframe->current_frame; f != NULL;
         f = f->previous) {
        if (_PyFrame_IsIncomplete(f))
            continue;
        if (n < max) {
            out[n].code = f->f_code;
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
    /* The thread holding the GIL is the runtime's current tstate; a thread
     * knows its own (auto) tstate through a TSS key. Both loads are
     * lock-free and allocation-free, and valid without a tstate.
     * (PyGILState_Check() would answer 1 whenever its check is disabled,
     * e.g. once a subinterpreter exists -- not safe for us.) */
    PyThreadState *cur = _PyThreadState_GET();
    if (cur == NULL)
        return false;
    return cur == PyGILState_GetThisThreadState();
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
pytm_frames_has_gil(void)
{
    return PyGILState_Check() != 0;
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
