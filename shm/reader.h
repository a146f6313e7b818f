/* shm/reader: the read side of the arena, for other processes.
 *
 * Attaches read-only (O_RDONLY, PROT_READ) to a traced process's arena,
 * validates it as hostile input, and copies it into a struct pytm_snap.
 * Never writes to the arena, never takes a lock the writer could wait on,
 * never crashes on a corrupt or truncated object: every offset, count
 * and length is checked before use, and the object's size is re-checked
 * (fstat) before every read so a shrinking file cannot fault us.
 */
#ifndef PYTM_SHM_READER_H
#define PYTM_SHM_READER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pytm/arena_layout.h"
#include "snap.h"

struct pytm_reader;

/* Why an arena looks the way it does, for --list and status lines:
 * X(enum suffix, value, name shown to users, meaning). */
#define PYTM_READER_LIVENESS(X)                                            \
    X(RUNNING, 0, "running", "state RUNNING and the process is alive")     \
    X(STOPPED, 1, "stopped", "tracing stopped, arena kept")                \
    X(EXITED, 2, "exited",                                                 \
      "process exited (cleanly, or killed: state RUNNING but the PID is "  \
      "dead or reused)")

enum pytm_reader_liveness {
#define PYTM_READER_LIVENESS_ENUM(e, v, name, meaning) PYTM_LIVE_##e = v,
    PYTM_READER_LIVENESS(PYTM_READER_LIVENESS_ENUM)
#undef PYTM_READER_LIVENESS_ENUM
};

/* "running", "stopped", "exited"; "unknown" for any other value. */
const char *pytm_reader_liveness_name(enum pytm_reader_liveness l);

/* Attaches to the newest arena of `pid` under shm_dir (NULL: /dev/shm):
 * pytm-<pid>, pytm-<pid>-1 ... pytm-<pid>-9.
 * Refuses an object owned by another uid unless the caller is root
 * (PYTM_E_PERM), one that is not a regular file or is a symlink
 * (PYTM_E_NOENT), and any header that fails validation (PYTM_E_MAGIC,
 * _VERSION, _ENDIAN, _CORRUPT, _NOTREADY).
 * On success *out is set and 0 returned; otherwise *out is NULL. */
int pytm_reader_open_pid(pid_t pid, const char *shm_dir,
                         struct pytm_reader **out);

/* Same, for an explicit path to an arena object. */
int pytm_reader_open_path(const char *path, struct pytm_reader **out);

/* Unmaps and frees. Safe on NULL. */
void pytm_reader_close(struct pytm_reader *r);

/* Copies the arena's current state into *out (which is freed and
 * re-initialised first). Tables are read up to their published counters
 * (acquire); entries that fail validation make the whole call fail with
 * PYTM_E_CORRUPT and leave *out empty. Aggregates are relaxed reads:
 * see arena_layout.h. The result passes pytm_snap_validate.
 * Cost: proportional to strings + frames + tracebacks, no traces[]. */
int pytm_reader_snap(struct pytm_reader *r, struct pytm_snap *out);

/* Header identity, valid while attached. */
int64_t pytm_reader_pid(const struct pytm_reader *r);
const char *pytm_reader_path(const struct pytm_reader *r);
uint64_t pytm_reader_arena_size(const struct pytm_reader *r);
uint64_t pytm_reader_sample_interval(const struct pytm_reader *r);
uint32_t pytm_reader_nframe(const struct pytm_reader *r);
/* The process tree the arena belongs to (PYTM_ARENA_FLAG_TREE): fills
 * *root, *root_ticks, *parent (0 for the root) and returns true; false
 * (outputs 0) for an arena outside any tree. */
bool pytm_reader_tree(const struct pytm_reader *r, int64_t *root,
                      uint64_t *root_ticks, int64_t *parent);

/* Running, stopped or exited (checks the PID and its start time). */
enum pytm_reader_liveness pytm_reader_liveness(struct pytm_reader *r);

/* One arena found by pytm_reader_list. */
struct pytm_reader_entry {
    char path[256];
    int64_t pid;
    uint64_t uid;
    uint64_t arena_size;
    uint64_t start_realtime_ns;
    uint64_t stop_realtime_ns;
    enum pytm_reader_liveness liveness;
    bool tree;                      /* PYTM_ARENA_FLAG_TREE: the three */
    int64_t tree_root_pid;          /* fields below are valid (else 0) */
    int64_t parent_pid;
    uint64_t tree_root_start_ticks;
    uint64_t proc_start_ticks;
    char cmdline[PYTM_ARENA_CMDLINE_MAX];
};

/* Lists the arenas under shm_dir (NULL: /dev/shm) that the caller may
 * read (own uid, or any when root) and that pass header validation.
 * *out is a malloc'd array of *n entries (free() it); 0 or PYTM_E_*. */
int pytm_reader_list(const char *shm_dir, struct pytm_reader_entry **out,
                     size_t *n);

/* Removes arenas under shm_dir whose process is gone (EXITED liveness,
 * or STOPPED with a dead PID), never one whose process is alive.
 * Returns the number removed, or a negative PYTM_E_*. */
int pytm_reader_clean(const char *shm_dir);

/* Removes the arenas under shm_dir of the process tree whose root is
 * (root_pid, root_ticks) (PYTM_ARENA_FLAG_TREE, same tree_root_pid and
 * tree_root_start_ticks), except the root's own arena, whatever their
 * liveness: the root's `pytm run` calls it at exit (docs/arena.md,
 * "Process trees"). A child still running keeps its mapping and just
 * loses its name. Same ownership and same-inode checks as
 * pytm_reader_clean. Returns the number removed, or a PYTM_E_*. */
int pytm_reader_clean_tree(const char *shm_dir, int64_t root_pid,
                           uint64_t root_ticks);

/* Bounds the arenas that dead members of the tree (root_pid,
 * root_ticks) leave behind while the root runs (each holds its tables'
 * pages in tmpfs, docs/arena.md section 2.1): among the tree's arenas whose process is
 * gone, removes those whose last sign of life (max of start, stop and
 * heartbeat times) is older than grace_ns before now, and beyond those,
 * all but the keep_max most recent. Never the root's arena nor a living
 * process's. A viewer that already read an arena keeps its mapping and
 * its last figures. New tree members call it as they start (docs/
 * arena.md §14). Returns the number removed, or a PYTM_E_*. */
int pytm_reader_reap_tree(const char *shm_dir, int64_t root_pid,
                          uint64_t root_ticks, uint64_t grace_ns,
                          size_t keep_max);

#endif /* PYTM_SHM_READER_H */
