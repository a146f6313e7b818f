/* recorder/core/frames: Python frame capture and the few CPython internals the
 * recorder depends on, behind a version gate.
 *
 * CPython 3.11, 3.12 and 3.13: reads the thread's _PyInterpreterFrame
 * chain directly (Py_BUILD_CORE + internal/pycore_frame.h), like the
 * stdlib's Modules/_tracemalloc.c: no frame object is created, no
 * reference is taken, nothing is allocated. Other versions, the
 * free-threaded build and -DPYTM_FRAMES_PUBLIC_API: the public API
 * (PyEval_GetFrame / PyFrame_GetBack / PyFrame_GetCode /
 * PyFrame_GetLineNumber), which may allocate frame objects -- the
 * recorder's reentrancy guard makes those allocations pass untraced.
 *
 * Everything here except pytm_frames_has_gil() and
 * pytm_frames_in_main_interp() requires the GIL.
 */
#ifndef PYTM_RECORDER_FRAMES_H
#define PYTM_RECORDER_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tables.h" /* struct pytm_rawframe */

/* Largest total_nframe recorded (tracemalloc's cap). */
#define PYTM_FRAMES_MAX_TOTAL 65535u

/* Captures the calling thread's stack, most recent first, skipping
 * frames that have not started executing yet (as tracemalloc does):
 * stores at most `max` frames into out[] as (code object, instruction
 * index) and the full depth (capped at PYTM_FRAMES_MAX_TOTAL) into
 * *total. Returns the number stored (0: no Python frame).
 * GIL held; borrowed code pointers stay valid while the frames run. */
uint32_t pytm_frames_capture(struct pytm_rawframe *out, uint32_t max,
                             uint32_t *total);

/* Line number of a captured frame (0 when unknown), computed like
 * tracemalloc: PyCode_Addr2Line on the frame's last instruction. GIL
 * held, f->code alive. */
uint32_t pytm_frames_lineno(const struct pytm_rawframe *f);

/* The code object's co_filename as UTF-8 without allocating through
 * Python: points into the str object when it is ASCII or has a cached
 * UTF-8 form, else encodes into scratch (lone surrogates become '?',
 * truncated to scratch_size). "<unknown>" when co_filename is not a
 * ready str. Valid while the code object lives. GIL held. */
const char *pytm_frames_filename(const void *code, size_t *len, char *scratch,
                                 size_t scratch_size);

/* Strong reference management for cached code objects (GIL held). */
void pytm_frames_code_incref(const void *code);
void pytm_frames_code_decref(const void *code);

/* True when the calling thread holds the GIL that protects the
 * recorder's tables: 3.11, the one GIL; 3.12+, the main interpreter's
 * (PEP 684 gives other interpreters GILs of their own). Callable without
 * a thread state and without the GIL: never blocks, never allocates. */
bool pytm_frames_has_gil(void);

/* True when the calling thread runs in the main interpreter (3.11:
 * always true -- one GIL serialises every interpreter). Called from a
 * MEM/OBJ hook, i.e. with the calling interpreter's GIL held; never
 * blocks, never allocates. */
bool pytm_frames_in_main_interp(void);

/* Start of the memory block holding `obj` (a PyObject *): in 3.11 the
 * block begins _PyType_PreHeaderSize() bytes before the object (GC
 * header, managed-dict pre-header). GIL held. */
void *pytm_frames_object_block(void *obj);

#endif /* PYTM_RECORDER_FRAMES_H */
