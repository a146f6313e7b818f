/* test_arena, on-demand backing (shm/arena_backing.h): the arena file
 * has its full size, but only the header and the thread slots are
 * allocated at create; each growable section is allocated from its
 * start in PYTM_ARENA_BACKING_STEP steps before the writer touches it;
 * a step that cannot be allocated is a full section.
 *
 * Unlike the other arena tests these run on tmpfs (a private directory
 * under /dev/shm, removed by teardown), where the arena lives in
 * production, because the property is a tmpfs one: a page exists once
 * it is allocated (fallocate) or touched (any fault on a hole, read or
 * write, allocates it). The checks are exact page accounting and
 * SEEK_DATA / SEEK_HOLE, not st_blocks deltas on ext4: ext4 may build a
 * large folio around a written page and reserve delalloc blocks for
 * all of it, pages the process never touched included (seen under
 * valgrind on a 16 KiB folio, docs/arena.md section 2.1).
 *
 * posix_fallocate is wrapped (-Wl,--wrap, test_arena.cmake): with
 * mock_posix_fallocate set it fails with ENOSPC and allocates nothing.
 */
#include "test_arena.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/arena_backing.h"
#include "shm/reader.h"
#include "model/snap.h"

#define STEP PYTM_ARENA_BACKING_STEP
#define PAGE 4096u

/* ---- the posix_fallocate mock ---------------------------------------- */

int __real_posix_fallocate(int fd, off_t offset, off_t len);

/* Set by the test thread only; the arena calls the wrapper on the
 * caller's thread, under its intern lock. Reset by teardown. */
static bool mock_posix_fallocate;
static int mock_fallocate_failed; /* calls that failed because of it */

int
__wrap_posix_fallocate(int fd, off_t offset, off_t len)
{
    if (mock_posix_fallocate) {
        mock_fallocate_failed++;
        return ENOSPC;
    }
    return __real_posix_fallocate(fd, offset, len);
}

/* ---- fixture: test_arena's (cfg only, no arena), on /dev/shm ------- */

/* Whether touching one page of a sparse file on this tmpfs allocates
 * exactly that page (no large folio around it). When it does not, page
 * accounting cannot see what the writer touched and the tests skip. */
static bool
tmpfs_is_page_exact(const char *dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/probe", dir);
    int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0)
        return false;
    bool ok = false;
    const size_t size = 1u << 20;
    if (ftruncate(fd, (off_t)size) == 0) {
        uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                          0);
        if (m != MAP_FAILED) {
            m[100 * PAGE + 7] = 1;
            struct stat st;
            ok = fstat(fd, &st) == 0 && st.st_blocks * 512 == PAGE
                 && lseek(fd, 0, SEEK_DATA) == 100 * PAGE
                 && lseek(fd, 100 * PAGE, SEEK_HOLE) == 101 * PAGE;
            munmap(m, size);
        }
    }
    close(fd);
    unlink(path);
    return ok;
}

int
test_backing_setup(void **state)
{
    return test_arena_fixture_setup(state, "/dev/shm/pytm-test-backing-XXXXXX",
                                    false);
}

int
test_backing_teardown(void **state)
{
    mock_posix_fallocate = false;
    return test_arena_fixture_teardown(state);
}

static struct pytm_arena *
create(const struct fixture *f)
{
    if (!tmpfs_is_page_exact(f->dir)) {
        print_message("/dev/shm allocates more than the touched page "
                      "(large folios?): page accounting not possible\n");
        skip();
    }
    struct pytm_arena *b = NULL;
    assert_int_equal(pytm_arena_create(&f->cfg, &b), 0);
    return b;
}

/* ---- the property ---------------------------------------------------- */

static uint64_t
round_up(uint64_t x, uint64_t to)
{
    return (x + to - 1) / to * to;
}

/* One growable section as the design says it must be allocated: from
 * its start, up to the published bytes rounded up to a step. */
struct section {
    const char *name;
    uint64_t offset, limit, used;
};

static int
sections_of(const struct pytm_arena_header *h, struct section *s)
{
    const struct pytm_arena_published *p = &h->published;
    s[0] = (struct section){"thread_ids", h->thread_ids.offset,
                            h->thread_ids.capacity * 32,
                            atomic_load(&p->thread_ids_used) * 32};
    s[1] = (struct section){"strings", h->strings.offset,
                            h->strings.capacity,
                            atomic_load(&p->strings_used)};
    s[2] = (struct section){"frames", h->frames.offset,
                            h->frames.capacity * 8,
                            atomic_load(&p->frames_used) * 8};
    s[3] = (struct section){"frame_ids", h->frame_ids.offset,
                            h->frame_ids.capacity * 4,
                            atomic_load(&p->frame_ids_used) * 4};
    s[4] = (struct section){"tracebacks", h->tracebacks.offset,
                            h->tracebacks.capacity * 64,
                            atomic_load(&p->tracebacks_used) * 64};
    return 5;
}

