/* shm/arena_proc.c: process start time from /proc, shared by the writer
 * (recorded in the header) and the reader (compared to tell a live
 * process from a reused PID).
 */
#include "arena.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pytm_error.h"

int
pytm_proc_start_ticks(pid_t pid, uint64_t *ticks)
{
    char path[64];
    char buf[4096];
    if (pid <= 0 || !ticks)
        return PYTM_E_INVAL;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? PYTM_E_NOENT : PYTM_E_IO;
    size_t n = 0;
    while (n < sizeof buf - 1) {
        ssize_t k = read(fd, buf + n, sizeof buf - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and ')', so
     * fields are counted from the last ')'. Field 3 (state) follows it;
     * starttime is field 22, i.e. 19 more fields after state. */
    char *p = strrchr(buf, ')');
    if (!p)
        return PYTM_E_IO;
    p++;
    for (int field = 3; field < 22; field++) {
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;
        if (!*p)
            return PYTM_E_IO;
    }
    while (*p == ' ')
        p++;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || errno != 0)
        return PYTM_E_IO;
    *ticks = v;
    return 0;
}
