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

/* The identity part of the header (bytes [0, offsetof(state))), copied
 * out of the mapping once, after the magic (acquire), and validated.
 * Every later bound comes from this copy, never from the live mapping,
 * so a writer that rewrites its header cannot move our bounds. */
struct reader_identity {
    char magic[PYTM_ARENA_MAGIC_SIZE];
    uint32_t layout_version;
    uint32_t header_size;
    uint32_t endian_tag;
    uint32_t flags;
    uint64_t arena_size;
    int64_t pid;
    uint64_t uid;
    uint64_t proc_start_ticks;
    uint64_t start_realtime_ns;
    uint64_t sample_interval;
    uint32_t nframe;
    uint32_t reserved0;
    struct pytm_arena_section threads;
    struct pytm_arena_section strings;
    struct pytm_arena_section frames;
    struct pytm_arena_section frame_ids;
    struct pytm_arena_section tracebacks;
    char cmdline[PYTM_ARENA_CMDLINE_MAX];
};
static_assert(sizeof(struct reader_identity)
                  == offsetof(struct pytm_arena_header, cmdline)
                         + PYTM_ARENA_CMDLINE_MAX,
              "identity mirrors the header prefix");

/* Owned by one thread (readers are not thread-safe objects). */
struct pytm_reader {
    int fd;                    /* O_RDONLY, kept for fstat re-checks */
    const uint8_t *map;        /* PROT_READ, MAP_SHARED, map_size bytes */
    uint64_t map_size;         /* file size at attach, >= id.arena_size */
    uid_t owner;               /* st_uid at attach */
    dev_t dev;                 /* st_dev/st_ino at attach (clean uses */
    ino_t ino;                 /* them to unlink the very same file) */
    struct reader_identity id; /* validated copy */
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
int pytm_reader_validate_identity_(const struct reader_identity *id,
                                   uint64_t file_size);

/* Re-fstats the object: 0 when it still holds id.arena_size bytes, else
 * PYTM_E_TRUNCATED (or PYTM_E_IO). Called before every read of the
 * mapping, so a shrunk file is reported instead of faulting. */
int pytm_reader_check_size_(const struct pytm_reader *r);

/* True when `pid` runs and, if start_ticks != 0, is the process that
 * started at start_ticks (not a reused PID). */
bool pytm_reader_pid_alive_(int64_t pid, uint64_t start_ticks);

#endif /* PYTM_SHM_READER_INTERNAL_H */
