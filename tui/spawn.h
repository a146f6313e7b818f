/* tui/spawn: `pytmtop -- python script.py args` starts the child as
 * `python -m pytm run script.py args` (argv[0] is the interpreter) and
 * waits for its arena. */
#ifndef PYTM_TUI_SPAWN_H
#define PYTM_TUI_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "source.h"

/* Forks and execs argv[0] -m pytm run argv[1..] (argv NULL-terminated,
 * argc >= 1). When quiet, the child's stdin/stdout/stderr go to
 * /dev/null (the screen belongs to pytmtop). Returns the child's pid, or
 * -1 with errno set. */
pid_t pytm_spawn_start(char **argv, bool quiet);

/* Attaches src to the child's arena, retrying every 20 ms for up to
 * timeout_ms. Returns 0; PYTM_E_NOENT when the child exited first or the
 * time ran out (then *exit_status holds the child's wait status or -1);
 * another PYTM_E_* from the reader. */
int pytm_spawn_attach(struct pytm_source *src, pid_t child, int timeout_ms,
                      int *exit_status);

/* --once in spawn mode: the arena appears as soon as the child's
 * `python -m pytm run` starts tracing, before the script has allocated
 * anything, so the first snapshot is nearly empty. This waits one
 * refresh interval (wait_ms), re-reading src every 50 ms so that src
 * holds the last snapshot taken while the child was alive, and returns
 * early when the child exits. Returns true when the child has exited
 * (and was reaped here: the caller must not signal it any more). */
bool pytm_spawn_settle(struct pytm_source *src, pid_t child, int wait_ms);

/* Non-blocking: true once the child has exited (reaped here). */
bool pytm_spawn_exited(pid_t child);

/* Stops a child we started and reaps it: SIGINT (Python unwinds and
 * removes its arena), then SIGTERM after 2 s, SIGKILL after 4 s. */
void pytm_spawn_stop(pid_t child);

#endif /* PYTM_TUI_SPAWN_H */
