/* shm/arena_internal: the writer's private state, shared by the files
 * that implement shm/arena.h (arena.c: lifecycle, arena_intern.c:
 * interning, arena_record.c: aggregates, counters and thread slots;
 * arena_backing.c allocates the growable sections).
 * Not installed, not used outside shm/arena*.c (tests may include it to
 * inspect private counters).
 */
#ifndef PYTM_SHM_ARENA_INTERNAL_H
#define PYTM_SHM_ARENA_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "arena.h"
#include "arena_backing.h"

/* One open-addressing dedupe table (linear probing, power-of-two size).
 * A slot holds the key's hash and id+1 (0 = empty); the key itself is
 * compared against the arena entry the id names, so the table stores no
 * copy of strings or frame lists. Grown (rehashed) at 50% load. */
struct arena_slot {
    uint32_t hash;
    uint32_t id1; /* id + 1, 0 when the slot is empty */
};

struct arena_table {
    struct arena_slot *slots; /* malloc'd, mask+1 entries */
    uint32_t mask;
    uint32_t used;
};

struct pytm_arena {
    /* Immutable after pytm_arena_create. */
    uint8_t *base;                 /* the MAP_SHARED mapping */
    uint64_t size;                 /* mapped bytes == header.arena_size */
    struct pytm_arena_header *h;   /* == base */
    struct pytm_arena_thread *threads;
    uint32_t threads_cap;
    struct pytm_arena_thread_id *tids;
    uint64_t tids_cap;
    uint8_t *strings;
    uint64_t strings_cap;          /* bytes, <= UINT32_MAX */
    struct pytm_arena_frame *frames;
    uint64_t frames_cap;
    uint32_t *frame_ids;
    uint64_t frame_ids_cap;
    struct pytm_arena_tb *tbs;
    uint64_t tbs_cap;
    char path[PATH_MAX];
    int fd;                        /* O_RDWR|O_CLOEXEC, kept open for the
                                      backing steps; closed by close or
                                      (a fork child's copy) by forget */

    /* Protects everything below up to `private_bytes`: the dedupe tables,
     * the private mirrors of the published counters (the writer bounds
     * every write by these, never by the arena's copies, which it only
     * stores and reports) and the sections' allocated prefixes. */
    pthread_mutex_t lock;
    struct arena_table str_tab;
    struct arena_table frame_tab;
    struct arena_table tb_tab;
    struct arena_table stack_tab;  /* stack (frames, total) -> its first
                                      tb, whatever the thread */
    uint64_t strings_used;
    uint64_t frames_used;
    uint64_t frame_ids_used;
    uint64_t tbs_used;
    uint64_t tids_used;
    /* The allocated prefix of each growable section (arena_backing.h):
     * the writer never touches a byte past it. */
    struct pytm_arena_backing tids_bk;
    struct pytm_arena_backing strings_bk;
    struct pytm_arena_backing frames_bk;
    struct pytm_arena_backing frame_ids_bk;
    struct pytm_arena_backing tbs_bk;

    /* Bytes of private memory (this struct + tables). Written under
     * `lock`, read lock-free by pytm_arena_memory_usage: atomic. */
    _Atomic uint64_t private_bytes;

    /* Slots reserved by claimers (<= threads_cap). Atomic RMW. A claimer
     * reserves before scanning, a releaser un-reserves after storing
     * FREE, so while a claimer holds a reservation at least one slot is
     * FREE and its scan cannot come back empty under churn. */
    _Atomic uint32_t threads_reserved;

    /* Tracebacks whose entries are allocated (tbs_bk.backed / 64): the
     * bound of the lock-free record_alloc/record_free. Release-stored
     * under `lock` after each tb step (arena_intern.c back_next_tb),
     * acquire-loaded by them (arena_record.c). */
    _Atomic uint64_t tbs_backed;
};

/* Per-thread splits (tbs past the first of their stack) use at most
 * 1/PYTM_ARENA_SPLIT_SHARE of the tb section (arena_intern.c). */
#define PYTM_ARENA_SPLIT_SHARE 16u

/* arena_intern.c: allocate/free the dedupe tables (called by create and
 * close, single-threaded). init returns 0 or PYTM_E_NOMEM. */
int pytm_arena_tables_init_(struct pytm_arena *a);
void pytm_arena_tables_done_(struct pytm_arena *a);

#endif /* PYTM_SHM_ARENA_INTERNAL_H */
