/* test_reader, holes: the writer allocates and writes every byte below
 * a published count before it publishes it (shm/arena_backing.h), so a
 * reader refuses (PYTM_E_CORRUPT) an arena whose file has a hole below
 * a count: on tmpfs, reading a hole would allocate it, and fault
 * (SIGBUS) when tmpfs is full. Each case copies the fixture's arena
 * (test_reader.h) to an ordinary file, punches one page out of it and
 * takes a snapshot.
 *
 * lseek is wrapped (-Wl,--wrap, test_reader.cmake): with
 * mock_seek_hole_einval set, SEEK_HOLE fails with EINVAL, as on a file
 * system without it, and the reader must skip the check.
 */
#include "test_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u

off_t __real_lseek(int fd, off_t offset, int whence);

/* Set by the test thread only; reset at the end of the test. */
static bool mock_seek_hole_einval;

off_t
__wrap_lseek(int fd, off_t offset, int whence)
{
    if (mock_seek_hole_einval && whence == SEEK_HOLE) {
        errno = EINVAL;
        return -1;
    }
    return __real_lseek(fd, offset, whence);
}

/* Copies the fixture's arena to <dir>/<name>, punches a hole over the
 * page that holds byte `at`, snapshots the copy: the result. */
static int
snap_with_hole(struct fixture *f, const char *name, uint64_t at)
{
    char path[PATH_MAX];
    size_t size;
    uint8_t *m = test_reader_copy(f, name, path, &size);
    munmap(m, size);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                               (off_t)(at / PAGE * PAGE), PAGE),
                     0);
    assert_int_equal(__real_lseek(fd, (off_t)(at / PAGE * PAGE), SEEK_HOLE),
                     (off_t)(at / PAGE * PAGE)); /* it is a hole */
    close(fd);
    return test_reader_try(path, &f->snap);
}

/* GIVEN the fixture's arena copied WHEN a page below a published count
 * (3 tbs, 3 frame ids, 3 frames, 36 bytes of strings) is a hole THEN
 * the snapshot fails with PYTM_E_CORRUPT. A hole that starts right at
 * or past the end of the published data is no reason to refuse. */
void
test_corrupt_holes(void **state)
{
    struct fixture *f = *state;
    const struct pytm_arena_header *h = f->h;
    uint64_t tbs_end = h->tracebacks.offset + 3 * 64;
    assert_true(tbs_end % PAGE != 0); /* so the next page is past it */
    const struct {
        const char *name;
        uint64_t at;
        int rc;
    } cases[] = {
        {"hole-tbs", h->tracebacks.offset, PYTM_E_CORRUPT},
        {"hole-tbs-last", tbs_end - 1, PYTM_E_CORRUPT},
        {"hole-frame-ids", h->frame_ids.offset, PYTM_E_CORRUPT},
        {"hole-frames", h->frames.offset, PYTM_E_CORRUPT},
        {"hole-strings", h->strings.offset, PYTM_E_CORRUPT},
        {"hole-after-tbs", (tbs_end + PAGE - 1) / PAGE * PAGE, 0},
        {"hole-at-end", h->arena_size - 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = snap_with_hole(f, cases[i].name, cases[i].at);
        if (rc != cases[i].rc)
            fail_msg("%s: got %s, want %s", cases[i].name,
                     pytm_error_name(rc), pytm_error_name(cases[i].rc));
    }
    assert_int_equal(f->snap.n_tbs, 3); /* the last case's snapshot */
}

/* GIVEN a file system without SEEK_HOLE (EINVAL) WHEN the tracebacks'
 * page is a hole THEN the check is skipped: the zeroes read back are
 * valid (empty) tracebacks, and the snapshot succeeds. */
void
test_holes_unchecked_without_seek_hole(void **state)
{
    struct fixture *f = *state;
    mock_seek_hole_einval = true;
    int rc = snap_with_hole(f, "hole-no-seek-hole", f->h->tracebacks.offset);
    mock_seek_hole_einval = false;
    assert_int_equal(rc, 0);
    /* three zeroed tbs: the same empty stack, merged into one */
    assert_int_equal(f->snap.n_tbs, 1);
}
