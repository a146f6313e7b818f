/* recorder/api/snapdata_link: pytm._recorder's side of pytm._snapdata
 * (contract in snapdata_link.h). */
#include "snapdata_link.h"

#include "snap.h"
#include "snapdata_capi.h"
#include "untraced.h"

/* Set once on the first wrap, then read-only; the GIL protects it. */
static const struct pytm_snapdata_capi *capi;

PyObject *
pytm_snapdata_link_wrap(struct pytm_snap *s)
{
    if (capi == NULL)
        capi = pytm_snapdata_capi_import(pytm_import_untraced);
    if (capi == NULL) {
        pytm_snap_free(s);
        return NULL;
    }
    return capi->wrap(s);
}
