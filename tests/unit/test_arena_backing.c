/* test_arena, on-demand backing (shm/arena_backing.c): the file is
 * sized but not allocated at create, each section is allocated in
 * PYTM_ARENA_BACKING_STEP steps before the writer touches it, and a step
 * that cannot be allocated is a full section. The allocations go
 * through the test seam pytm_arena_test_fallocate, which records them
 * and can fail them (teardown in test_arena.c resets it).
 */
#include "test_arena.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "shm/reader.h"
#include "model/snap.h"

#define MAX_CALLS 4096
#define STEP PYTM_ARENA_BACKING_STEP

/* Written by the test thread only (the seam runs under the intern
 * lock, on the caller's thread). */
static struct {
    uint64_t off[MAX_CALLS], len[MAX_CALLS];
    int n;
    bool fail;
} rec;

static int
rec_fallocate(int fd, off_t off, off_t len)
{
    if (rec.fail)
        return ENOSPC;
    assert_true(rec.n < MAX_CALLS);
    rec.off[rec.n] = (uint64_t)off;
    rec.len[rec.n] = (uint64_t)len;
    rec.n++;
    return posix_fallocate(fd, off, len);
}

static void
rec_install(void)
{
    memset(&rec, 0, sizeof rec);
    pytm_arena_test_fallocate = rec_fallocate;
}

/* True when the recorded allocations cover [off, off + len). */
static bool
covered(uint64_t off, uint64_t len)
{
    uint64_t pos = off, end = off + len;
    while (pos < end) {
        uint64_t next = pos;
        for (int i = 0; i < rec.n; i++)
            if (rec.off[i] <= pos && pos < rec.off[i] + rec.len[i]
                && rec.off[i] + rec.len[i] > next)
                next = rec.off[i] + rec.len[i];
        if (next == pos)
            return false;
        pos = next;
    }
    return true;
}

static uint64_t
allocated(struct pytm_arena *a)
{
    struct stat st;
    assert_int_equal(stat(pytm_arena_path(a), &st), 0);
    return (uint64_t)st.st_blocks * 512;
}

static struct pytm_arena *
create(const struct fixture *f)
{
    struct pytm_arena *b = NULL;
    assert_int_equal(pytm_arena_create(&f->cfg, &b), 0);
    return b;
}

/* GIVEN the default 64 MiB arena WHEN it is created THEN the file has
 * its full size but only the header and thread slots are allocated. */
void
test_backing_sparse_at_create(void **state)
{
    struct fixture *f = *state;
    struct pytm_arena_config cfg = f->cfg;
    cfg.arena_size = 0;  /* PYTM_ARENA_DEFAULT_SIZE */
    cfg.max_threads = 0; /* 1024 slots: 64 KiB */
    struct pytm_arena *b = NULL;
    assert_int_equal(pytm_arena_create(&cfg, &b), 0);
    struct stat st;
    assert_int_equal(stat(pytm_arena_path(b), &st), 0);
    assert_int_equal((uint64_t)st.st_size, PYTM_ARENA_DEFAULT_SIZE);
    uint64_t fixed = pytm_arena_header(b)->thread_ids.offset;
    assert_int_equal(fixed, PYTM_ARENA_HEADER_SIZE + 1024 * 64);
    assert_true(allocated(b) >= fixed);
    assert_true(allocated(b) <= fixed + 2 * 4096); /* page rounding */
    pytm_arena_close(b, false, false);
}

/* Interns `n` distinct strings of 1000 bytes. */
static void
intern_strings(struct pytm_arena *b, int first, int n, uint32_t *sid)
{
    char s[1000];
    for (int i = first; i < first + n; i++) {
        memset(s, 'a' + i % 26, sizeof s);
        memcpy(s, &i, sizeof i);
        assert_int_equal(pytm_arena_intern_string(b, s, sizeof s, sid), 0);
    }
}

/* GIVEN an arena WHEN strings, frames, tracebacks and thread identities
 * are interned THEN each section is allocated from its start in whole
 * steps as it fills, the file grows by about a step each time, and
 * every published byte lies in an allocated range. */
