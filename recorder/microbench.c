/* recorder/microbench: see microbench.h. */
#include "microbench.h"

#include <stdlib.h>
#include <time.h>

static double
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

PyObject *
pytm_microbench_free(PyObject *Py_UNUSED(mod), PyObject *args)
{
    Py_ssize_t n, size;
    if (!PyArg_ParseTuple(args, "nn:_bench_free", &n, &size))
        return NULL;
    if (n < 1 || size < 0)
        return PyErr_Format(PyExc_ValueError, "need n >= 1 and size >= 0");
    /* The pointer array itself comes from libc: not through the hooks. */
    void **v = malloc((size_t)n * sizeof(*v));
    if (v == NULL)
        return PyErr_NoMemory();
    double t0 = now_ns();
    for (Py_ssize_t i = 0; i < n; i++)
        v[i] = PyObject_Malloc((size_t)size);
    double t1 = now_ns();
    for (Py_ssize_t i = 0; i < n; i++)
        PyObject_Free(v[i]);
    double t2 = now_ns();
    free(v);
    return Py_BuildValue("(dd)", (t1 - t0) / (double)n, (t2 - t1) / (double)n);
}
