/* tui/spawn: start a script under the recorder and attach to it. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pytm_error.h"

pid_t
pytm_spawn_start(char **argv, bool quiet)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    if (argc < 1) {
        errno = EINVAL;
        return -1;
    }
    char **cargv = calloc((size_t)argc + 4, sizeof *cargv);
    if (!cargv)
        return -1;
    cargv[0] = argv[0];
    cargv[1] = "-m";
    cargv[2] = "pytm";
    cargv[3] = "run";
    for (int i = 1; i < argc; i++)
        cargv[3 + i] = argv[i];
    pid_t pid = fork();
    if (pid == 0) {
        if (quiet) {
            int fd = open("/dev/null", O_RDWR);
            if (fd >= 0) {
                dup2(fd, 0);
                dup2(fd, 1);
                dup2(fd, 2);
                if (fd > 2)
                    close(fd);
            }
        }
        execvp(cargv[0], cargv);
        _exit(127);
    }
    int saved = errno;
    free(cargv);
    errno = saved;
    return pid;
}

bool
pytm_spawn_exited(pid_t child)
{
    int st;
    pid_t r = waitpid(child, &st, WNOHANG);
    return r == child || (r < 0 && errno == ECHILD);
}

int
pytm_spawn_attach(struct pytm_source *src, pid_t child, int timeout_ms,
                  int *exit_status)
{
    *exit_status = -1;
    int err = PYTM_E_NOENT;
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        err = pytm_source_open_pid(src, child);
        if (err == 0)
            return 0;
        if (err != PYTM_E_NOENT && err != PYTM_E_NOTREADY)
            return err;
        int st;
        if (waitpid(child, &st, WNOHANG) == child) {
            *exit_status = st;
            return PYTM_E_NOENT;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    return err;
}

bool
pytm_spawn_settle(struct pytm_source *src, pid_t child, int wait_ms)
{
    for (int waited = 0; waited < wait_ms; waited += 50) {
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
        if (pytm_spawn_exited(child)) {
            /* keep the snapshot of the last poll: the arena may now show
             * the interpreter's teardown */
            src->exited = true;
            src->snap.meta.flags |= PYTM_SNAP_EXITED;
            return true;
        }
        pytm_source_refresh(src); /* a failed read keeps the previous one */
    }
    return false;
}

void
pytm_spawn_stop(pid_t child)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGKILL};
    for (int k = 0; k < 3; k++) {
        if (kill(child, sigs[k]) != 0)
            break;
        for (int i = 0; i < 100; i++) {
            int st;
            pid_t r = waitpid(child, &st, WNOHANG);
            if (r == child || (r < 0 && errno == ECHILD))
                return;
            struct timespec ts = {0, 20 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    waitpid(child, NULL, WNOHANG);
}
