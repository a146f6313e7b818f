/* shm/arena_backing: the allocated prefix of each growable section.
 *
 * The arena file has its full size from create (ftruncate), but tmpfs
 * only holds the pages that were allocated: by posix_fallocate, or by a
 * fault on a hole, which raises SIGBUS when tmpfs is full. So the writer
 * allocates every growable section (thread_ids, strings, frames,
 * frame_ids, tracebacks) from its start, PYTM_ARENA_BACKING_STEP bytes
 * at a time, before it writes there, and never touches a byte past the
 * allocated prefix:
 *
 *   offset             offset + backed           offset + limit
 *   |-- used --|-- allocated --|-- hole (never touched) --|
 *
 * Invariant, under the writer's intern lock (arena_internal.h `lock`):
 *   used <= backed <= limit, and backed <= used rounded up to a step,
 *   except after a step whose entry then failed for another reason
 *   (a dedupe table that could not grow): one step ahead at most.
 * The published counters cover bytes below `backed` only, because each
 * intern path backs first, writes second and publishes last
 * (arena_intern.c steps 2-4). Nothing lock-free reads `backed`.
 *
 * Not installed; used by shm/arena*.c and by tests (which may read
 * `backed`).
 */
#ifndef PYTM_SHM_ARENA_BACKING_H
#define PYTM_SHM_ARENA_BACKING_H

#include <stdint.h>

/* Steps of 64 KiB: one step holds the intern lock 15-30 us on tmpfs
 * (256 KiB: 55-115 us), and an arena that holds 400 KiB of tables
 * allocates at most a step per section more than it uses. */
#define PYTM_ARENA_BACKING_STEP (64ull << 10)

/* One section's allocated prefix. Protected by the writer's intern lock
 * (written only by pytm_arena_backing_grow under it). */
struct pytm_arena_backing {
    int fd;          /* the arena file (O_RDWR), not owned */
    uint64_t offset; /* section start in the file */
    uint64_t limit;  /* section bytes: capacity * entry size */
    uint64_t backed; /* bytes from offset allocated, <= limit */
};

/* An empty prefix of the section [offset, offset + limit) of file fd.
 * Allocates nothing. */
void pytm_arena_backing_init(struct pytm_arena_backing *b, int fd,
                             uint64_t offset, uint64_t limit);

/* Allocates b's prefix up to `need` bytes rounded up to a step (at most
 * limit) with posix_fallocate. Returns 0, or PYTM_E_FULL when need >
 * limit or the allocation failed (ENOSPC, or any other error): b is
 * then unchanged and nothing was written. Caller holds the intern lock.
 * Use pytm_arena_backing_ensure, which skips the call when need is
 * already backed. */
int pytm_arena_backing_grow(struct pytm_arena_backing *b, uint64_t need);

/* 0 when the first `need` bytes of b's section are allocated (one
 * compare in the steady state), else pytm_arena_backing_grow. Caller
 * holds the intern lock. */
static inline int
pytm_arena_backing_ensure(struct pytm_arena_backing *b, uint64_t need)
{
    return need <= b->backed ? 0 : pytm_arena_backing_grow(b, need);
}

#endif /* PYTM_SHM_ARENA_BACKING_H */
