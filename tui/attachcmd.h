/* tui/attachcmd: `pytmtop -p PID --attach` runs `python -m pytm attach
 * PID` before opening the arena (and `detach` when it quits), and
 * `pytmtop -p PID` on an untraced process prints a hint. pytmtop never
 * injects anything itself: the Python command owns every check and
 * refusal (recorder/pytm/attach.py). */
#ifndef PYTM_TUI_ATTACHCMD_H
#define PYTM_TUI_ATTACHCMD_H

#include <stdbool.h>
#include <sys/types.h>

/* Runs `$PYTM_PYTHON -m pytm ACTION PID` (PYTM_PYTHON defaults to
 * python3, found in PATH) with our stdin/stderr; its stdout goes to
 * /dev/null when quiet (its refusals are on stderr). action is "attach"
 * or "detach". Returns its exit status, or -1 (errno set) when it could
 * not be started or was killed. */
int pytm_attachcmd_run(const char *action, pid_t pid, bool quiet);

/* True when a process pid exists (/proc/PID). */
bool pytm_attachcmd_pid_exists(pid_t pid);

#endif /* PYTM_TUI_ATTACHCMD_H */
