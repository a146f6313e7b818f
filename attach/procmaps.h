/* attach/procmaps: the mappings of a process, from /proc/PID/maps.
 *
 * The text comes from the kernel, but the paths in it are chosen by the
 * target (any file name, even one with spaces or " (deleted)"), so each
 * line is parsed with bounds and a malformed line is an error, not a
 * guess.
 */
#ifndef PYTM_ATTACH_PROCMAPS_H
#define PYTM_ATTACH_PROCMAPS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pytm_procmaps_entry {
    uint64_t start, end;   /* [start, end) */
    uint64_t offset;       /* file offset of start */
    char perms[5];         /* "r-xp" */
    char path[PATH_MAX];   /* "" for anonymous mappings; may end " (deleted)" */
};

struct pytm_procmaps {
    struct pytm_procmaps_entry *v; /* owned */
    size_t n;
};

/* Reads /proc/PID/maps (pid 0: our own). Returns 0,
 * PYTM_ATTACH_E_NOPROC (no such process), PYTM_ATTACH_E_PERM,
 * PYTM_ATTACH_E_IO (a malformed line; msg says which) or
 * PYTM_ATTACH_E_NOMEM. On failure m owns nothing. */
int pytm_procmaps_read(pid_t pid, struct pytm_procmaps *m, char *msg, size_t msg_len);

/* Parses one line of the maps format into *out. Returns 0 or -1. */
int pytm_procmaps_parse_line(const char *line, struct pytm_procmaps_entry *out);

/* The first mapping of path with file offset 0, or NULL. */
const struct pytm_procmaps_entry *pytm_procmaps_find_base(const struct pytm_procmaps *m,
                                                          const char *path);

void pytm_procmaps_free(struct pytm_procmaps *m);

#endif /* PYTM_ATTACH_PROCMAPS_H */
