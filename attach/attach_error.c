/* attach/attach_error: names and texts of PYTM_ATTACH_E_*. */
#include "attach_error.h"

const char *
pytm_attach_strerror(int err)
{
    switch (err) {
#define PYTM_ATTACH_ERROR_TEXT(e, v, text) \
    case -(v):                             \
        return text;
        PYTM_ATTACH_ERRORS(PYTM_ATTACH_ERROR_TEXT)
#undef PYTM_ATTACH_ERROR_TEXT
    }
    return "unknown attach error";
}

const char *
pytm_attach_errname(int err)
{
    switch (err) {
#define PYTM_ATTACH_ERROR_NAME(e, v, text) \
    case -(v):                             \
        return #e;
        PYTM_ATTACH_ERRORS(PYTM_ATTACH_ERROR_NAME)
#undef PYTM_ATTACH_ERROR_NAME
    }
    return "UNKNOWN";
}
