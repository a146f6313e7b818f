/* recorder/api/dumpio: the pytm._dumpio module definition (contract in
 * dumpio.h): binds pytm._snapdata's table and lists the functions. */
#define PY_SSIZE_T_CLEAN
#include "dumpio.h"

#include "snapdata_capi.h"

const struct pytm_snapdata_capi *pytm_dumpio_capi = NULL;

static int
dumpio_exec(PyObject *Py_UNUSED(m))
{
    if (pytm_dumpio_capi != NULL)
        return 0;
    const struct pytm_snapdata_capi *c = pytm_snapdata_capi_import(PyImport_Import);
    if (c == NULL)
        return -1;
    pytm_dumpio_capi = c;
    return 0;
}

static PyMethodDef dumpio_methods[] = {
    {"dump", pytm_dumpio_dump, METH_VARARGS,
     "dump(snapdata, path, attrs=None): write the .pytm format "
     "atomically; attrs is a JSON text saved alongside."},
    {"to_bytes", pytm_dumpio_to_bytes, METH_VARARGS,
     "to_bytes(snapdata, attrs=None): the .pytm encoding as bytes."},
    {"load", pytm_dumpio_load, METH_O,
     "load(path) -> SnapData; raises OSError or pytm.DumpError."},
    {"from_bytes", pytm_dumpio_from_bytes, METH_O,
     "from_bytes(buf) -> SnapData; raises pytm.DumpError."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot dumpio_slots[] = {
    {Py_mod_exec, dumpio_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef dumpio_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pytm._dumpio",
    .m_doc = "The .pytm dump codec for pytm._recorder.SnapData (the only "
             "part of pytm linked with liblz4), imported on first use.",
    .m_size = 0,
    .m_methods = dumpio_methods,
    .m_slots = dumpio_slots,
};

PyMODINIT_FUNC
PyInit__dumpio(void)
{
    return PyModuleDef_Init(&dumpio_module);
}
