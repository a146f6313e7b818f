/* bench/hook/benchhook.c: PEP 445 hooks for the benchmark harness only.
 *
 * Two modes, never both at once:
 *   passthrough  hooks on RAW, MEM and OBJ that forward to the allocator
 *                they replaced and do nothing else: the cost of having any
 *                PEP 445 hook at all (one indirect call more per request).
 *   count        the same, plus a relaxed atomic increment per allocation
 *                request (malloc, calloc and realloc; a realloc counts as
 *                one allocation, as tracemalloc counts it as one new trace).
 *                Used once per workload to learn how many allocations it
 *                makes, the denominator of "ns per allocation".
 *
 * It also carries bench_free(n, size), a micro-benchmark of whatever
 * hooks are installed (pytm's included): n PyObject_Malloc then n
 * PyObject_Free of `size` bytes, timed apart.
 *
 * Not part of pytm: built by bench/run with the system C compiler into
 * bench/.venv; has no pytm symbols, so it cannot influence pytm's numbers.
 *
 * Thread-safety: start()/stop() run with the GIL held (module functions).
 * RAW hooks may run without the GIL, so the counters are atomics; the
 * saved allocators are written only in start() before the hooks are
 * installed and read by the hooks afterwards (installation happens with
 * the GIL held and every other thread that could allocate through our
 * hooks first has to acquire the GIL or see the new table published by
 * PyMem_SetAllocator, so they observe the saved values).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

/* Protected by the GIL (written in start/stop only). */
static PyMemAllocatorEx saved[3];
static int active_mode; /* 0 off, 1 passthrough, 2 count */

/* Atomics: incremented by the hooks on any thread, read by counts(). */
static atomic_ullong n_alloc[3];

static const PyMemAllocatorDomain domains[3] = {
    PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};

#define SAVED(ctx) ((PyMemAllocatorEx *)(ctx))
#define DOMAIN_INDEX(ctx) ((int)(SAVED(ctx) - saved))

static void *
pt_malloc(void *ctx, size_t size)
{
    return SAVED(ctx)->malloc(SAVED(ctx)->ctx, size);
}

static void *
pt_calloc(void *ctx, size_t nelem, size_t elsize)
{
    return SAVED(ctx)->calloc(SAVED(ctx)->ctx, nelem, elsize);
}

static void *
pt_realloc(void *ctx, void *ptr, size_t size)
{
    return SAVED(ctx)->realloc(SAVED(ctx)->ctx, ptr, size);
}

static void
pt_free(void *ctx, void *ptr)
{
    SAVED(ctx)->free(SAVED(ctx)->ctx, ptr);
}

static inline void
bump(void *ctx)
{
    atomic_fetch_add_explicit(&n_alloc[DOMAIN_INDEX(ctx)], 1,
                              memory_order_relaxed);
}

static void *
ct_malloc(void *ctx, size_t size)
{
    bump(ctx);
    return pt_malloc(ctx, size);
}

static void *
ct_calloc(void *ctx, size_t nelem, size_t elsize)
{
    bump(ctx);
    return pt_calloc(ctx, nelem, elsize);
}

static void *
ct_realloc(void *ctx, void *ptr, size_t size)
{
    bump(ctx);
    return pt_realloc(ctx, ptr, size);
}

static PyObject *
install(int mode)
{
    if (active_mode != 0) {
        PyErr_SetString(PyExc_RuntimeError, "benchhook already started");
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        atomic_store_explicit(&n_alloc[i], 0, memory_order_relaxed);
        PyMem_GetAllocator(domains[i], &saved[i]);
    }
    for (int i = 0; i < 3; i++) {
        PyMemAllocatorEx hook = {
            .ctx = &saved[i],
            .malloc = mode == 2 ? ct_malloc : pt_malloc,
            .calloc = mode == 2 ? ct_calloc : pt_calloc,
            .realloc = mode == 2 ? ct_realloc : pt_realloc,
            .free = pt_free,
        };
        PyMem_SetAllocator(domains[i], &hook);
    }
    active_mode = mode;
    Py_RETURN_NONE;
}

static PyObject *
start_passthrough(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return install(1);
}

static PyObject *
start_count(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return install(2);
}

static PyObject *
stop(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (active_mode != 0) {
        for (int i = 0; i < 3; i++)
            PyMem_SetAllocator(domains[i], &saved[i]);
        active_mode = 0;
    }
    Py_RETURN_NONE;
}

static PyObject *
counts(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    unsigned long long c[3];
    for (int i = 0; i < 3; i++)
        c[i] = atomic_load_explicit(&n_alloc[i], memory_order_relaxed);
    return Py_BuildValue("{sKsKsKsK}", "raw", c[0], "mem", c[1], "obj", c[2],
                         "total", c[0] + c[1] + c[2]);
}

static double
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static PyObject *
bench_free(PyObject *self, PyObject *args)
{
    (void)self;
    Py_ssize_t n, size;
    if (!PyArg_ParseTuple(args, "nn:bench_free", &n, &size))
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

static PyMethodDef methods[] = {
    {"start_passthrough", start_passthrough, METH_NOARGS,
     "Install forwarding-only hooks on RAW, MEM and OBJ."},
    {"start_count", start_count, METH_NOARGS,
     "Install hooks that count allocation requests (zeroes the counters)."},
    {"stop", stop, METH_NOARGS, "Restore the saved allocators."},
    {"counts", counts, METH_NOARGS,
     "Allocation requests seen per domain since start_count()."},
    {"bench_free", bench_free, METH_VARARGS,
     "bench_free(n, size) -> (ns per alloc, ns per free) through "
     "PyObject_Malloc/PyObject_Free with whatever hooks are installed."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "benchhook",
    "PEP 445 pass-through and counting hooks for bench/ (not part of pytm).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit_benchhook(void)
{
    return PyModule_Create(&module);
}
