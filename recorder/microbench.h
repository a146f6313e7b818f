/* recorder/microbench: a C micro-benchmark of the allocator path as the
 * interpreter sees it (PyObject_Malloc / PyObject_Free through whatever
 * hooks are installed), so the cost per call of the hooks can be
 * measured without the noise of running Python code. Diagnostic only.
 */
#ifndef PYTM_RECORDER_MICROBENCH_H
#define PYTM_RECORDER_MICROBENCH_H

#include <Python.h>

/* _recorder._bench_free(n, size) -> (ns per alloc, ns per free): n blocks
 * of `size` bytes allocated, then freed in allocation order. GIL held. */
PyObject *pytm_microbench_free(PyObject *mod, PyObject *args);

#endif /* PYTM_RECORDER_MICROBENCH_H */
