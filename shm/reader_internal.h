/* shm/reader_internal: the reader's private state, shared by reader.c
 * (attach, validate, liveness), reader_snap.c (copy the tables) and
 * reader_list.c (list, clean). Not used outside shm/reader*.c and tests.
 */
#ifndef PYTM_SHM_READER_INTERNAL_H
#define PYTM_SHM_READER_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "reader.h"

/* r->id, the reader's copy of the header: only its identity part (bytes
 * [0, PYTM_ARENA_IDENTITY_SIZE)) is copied out of the mapping, once,
 * after the magic (acquire), and validated; the changing-state part of
 * the copy stays zero and is never read (use pytm_reader_live_header_).
 * Every later bound comes from this copy, never from the live mapping,
 * so a writer that rewrites its header cannot move our bounds. */
/* Owned by one thread (readers are not thread-safe objects). */
struct pytm_reader {
    int fd;                    /* O_RDONLY, kept for fstat re-checks */
    const uint8_t *map;        /* PROT_READ, MAP_SHARED, map_size bytes */
    uint64_t map_size;         /* file size at attach, >= id.arena_size */
    uid_t owner;               /* st_uid at attach */
    dev_t dev;                 /* st_dev/st_ino at attach (clean uses */
    ino_t ino;                 /* them to unlink the very same file) */
    struct pytm_arena_header id; /* validated copy of the identity
                                    (see above; 4 KiB, mostly zero) */
    char path[PATH_MAX];
};

/* The live header in the mapping (for atomics: state, counters,
 * published). Only valid after a successful file-size check. */
static inline const struct pytm_arena_header *
pytm_reader_live_header_(const struct pytm_reader *r)
{
    return (const struct pytm_arena_header *)r->map;
}

/* 0 when the caller (effective uid `euid`) may read an object owned by
 * `file_uid`: the same uid, or root. Else PYTM_E_PERM. */
int pytm_reader_check_owner_(uid_t file_uid, uid_t euid);

/* Validates a header copy against the object's size: the checks listed
 * in arena_layout.h "WHAT A READER MUST CHECK" that concern the header.
 * Returns 0 or PYTM_E_MAGIC/_ENDIAN/_VERSION/_CORRUPT. */
int pytm_reader_validate_identity_(const struct pytm_arena_header *id,
                                   uint64_t file_size);

/* Re-fstats the object: 0 when it still holds id.arena_size bytes, else
 * PYTM_E_TRUNCATED (or PYTM_E_IO). Called before every read of the
 * mapping, so a shrunk file is reported instead of faulting. */
int pytm_reader_check_size_(const struct pytm_reader *r);

/* True when `pid` runs and, if start_ticks != 0, is the process that
 * started at start_ticks (not a reused PID). */
bool pytm_reader_pid_alive_(int64_t pid, uint64_t start_ticks);

/* Unlinks `name` in the directory dirfd only if it still is the file a
 * reader validated (dev, ino: that reader's r->dev, r->ino) and still
 * belongs to our effective uid, so a file put under the same name after
 * the validation is left alone. True when it was removed; false when the
 * name is gone, is another file, or unlinkat failed. The only unlink of
 * clean, clean_tree and reap_tree (reader_list.c). */
bool pytm_reader_unlink_if_same_(int dirfd, const char *name, dev_t dev,
                                 ino_t ino);

#endif /* PYTM_SHM_READER_INTERNAL_H */
