/* shm/arena_backing.c: backing the arena's sections on demand.
 *
 * The arena file has its full size from the start (ftruncate), but only
 * the header and the thread slots are allocated at create. Each
 * append-only section (strings, frames, frame_ids, tracebacks,
 * thread_ids) is allocated from its start in steps of
 * PYTM_ARENA_BACKING_STEP bytes as its bump allocator reaches new
 * ground. A tmpfs page is only allocated by posix_fallocate (or by a
 * fault, which raises SIGBUS when tmpfs is full), so the writer never
 * touches a byte past a section's `backed` prefix:
 *
 *   section.offset                 offset+backed          offset+limit
 *   |-- used --|-- backed, zero --|-- hole (reads as 0) --|
 *
 * Invariant (under a->lock): used <= backed <= limit, and every
 * published counter covers bytes below `backed` only, because the
 * intern paths back first, write second and publish last (arena_intern.c
 * steps 2-4). A failed step leaves `backed` as it was; the caller
 * answers PYTM_E_FULL, exactly as for a section that has no room.
 */
#include "arena.h"

#include <fcntl.h>

#include "arena_internal.h"
#include "pytm_error.h"

/* Test seam, see arena.h. Written by tests before any arena is used. */
int (*pytm_arena_test_fallocate)(int fd, off_t offset, off_t len) = NULL;

int
pytm_arena_fallocate_(int fd, uint64_t offset, uint64_t len)
{
    int (*fn)(int, off_t, off_t) = pytm_arena_test_fallocate;
    if (fn == NULL)
        fn = posix_fallocate;
    return fn(fd, (off_t)offset, (off_t)len);
}

void
pytm_arena_backing_init_(struct arena_backing *b, uint64_t offset,
                         uint64_t limit)
{
    b->offset = offset;
    b->limit = limit;
    b->backed = 0;
}

int
pytm_arena_back_slow_(struct pytm_arena *a, struct arena_backing *b,
                      uint64_t need)
{
    if (need > b->limit)
        return PYTM_E_FULL;
    uint64_t step = PYTM_ARENA_BACKING_STEP;
    uint64_t to = need / step * step + (need % step ? step : 0);
    if (to > b->limit)
        to = b->limit;
    if (pytm_arena_fallocate_(a->fd, b->offset + b->backed,
                              to - b->backed) != 0)
        return PYTM_E_FULL; /* ENOSPC, EIO...: the section is full */
    b->backed = to;
    return 0;
}
