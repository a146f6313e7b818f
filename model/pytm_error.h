/* model/pytm_error: pytm error codes: one X-macro table gives the enum, the names and the
 * messages. Library functions return 0 on success or a negative
 * PYTM_E_* code; pytm_strerror() turns it into a one-line message. */
#ifndef PYTM_ERROR_H
#define PYTM_ERROR_H

#define PYTM_ERRORS(X)                                                      \
    X(OK, 0, "success")                                                     \
    X(NOMEM, 1, "out of memory")                                            \
    X(IO, 2, "input/output error (see errno)")                             \
    X(EXISTS, 3, "an arena with this name already exists")                 \
    X(NOENT, 4, "no pytm arena found for this process")                    \
    X(PERM, 5, "arena belongs to another user")                            \
    X(MAGIC, 6, "not a pytm arena (bad magic)")                            \
    X(VERSION, 7, "arena layout version not supported")                    \
    X(ENDIAN, 8, "arena written with another byte order")                  \
    X(CORRUPT, 9, "arena is corrupt (a size or offset is out of bounds, "  \
                  "or published data lies in a hole of the file)")        \
    X(FULL, 10, "arena section is full")                                   \
    X(INVAL, 11, "invalid argument")                                       \
    X(NOTREADY, 12, "arena is still being created")                        \
    X(TRUNCATED, 13, "file is truncated")                                  \
    X(FORMAT, 14, "not a pytm dump (bad magic)")                           \
    X(DUMPVER, 15, "dump format version not supported")                    \
    X(DUMPCORRUPT, 16, "dump is corrupt")                                  \
    X(LZ4, 17, "LZ4 decompression failed")                                 \
    X(TOOBIG, 18, "a count in the file exceeds the allowed limit")

enum pytm_error {
#define PYTM_ERROR_ENUM(name, num, msg) PYTM_E_##name = -(num),
    PYTM_ERRORS(PYTM_ERROR_ENUM)
#undef PYTM_ERROR_ENUM
};

/* Returns a static, NUL-terminated one-line message for a PYTM_E_* code
 * (or for an unknown code, "unknown error"). Never NULL. */
const char *pytm_strerror(int err);

/* Returns the short name of a code ("CORRUPT"), or "UNKNOWN". */
const char *pytm_error_name(int err);

#endif /* PYTM_ERROR_H */