static uint64_t
expected_backed(const struct section *s)
{
    uint64_t b = round_up(s->used, STEP);
    return b < s->limit ? b : s->limit;
}

/* Checks, on the file itself:
 *  - every byte below each published count is data (the first hole
 *    from the section start lies at or past the published end);
 *  - no page past each section's allocated prefix holds data (it was
 *    never touched, not even read);
 *  - the file's allocated pages are exactly the header and thread
 *    slots plus each section's prefix, rounded up to a step: the
 *    writer allocates lazily, in steps, and nothing else. */
static void
check_backing(struct pytm_arena *b)
{
    struct pytm_arena_header *h = pytm_arena_header(b);
    int fd = open(pytm_arena_path(b), O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    uint64_t pages = h->arena_size / PAGE;
    bool *alloc = test_calloc(pages, sizeof *alloc);
    for (uint64_t pg = 0; pg * PAGE < h->thread_ids.offset; pg++)
        alloc[pg] = true;
    struct section s[5];
    int n = sections_of(h, s);
    for (int i = 0; i < n; i++) {
        uint64_t backed = expected_backed(&s[i]);
        if (s[i].used > 0) {
            off_t hole = lseek(fd, (off_t)s[i].offset, SEEK_HOLE);
            if (hole < 0 || (uint64_t)hole < s[i].offset + s[i].used)
                fail_msg("%s: hole at %lld below the published end %llu",
                         s[i].name, (long long)hole,
                         (unsigned long long)(s[i].offset + s[i].used));
        }
        uint64_t from = round_up(s[i].offset + backed, PAGE);
        uint64_t to = (s[i].offset + s[i].limit) / PAGE * PAGE;
        if (from < to) {
            off_t data = lseek(fd, (off_t)from, SEEK_DATA);
            if (data >= 0 && (uint64_t)data < to)
                fail_msg("%s: data at %lld, past its allocated prefix "
                         "[%llu, %llu)",
                         s[i].name, (long long)data,
                         (unsigned long long)s[i].offset,
                         (unsigned long long)(s[i].offset + backed));
        }
        for (uint64_t pg = s[i].offset / PAGE;
             backed > 0 && pg * PAGE < s[i].offset + backed; pg++)
            alloc[pg] = true;
    }
    uint64_t want = 0;
    for (uint64_t pg = 0; pg < pages; pg++)
        want += alloc[pg] ? PAGE : 0;
    test_free(alloc);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    close(fd);
    assert_int_equal((uint64_t)st.st_size, h->arena_size);
    if ((uint64_t)st.st_blocks * 512 != want)
        fail_msg("allocated %llu bytes, the prefixes make %llu",
                 (unsigned long long)st.st_blocks * 512,
                 (unsigned long long)want);
}

/* ---- tests ----------------------------------------------------------- */

/* GIVEN the default 64 MiB arena with 1024 thread slots WHEN it is
 * created THEN the file has its full size but only the header and the
 * thread slots (68 KiB) are allocated, and nothing else is touched. */
void
test_backing_sparse_at_create(void **state)
{
    struct fixture *f = *state;
    f->cfg.arena_size = 0;  /* PYTM_ARENA_DEFAULT_SIZE */
    f->cfg.max_threads = 0; /* PYTM_ARENA_DEFAULT_THREADS */
    struct pytm_arena *b = create(f);
    struct pytm_arena_header *h = pytm_arena_header(b);
    assert_int_equal(h->arena_size, PYTM_ARENA_DEFAULT_SIZE);
    assert_int_equal(h->thread_ids.offset, PYTM_ARENA_HEADER_SIZE + 1024 * 64);
    check_backing(b);
    struct stat st;
    assert_int_equal(stat(pytm_arena_path(b), &st), 0);
    assert_int_equal((uint64_t)st.st_blocks * 512,
                     PYTM_ARENA_HEADER_SIZE + 1024 * 64);
    pytm_arena_close(b, false, false);
}

/* Interns the 1000-byte string number i. */
static uint32_t
intern_string_n(struct pytm_arena *b, int i)
{
    char s[1000];
    memset(s, 'a' + i % 26, sizeof s);
    memcpy(s, &i, sizeof i);
    uint32_t sid;
    assert_int_equal(pytm_arena_intern_string(b, s, sizeof s, &sid), 0);
    return sid;
}

/* GIVEN an arena on tmpfs WHEN strings, frames, tracebacks (with
 * per-thread splits) and thread identities are interned THEN after
 * every call each section is allocated exactly up to its published
 * bytes rounded up to a step, everything published is data, and no
 * page past an allocated prefix was touched. Several steps each. */
void
test_backing_follows_published(void **state)
{
    struct fixture *f = *state;
    f->cfg.max_threads = 64; /* thread_ids: 8 KiB from a page boundary */
    struct pytm_arena *b = create(f);
    struct pytm_arena_header *h = pytm_arena_header(b);
    assert_int_equal(h->thread_ids.offset % PAGE, 0);
    assert_int_equal(h->thread_ids.capacity, 256);
    check_backing(b);
    uint32_t threads[32];
    int n_threads = 0;
    uint32_t fr[16] = {0};
    for (int i = 0; i < 400; i++) {
        uint32_t sid = intern_string_n(b, i);
        check_backing(b);
        for (int k = 0; k < 16; k++) {
            uint32_t id;
            assert_int_equal(
                pytm_arena_intern_frame(b, sid, (uint32_t)k, &id), 0);
            check_backing(b);
            if (k == 0 || i % 4 == 0)
                fr[k] = id; /* stacks mix this round's and older frames */
        }
        if (i % 16 == 0 && n_threads < 32) {
            assert_int_equal(pytm_arena_intern_thread(b, i, (uint64_t)i, "t",
                                                      sid,
                                                      &threads[n_threads]),
                             0);
            n_threads++;
            check_backing(b);
        }
        for (uint32_t d = 14; d <= 16; d++) {
            uint32_t tb;
            assert_int_equal(pytm_arena_intern_traceback(b, fr, d, d, &tb), 0);
            check_backing(b);
            /* the same stack for the newest thread: a split */
            assert_int_equal(pytm_arena_intern_traceback_thread(
                                 b, fr, d, d, threads[n_threads - 1], &tb),
                             0);
            check_backing(b);
        }
    }
    /* 400 * 1008 bytes of strings: 7 steps; 6400 frames: 1 step (51200
     * bytes); 2400 tbs: 3 steps; frame ids 1200 * 15 * 4: 2 steps;
     * 25 identities: one step cut at the 8 KiB section end */
    const struct pytm_arena_published *p = &h->published;
    assert_int_equal(atomic_load(&p->strings_used), 400 * 1008);
    assert_int_equal(atomic_load(&p->tracebacks_used), 2400);
    assert_int_equal(atomic_load(&p->thread_ids_used), 25);
    struct stat st;
    assert_int_equal(stat(pytm_arena_path(b), &st), 0);
    assert_true((uint64_t)st.st_blocks * 512 < h->arena_size / 4);
    pytm_arena_close(b, false, false);
}

/* GIVEN steps that cannot be allocated (ENOSPC) THEN create fails
 * cleanly; each intern call that needs new ground answers PYTM_E_FULL
 * (a thread stays unknown, a split folds), publishes nothing and
 * touches nothing past the allocated prefix; the arena stays readable
 * and recovers once space is back. */
void
test_backing_failure_is_full(void **state)
{
    struct fixture *f = *state;
    struct pytm_arena *b = NULL;
    if (!tmpfs_is_page_exact(f->dir))
        skip();
    mock_posix_fallocate = true;
    assert_int_equal(pytm_arena_create(&f->cfg, &b), PYTM_E_IO);
    assert_null(b);
    assert_int_equal(pytm_test_count_entries(f->dir), 0);

    mock_posix_fallocate = false;
    b = create(f);
    struct pytm_arena_header *h = pytm_arena_header(b);
    const struct pytm_arena_published *p = &h->published;
    mock_posix_fallocate = true;
    mock_fallocate_failed = 0;
    uint32_t sid, fid, tb, th;
    assert_int_equal(pytm_arena_intern_string(b, "a.py", 4, &sid),
                     PYTM_E_FULL);
    assert_int_equal(atomic_load(&p->n_strings), 0);
    assert_int_equal(pytm_arena_intern_thread(b, 1, 1, "t", PYTM_ARENA_NO_NAME,
                                              &th),
                     PYTM_E_FULL);
    assert_int_equal(atomic_load(&h->counters.threads_unknown), 1);
    assert_int_equal(mock_fallocate_failed, 2); /* each asked for a step */
    check_backing(b);

    mock_posix_fallocate = false;
    assert_int_equal(pytm_arena_intern_string(b, "a.py", 4, &sid), 0);
    mock_posix_fallocate = true; /* a string inside the step still fits */
    assert_int_equal(pytm_arena_intern_string(b, "b.py", 4, &sid), 0);
    assert_int_equal(pytm_arena_intern_frame(b, sid, 1, &fid), PYTM_E_FULL);
    assert_int_equal(atomic_load(&p->frames_used), 0);
    assert_int_equal(pytm_arena_intern_traceback(b, NULL, 0, 0, &tb),
                     PYTM_E_FULL);
    assert_int_equal(atomic_load(&p->tracebacks_used), 0);
    check_backing(b);

    /* fill the first tb step exactly, with thread 1's stacks */
    mock_posix_fallocate = false;
    uint32_t th1, th2;
    assert_int_equal(pytm_arena_intern_thread(b, 1, 1, "t1",
                                              PYTM_ARENA_NO_NAME, &th1), 0);
    assert_int_equal(pytm_arena_intern_thread(b, 2, 2, "t2",
                                              PYTM_ARENA_NO_NAME, &th2), 0);
    assert_int_equal(pytm_arena_intern_frame(b, sid, 1, &fid), 0);
    uint32_t per_step = STEP / sizeof(struct pytm_arena_tb);
    for (uint32_t k = 0; k < per_step; k++)
        assert_int_equal(pytm_arena_intern_traceback_thread(b, &fid, 1, k + 1,
                                                            th1, &tb),
                         0);
    assert_int_equal(atomic_load(&p->tracebacks_used), per_step);
    uint64_t ids_used = atomic_load(&p->frame_ids_used);

    mock_posix_fallocate = true;
    /* a new stack: FULL, nothing published (not even its frame list) */
    assert_int_equal(pytm_arena_intern_traceback(b, &fid, 1, 0, &tb),
                     PYTM_E_FULL);
    assert_int_equal(atomic_load(&p->tracebacks_used), per_step);
    assert_int_equal(atomic_load(&p->frame_ids_used), ids_used);
    /* thread 2's tb of thread 1's first stack would be a split needing
     * a new step: the stack folds into thread 0 instead */
    assert_int_equal(pytm_arena_intern_traceback_thread(b, &fid, 1, 1, th2,
                                                        &tb),
                     0);
    assert_int_equal(tb, 0);
    assert_int_equal(atomic_load(&pytm_arena_tbs(b)[0].thread), 0);
    assert_int_equal(atomic_load(&h->counters.stacks_folded), 1);
    assert_int_equal(atomic_load(&p->tracebacks_used), per_step);
    check_backing(b);
    /* ids past the allocated tracebacks are never written */
    pytm_arena_record_alloc(b, per_step, 100, 1);
    assert_int_equal(atomic_load(&h->counters.n_samples), 0);
    pytm_arena_record_alloc(b, per_step - 1, 100, 1);
    assert_int_equal(atomic_load(&h->counters.n_samples), 1);
    check_backing(b);

    /* readable: a snapshot of everything published */
    struct pytm_reader *r = NULL;
    assert_int_equal(pytm_reader_open_path(pytm_arena_path(b), &r), 0);
    struct pytm_snap snap;
    pytm_snap_init(&snap);
    assert_int_equal(pytm_reader_snap(r, &snap), 0);
    assert_int_equal(snap.n_strings, 2);
    assert_int_equal(snap.n_frames, 1);
    assert_true(snap.totals.n_samples == 1);
    pytm_snap_free(&snap);
    pytm_reader_close(r);

    /* space is back: the next intern takes the step */
    mock_posix_fallocate = false;
    assert_int_equal(pytm_arena_intern_traceback(b, &fid, 1, 0, &tb), 0);
    assert_int_equal(tb, per_step);
    check_backing(b);
    pytm_arena_close(b, false, false);
}

/* forget frees nothing by design (a fork child leaves the parent's
 * state alone): the forgotten arena stays reachable from here, for
 * valgrind's leak check. */
struct pytm_arena *test_backing_forgotten;

/* GIVEN an arena WHEN pytm_arena_forget is called (a fork child's
 * side) THEN the arena's fd is closed and the file stays (the parent
 * owns it). */
void
test_backing_forget_closes_fd(void **state)
{
    struct fixture *f = *state;
    struct pytm_arena *b = create(f);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", pytm_arena_path(b));
    struct stat want;
    assert_int_equal(stat(path, &want), 0);
    int open_fds = 0;
    for (int fd = 0; fd < 1024; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_ino == want.st_ino
            && st.st_dev == want.st_dev)
            open_fds++;
    }
    assert_int_equal(open_fds, 1);
    pytm_arena_forget(b);
    for (int fd = 0; fd < 1024; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_ino == want.st_ino
            && st.st_dev == want.st_dev)
            fail_msg("fd %d still refers to the arena", fd);
    }
    assert_int_equal(access(path, F_OK), 0);
    pytm_arena_forget(NULL);
    test_backing_forgotten = b;
    unlink(path);
}
