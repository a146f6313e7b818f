/* shm/arena_backing.c: allocating a growable section in steps (the
 * contract and the invariant are in arena_backing.h).
 */
#include "arena_backing.h"

#include <fcntl.h>

#include "pytm_error.h"

void
pytm_arena_backing_init(struct pytm_arena_backing *b, int fd, uint64_t offset,
                        uint64_t limit)
{
    b->fd = fd;
    b->offset = offset;
    b->limit = limit;
    b->backed = 0;
}

int
pytm_arena_backing_grow(struct pytm_arena_backing *b, uint64_t need)
{
    if (need > b->limit)
        return PYTM_E_FULL;
    if (need <= b->backed)
        return 0;
    const uint64_t step = PYTM_ARENA_BACKING_STEP;
    uint64_t to = (need + step - 1) / step * step;
    if (to > b->limit)
        to = b->limit;
    /* posix_fallocate returns the error (it does not set errno). Any
     * error is "no room": the writer must not touch an unallocated
     * byte, whatever the reason it could not be allocated. */
    if (posix_fallocate(b->fd, (off_t)(b->offset + b->backed),
                        (off_t)(to - b->backed))
        != 0)
        return PYTM_E_FULL;
    b->backed = to;
    return 0;
}
