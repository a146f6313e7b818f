#include "pytm_error.h"

#include <stddef.h>

const char *
pytm_strerror(int err)
{
    switch (err) {
#define PYTM_ERROR_MSG(name, num, msg) \
    case -(num):                       \
        return msg;
        PYTM_ERRORS(PYTM_ERROR_MSG)
#undef PYTM_ERROR_MSG
    }
    return "unknown error";
}

const char *
pytm_error_name(int err)
{
    switch (err) {
#define PYTM_ERROR_NAME(name, num, msg) \
    case -(num):                        \
        return #name;
        PYTM_ERRORS(PYTM_ERROR_NAME)
#undef PYTM_ERROR_NAME
    }
    return "UNKNOWN";
}
