/* recorder/api/snapdata_module: the pytm._snapdata module definition:
 * SnapData, DumpError and the table other pytm modules borrow
 * (snapdata_capi.h). Imported by pytm._snapshot and, untraced, by
 * pytm._recorder's first snapshot (snapdata_link.c). */
#include <Python.h>

#include "snapdata.h"

static int
snapdata_exec(PyObject *m)
{
    return pytm_snapdata_add_types(m);
}

static PyModuleDef_Slot snapdata_slots[] = {
    {Py_mod_exec, snapdata_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef snapdata_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pytm._snapdata",
    .m_doc = "pytm.Snapshot's C side (SnapData: statistics, compare_to, "
             "filter), imported on the first snapshot.",
    .m_size = 0,
    .m_slots = snapdata_slots,
};

PyMODINIT_FUNC
PyInit__snapdata(void)
{
    return PyModuleDef_Init(&snapdata_module);
}
