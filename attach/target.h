/* attach/target: what we need to know about a process before injecting
 * anything into it: which file holds its interpreter, the CPython
 * version, and the addresses of the three things the injection uses.
 *
 * Only reads: /proc/PID/maps, /proc/PID/exe, the interpreter's ELF file
 * (through /proc/PID/root, so that a path is read as the target sees
 * it) and a few bytes of the target's memory (process_vm_readv). The
 * target is never stopped by a probe.
 */
#ifndef PYTM_ATTACH_TARGET_H
#define PYTM_ATTACH_TARGET_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pytm_target {
    pid_t pid;
    uint32_t version_hex;       /* Py_Version (PY_VERSION_HEX); 0 before 3.11,
                                   which does not export it */
    uint64_t add_pending_call;  /* Py_AddPendingCall, an address in the target */
    uint64_t run_simple_string; /* PyRun_SimpleString (int (*)(const char *)) */
    uint64_t syscall_insn;      /* address of a `syscall` (0f 05) in an
                                   executable mapping of the target */
    char lib[PATH_MAX];         /* the file exporting them, as the target
                                   names it (libpython3.X.so or the python
                                   executable itself) */
};

/* Fills t for process pid. Returns 0; PYTM_ATTACH_E_NOPROC;
 * PYTM_ATTACH_E_PERM (maps or memory unreadable to us);
 * PYTM_ATTACH_E_NOTPY (no mapped file exports Py_AddPendingCall and
 * PyRun_SimpleString); PYTM_ATTACH_E_ARCH (not x86_64);
 * PYTM_ATTACH_E_ELF / _IO / _NOMEM. msg says which file or address. */
int pytm_target_probe(pid_t pid, struct pytm_target *t, char *msg, size_t msg_len);

/* Copies len bytes at addr of pid into buf (process_vm_readv, then
 * /proc/PID/mem). Returns 0 or PYTM_ATTACH_E_IO / _PERM / _NOPROC. */
int pytm_target_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/* Is path (a maps path) the name of a CPython shared library
 * ("libpython3.*.so*")? */
int pytm_target_is_libpython(const char *path);

#endif /* PYTM_ATTACH_TARGET_H */