void
test_backing_grows_in_steps(void **state)
{
    struct fixture *f = *state;
    rec_install();
    struct pytm_arena *b = create(f);
    struct pytm_arena_header *h = pytm_arena_header(b);
    assert_int_equal(rec.n, 1); /* header + thread slots */
    assert_int_equal(rec.off[0], 0);
    assert_int_equal(rec.len[0], h->thread_ids.offset);

    /* strings: 1004-byte records, one step per ~65 of them */
    uint32_t sid = 0;
    int strings = 0, steps = 0;
    while (atomic_load(&h->published.strings_used) <= 3 * STEP) {
        int before = rec.n;
        uint64_t bytes = allocated(b);
        intern_strings(b, strings++, 1, &sid);
        if (rec.n == before)
            continue;
        assert_int_equal(rec.n, before + 1);
        assert_int_equal(rec.off[before], h->strings.offset + steps * STEP);
        assert_int_equal(rec.len[before], STEP);
        uint64_t grown = allocated(b) - bytes;
        assert_true(grown >= STEP && grown <= STEP + 4096);
        steps++;
    }
    assert_int_equal(steps, 4);

    /* frames (8 bytes) and tracebacks of depth 4: several steps each */
    uint32_t fr[8192];
    for (uint32_t i = 0; i < 8192; i++)
        assert_int_equal(pytm_arena_intern_frame(b, sid, i, &fr[i]), 0);
    uint32_t tb;
    for (uint32_t i = 0; i < 5000; i++)
        assert_int_equal(
            pytm_arena_intern_traceback(b, &fr[i], 4, 4, &tb), 0);
    uint32_t th;
    assert_int_equal(pytm_arena_intern_thread(b, 1, 2, "t", sid, &th), 0);

    const struct pytm_arena_published *p = &h->published;
    assert_true(covered(h->strings.offset, atomic_load(&p->strings_used)));
    assert_true(covered(h->frames.offset, atomic_load(&p->frames_used) * 8));
    assert_true(covered(h->frame_ids.offset,
                        atomic_load(&p->frame_ids_used) * 4));
    assert_true(covered(h->tracebacks.offset,
                        atomic_load(&p->tracebacks_used) * 64));
    assert_true(covered(h->thread_ids.offset,
                        atomic_load(&p->thread_ids_used) * 32));
    /* 8192*8 = 1 step; 20000*4 = 2 steps; 5000*64 = 5 steps;
     * 32 identities of 32 bytes: one step cut at the section's end */
    uint64_t total = 0;
    for (int i = 0; i < rec.n; i++) {
        assert_true(rec.off[i] + rec.len[i] <= h->arena_size);
        total += rec.len[i];
    }
    assert_int_equal(rec.n, 1 + 4 + 1 + 2 + 5 + 1);
    assert_int_equal(total, h->thread_ids.offset + 12 * STEP + 32 * 32);
    assert_true(allocated(b) < h->arena_size / 2);
    pytm_arena_close(b, false, false);
}

/* GIVEN steps that cannot be allocated (ENOSPC) THEN each intern call
 * that needs new ground answers PYTM_E_FULL (a split folds), publishes
 * nothing, the rest of the arena works and stays readable, and the
 * arena recovers once space is back. */
void
test_backing_failure_is_full(void **state)
{
    struct fixture *f = *state;
    rec_install();
    rec.fail = true;
    struct pytm_arena *b = NULL;
    assert_int_equal(pytm_arena_create(&f->cfg, &b), PYTM_E_IO);
    assert_null(b);
    assert_int_equal(pytm_test_count_entries(f->dir), 1); /* the fixture */

    rec.fail = false;
    b = create(f);
    struct pytm_arena_header *h = pytm_arena_header(b);
    const struct pytm_arena_published *p = &h->published;
    rec.fail = true;
    uint32_t sid, fid, tb, th;
    assert_int_equal(pytm_arena_intern_string(b, "a.py", 4, &sid),
                     PYTM_E_FULL);
    assert_int_equal(atomic_load(&p->strings_used), 0);
    assert_int_equal(atomic_load(&p->n_strings), 0);
    assert_int_equal(pytm_arena_intern_thread(b, 1, 1, "t", PYTM_ARENA_NO_NAME,
                                              &th),
                     PYTM_E_FULL);
    assert_int_equal(atomic_load(&h->counters.threads_unknown), 1);
    assert_int_equal(atomic_load(&p->thread_ids_used), 0);

    rec.fail = false;
    assert_int_equal(pytm_arena_intern_string(b, "a.py", 4, &sid), 0);
    rec.fail = true; /* a string in the allocated step still fits */
    assert_int_equal(pytm_arena_intern_string(b, "b.py", 4, &sid), 0);
    assert_int_equal(pytm_arena_intern_frame(b, sid, 1, &fid), PYTM_E_FULL);
    assert_int_equal(atomic_load(&p->frames_used), 0);
    assert_int_equal(pytm_arena_intern_traceback(b, NULL, 0, 0, &tb),
                     PYTM_E_FULL);
    assert_int_equal(atomic_load(&p->tracebacks_used), 0);

    /* fill the first tb step exactly; thread 1's stacks */
    rec.fail = false;
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

    rec.fail = true;
    /* a new stack: FULL, nothing published (not even its frame list) */
    assert_int_equal(pytm_arena_intern_traceback(b, &fid, 1, 0, &tb),
                     PYTM_E_FULL);
    assert_int_equal(atomic_load(&p->tracebacks_used), per_step);
    assert_int_equal(atomic_load(&p->frame_ids_used), ids_used);
    /* a split for thread 2 would need a new step: the stack folds */
    assert_int_equal(pytm_arena_retag_traceback(b, 0, th2, &tb), 0);
    assert_int_equal(tb, 0);
    assert_int_equal(atomic_load(&pytm_arena_tbs(b)[0].thread), 0);
    assert_int_equal(atomic_load(&h->counters.stacks_folded), 1);
    assert_int_equal(atomic_load(&p->tracebacks_used), per_step);
    /* ids past the allocated tracebacks are never written */
    pytm_arena_record_alloc(b, per_step, 100, 1);
    assert_int_equal(atomic_load(&h->counters.n_samples), 0);
    pytm_arena_record_alloc(b, per_step - 1, 100, 1);
    assert_int_equal(atomic_load(&h->counters.n_samples), 1);

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
    rec.fail = false;
    assert_int_equal(pytm_arena_intern_traceback(b, &fid, 1, 0, &tb), 0);
    assert_int_equal(tb, per_step);
    pytm_arena_close(b, false, false);
}
