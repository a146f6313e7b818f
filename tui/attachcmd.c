/* tui/attachcmd: run `python -m pytm attach|detach PID` (see attachcmd.h). */
#include "attachcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int
pytm_attachcmd_run(const char *action, pid_t pid, bool quiet)
{
    const char *py = getenv("PYTM_PYTHON");
    if (!py || !py[0])
        py = "python3";
    char pidbuf[24];
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
    char *argv[] = {(char *)py, "-m", "pytm", (char *)action, pidbuf, NULL};
    pid_t child = fork();
    if (child < 0)
        return -1;
    if (child == 0) {
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                dup2(fd, 1);
                if (fd > 1)
                    close(fd);
            }
        }
        execvp(argv[0], argv);
        fprintf(stderr, "pytmtop: cannot run %s: %s\n", py, strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(child, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool
pytm_attachcmd_pid_exists(pid_t pid)
{
    char path[32];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    return stat(path, &st) == 0;
}
