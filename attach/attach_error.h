/* attach/attach_error: error codes of the attach layer (elfsym, procmaps,
 * target, inject). One X-macro table gives the enum and the names.
 * Every function of the layer returns 0 or a negative PYTM_ATTACH_E_*;
 * where it takes a `char *msg, size_t msg_len` pair, it also writes one
 * line saying what was wrong (which file, which address, which errno). */
#ifndef PYTM_ATTACH_ERROR_H
#define PYTM_ATTACH_ERROR_H

#define PYTM_ATTACH_ERRORS(X)                                              \
    X(OK, 0, "success")                                                    \
    X(NOPROC, 1, "no such process")                                        \
    X(PERM, 2, "operation not permitted")                                  \
    X(IO, 3, "input/output error")                                         \
    X(ELF, 4, "malformed ELF file")                                        \
    X(NOSYM, 5, "symbol not found")                                        \
    X(NOTPY, 6, "not a CPython process")                                   \
    X(ARCH, 7, "unsupported architecture")                                 \
    X(STOPPED, 8, "process is stopped")                                    \
    X(TIMEOUT, 9, "timed out")                                             \
    X(PTRACE, 10, "ptrace failed")                                         \
    X(NOMEM, 11, "out of memory")

enum pytm_attach_error {
#define PYTM_ATTACH_ERROR_ENUM(e, v, text) PYTM_ATTACH_E_##e = -(v),
    PYTM_ATTACH_ERRORS(PYTM_ATTACH_ERROR_ENUM)
#undef PYTM_ATTACH_ERROR_ENUM
};

/* Static text of a PYTM_ATTACH_E_* code (0 or negative); never NULL. */
const char *pytm_attach_strerror(int err);

/* Its name without the prefix ("NOPROC"), for the Python layer. */
const char *pytm_attach_errname(int err);

#endif /* PYTM_ATTACH_ERROR_H */
