/* attach/procmaps: parse /proc/PID/maps (see procmaps.h). */
#include "procmaps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach_error.h"

int
pytm_procmaps_parse_line(const char *line, struct pytm_procmaps_entry *out)
{
    /* start-end perms offset dev inode [path] */
    unsigned long long start, end, off;
    char perms[5];
    int n = 0;
    if (sscanf(line, "%llx-%llx %4s %llx %*x:%*x %*u%n", &start, &end, perms, &off, &n) != 4
        || n == 0 || end < start || strlen(perms) != 4)
        return -1;
    const char *p = line + n;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strcspn(p, "\n");
    if (len >= sizeof out->path)
        return -1;
    out->start = start;
    out->end = end;
    out->offset = off;
    memcpy(out->perms, perms, sizeof perms);
    memcpy(out->path, p, len);
    out->path[len] = '\0';
    return 0;
}

int
pytm_procmaps_read(pid_t pid, struct pytm_procmaps *m, char *msg, size_t msg_len)
{
    m->v = NULL;
    m->n = 0;
    char path[64];
    if (pid)
        snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    else
        snprintf(path, sizeof path, "/proc/self/maps");
    FILE *f = fopen(path, "re");
    if (!f) {
        int e = errno;
        snprintf(msg, msg_len, "cannot read %s: %s", path, strerror(e));
        return e == ENOENT || e == ESRCH ? PYTM_ATTACH_E_NOPROC
             : e == EACCES || e == EPERM ? PYTM_ATTACH_E_PERM : PYTM_ATTACH_E_IO;
    }
    size_t cap = 0;
    char line[PATH_MAX + 128];
    int err = 0;
    while (fgets(line, sizeof line, f)) {
        if (m->n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            void *nv = realloc(m->v, ncap * sizeof *m->v);
            if (!nv) {
                err = PYTM_ATTACH_E_NOMEM;
                snprintf(msg, msg_len, "out of memory reading %s", path);
                break;
            }
            m->v = nv;
            cap = ncap;
        }
        if (pytm_procmaps_parse_line(line, &m->v[m->n]) != 0) {
            err = PYTM_ATTACH_E_IO;
            snprintf(msg, msg_len, "%s: malformed line %zu", path, m->n + 1);
            break;
        }
        m->n++;
    }
    if (!err && ferror(f)) {
        err = PYTM_ATTACH_E_IO;
        snprintf(msg, msg_len, "cannot read %s: %s", path, strerror(errno));
    }
    fclose(f);
    if (!err && m->n == 0) {
        /* a zombie or a kernel thread has no mappings */
        err = PYTM_ATTACH_E_NOTPY;
        snprintf(msg, msg_len, "%s is empty (a zombie or a kernel thread?)", path);
    }
    if (err)
        pytm_procmaps_free(m);
    return err;
}

const struct pytm_procmaps_entry *
pytm_procmaps_find_base(const struct pytm_procmaps *m, const char *path)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].offset == 0 && strcmp(m->v[i].path, path) == 0)
            return &m->v[i];
    return NULL;
}

void
pytm_procmaps_free(struct pytm_procmaps *m)
{
    free(m->v);
    m->v = NULL;
    m->n = 0;
}
