/* recorder/api/snapdata_link.h: SnapData objects made from pytm._recorder,
 * whose type lives in pytm._snapdata (snapdata_capi.h says why). */
#ifndef PYTM_RECORDER_SNAPDATA_LINK_H
#define PYTM_RECORDER_SNAPDATA_LINK_H

#include <Python.h>

struct pytm_snap;

/* pytm_snapdata_wrap (snapdata.h: moves *s, which must have passed
 * pytm_snap_validate, into a new SnapData) reached through pytm._snapdata,
 * which it imports on first use with this thread's allocations untraced
 * (untraced.h). On failure (the import too) *s is freed and empty.
 * Returns a new reference, or NULL with an exception. Needs the GIL. */
PyObject *pytm_snapdata_link_wrap(struct pytm_snap *s);

#endif /* PYTM_RECORDER_SNAPDATA_LINK_H */
