/* attach/target: locate the interpreter of a process (see target.h). */
#define _GNU_SOURCE
#include "target.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "attach_error.h"
#include "elfsym.h"
#include "procmaps.h"

#define SCAN_MAX (4u << 20) /* bytes of code searched for a syscall */
#define SCAN_CHUNK (64u << 10)

int
pytm_target_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
    struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n == (ssize_t)len)
        return 0;
    if (n < 0 && errno == ESRCH)
        return PYTM_ATTACH_E_NOPROC;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? PYTM_ATTACH_E_NOPROC
             : errno == EACCES || errno == EPERM ? PYTM_ATTACH_E_PERM : PYTM_ATTACH_E_IO;
    n = pread(fd, buf, len, (off_t)addr);
    close(fd);
    return n == (ssize_t)len ? 0 : PYTM_ATTACH_E_IO;
}

static const char *
base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int
pytm_target_is_libpython(const char *path)
{
    const char *b = base_name(path);
    return strncmp(b, "libpython3.", 11) == 0 && strstr(b, ".so") != NULL;
}

/* Tries one mapped file: 1 when it exports what we need (t filled),
 * 0 when it does not, or a negative error. */
static int
try_file(const struct pytm_procmaps *m, const char *path, struct pytm_target *t,
         char *msg, size_t msg_len)
{
    if (strstr(path, " (deleted)"))
        return 0;
    const struct pytm_procmaps_entry *base = pytm_procmaps_find_base(m, path);
    if (!base)
        return 0;
    char file[PATH_MAX + 32];
    snprintf(file, sizeof file, "/proc/%d/root%s", (int)t->pid, path);
    struct pytm_elfsym e;
    int err = pytm_elfsym_open(file, &e, msg, msg_len);
    if (err)
        return err == PYTM_ATTACH_E_NOSYM ? 0 : err;
    uint64_t apc, apc_size, run, run_size, ver = 0, ver_size = 0;
    int found = pytm_elfsym_lookup(&e, "Py_AddPendingCall", &apc, &apc_size) == 0
             && pytm_elfsym_lookup(&e, "PyRun_SimpleString", &run, &run_size) == 0;
    int has_version = found && pytm_elfsym_lookup(&e, "Py_Version", &ver, &ver_size) == 0;
    uint16_t machine = e.machine;
    uint64_t bias = base->start - e.load0_vaddr;
    pytm_elfsym_close(&e);
    if (!found)
        return 0;
    if (machine != EM_X86_64) {
        snprintf(msg, msg_len, "%s is not an x86_64 binary (e_machine %u)", path, machine);
        return PYTM_ATTACH_E_ARCH;
    }
    t->add_pending_call = bias + apc;
    t->run_simple_string = bias + run;
    t->version_hex = 0;
    if (has_version) {
        uint32_t v[2] = {0, 0}; /* `const unsigned long Py_Version` */
        err = pytm_target_read(t->pid, bias + ver, v, ver_size == 4 ? 4 : 8);
        if (err) {
            snprintf(msg, msg_len, "cannot read Py_Version at 0x%llx in %s",
                     (unsigned long long)(bias + ver), path);
            return err;
        }
        t->version_hex = v[0];
    }
    snprintf(t->lib, sizeof t->lib, "%s", path);
    return 1;
}

static int
find_syscall(const struct pytm_procmaps *m, struct pytm_target *t)
{
    unsigned char *buf = malloc(SCAN_CHUNK + 1);
    if (!buf)
        return PYTM_ATTACH_E_NOMEM;
    /* pass 0: libc's code (it has many syscall instructions); pass 1:
     * any executable file mapping */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < m->n; i++) {
            const struct pytm_procmaps_entry *e = &m->v[i];
            if (e->perms[2] != 'x' || e->path[0] != '/')
                continue;
            if (pass == 0 && strncmp(base_name(e->path), "libc", 4) != 0)
                continue;
            uint64_t len = e->end - e->start;
            if (len > SCAN_MAX)
                len = SCAN_MAX;
            /* chunks overlap by one byte so that a 0f 05 across a chunk
             * boundary is found */
            for (uint64_t off = 0; off + 1 < len; off += SCAN_CHUNK) {
                size_t n = len - off > SCAN_CHUNK + 1 ? SCAN_CHUNK + 1 : (size_t)(len - off);
                if (pytm_target_read(t->pid, e->start + off, buf, n) != 0)
                    break;
                unsigned char *hit = memmem(buf, n, "\x0f\x05", 2);
                if (hit) {
                    t->syscall_insn = e->start + off + (uint64_t)(hit - buf);
                    free(buf);
                    return 0;
                }
            }
        }
    }
    free(buf);
    return PYTM_ATTACH_E_NOSYM;
}

int
pytm_target_probe(pid_t pid, struct pytm_target *t, char *msg, size_t msg_len)
{
    memset(t, 0, sizeof *t);
    t->pid = pid;
    msg[0] = '\0';
    struct pytm_procmaps m;
    int err = pytm_procmaps_read(pid, &m, msg, msg_len);
    if (err)
        return err;
    char exe[64], exe_path[PATH_MAX] = "";
    snprintf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(exe, exe_path, sizeof exe_path - 1);
    if (n > 0)
        exe_path[n] = '\0';
    /* libpython first (a --enable-shared build, or an embedding
     * program), then the executable (a static build, e.g. Debian's) */
    int found = 0;
    for (size_t i = 0; i < m.n && !found; i++) {
        if (m.v[i].offset != 0 || !pytm_target_is_libpython(m.v[i].path))
            continue;
        found = try_file(&m, m.v[i].path, t, msg, msg_len);
        if (found < 0) {
            err = found;
            goto out;
        }
    }
    if (!found && exe_path[0]) {
        found = try_file(&m, exe_path, t, msg, msg_len);
        if (found < 0) {
            err = found;
            goto out;
        }
    }
    if (!found) {
        snprintf(msg, msg_len,
                 "no libpython3.*.so or executable (%s) mapped by PID %d exports "
                 "Py_AddPendingCall", exe_path[0] ? exe_path : "?", (int)pid);
        err = PYTM_ATTACH_E_NOTPY;
        goto out;
    }
    err = find_syscall(&m, t);
    if (err)
        snprintf(msg, msg_len, "no syscall instruction found in the code of PID %d",
                 (int)pid);
out:
    pytm_procmaps_free(&m);
    return err;
}
