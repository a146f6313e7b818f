/* Unit tests for shm/arena (the writer): create/close and naming,
 * interning (single- and multi-threaded), FULL handling, aggregates,
 * counters and thread slots. Every arena lives in a private temp dir
 * (cfg.shm_dir), never in /dev/shm itself (test_arena_backing.c's dir
 * is under /dev/shm: it needs tmpfs). Threaded tests are in
 * test_arena_mt.c (same program).
 */
#include "test_arena.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
test_arena_fixture_setup(void **state, const char *dir_template, bool create)
{
    struct fixture *f = test_calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s", dir_template);
    if (!mkdtemp(f->dir)) {
        test_free(f);
        return -1;
    }
    f->cfg.arena_size = 4u << 20;
    f->cfg.max_threads = 8;
    f->cfg.sample_interval = 1;
    f->cfg.nframe = 4;
    f->cfg.cmdline = "test";
    f->cfg.shm_dir = f->dir;
    *state = f;
    if (!create)
        return 0;
    if (pytm_arena_create(&f->cfg, &f->a) != 0)
        return -1;
    f->h = pytm_arena_header(f->a);
    return 0;
}

int
test_arena_fixture_teardown(void **state)
{
    struct fixture *f = *state;
    pytm_arena_close(f->a, false, false);
    pytm_test_rm_rf(f->dir);
    test_free(f);
    return 0;
}

static int
setup(void **state)
{
    return test_arena_fixture_setup(state, "/tmp/pytm-test-arena-XXXXXX",
                                    true);
}

static int
teardown(void **state)
{
    return test_arena_fixture_teardown(state);
}

struct pytm_arena *
test_arena_min(const struct fixture *f, uint32_t max_threads)
{
    struct pytm_arena_config cfg = f->cfg;
    cfg.arena_size = PYTM_ARENA_MIN_SIZE;
    cfg.max_threads = max_threads;
    cfg.nframe = 1;
    struct pytm_arena *b = NULL;
    assert_int_equal(pytm_arena_create(&cfg, &b), 0);
    return b;
}

static bool
exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static uint64_t
sec_end(const struct pytm_arena_section *s, uint64_t elem)
{
    return s->offset + s->capacity * elem;
}

static void
test_create_layout(void **state)
{
    struct fixture *f = *state;
    const struct pytm_arena_header *h = f->h;
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/pytm-%ld", f->dir, (long)getpid());
    assert_string_equal(pytm_arena_path(f->a), want);

    struct stat st;
    assert_int_equal(lstat(want, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, f->cfg.arena_size);

    assert_memory_equal(h->magic, PYTM_ARENA_MAGIC, PYTM_ARENA_MAGIC_SIZE);
    assert_int_equal(h->layout_version, PYTM_ARENA_LAYOUT_VERSION);
    assert_int_equal(h->header_size, PYTM_ARENA_HEADER_SIZE);
    assert_int_equal(h->endian_tag, PYTM_ARENA_ENDIAN_TAG);
    assert_int_equal(h->flags, PYTM_ARENA_FLAG_EXACT | PYTM_ARENA_FLAG_THREADS);
    /* thread identities right after the thread slots */
    assert_int_equal(h->thread_ids.offset,
                     h->threads.offset + h->threads.capacity * 64);
    assert_true(h->thread_ids.capacity > 0);
    assert_int_equal(h->arena_size, f->cfg.arena_size);
    assert_int_equal(h->pid, getpid());
    assert_int_equal(h->uid, geteuid());
    assert_int_equal(h->nframe, 4);
    assert_int_equal(h->sample_interval, 1);
    assert_string_equal(h->cmdline, "test");
    assert_int_equal(atomic_load(&h->state), PYTM_ARENA_RUNNING);
    uint64_t ticks;
    assert_int_equal(pytm_proc_start_ticks(getpid(), &ticks), 0);
    assert_int_equal(h->proc_start_ticks, ticks);
    uint64_t now = (uint64_t)time(NULL) * 1000000000u;
    assert_true(h->start_realtime_ns + 10000000000u > now);
    assert_true(h->start_realtime_ns < now + 10000000000u);

    /* sections: aligned, in order, inside the arena, sized */
    const struct pytm_arena_section *s[5] = {&h->threads, &h->strings,
                                             &h->frames, &h->frame_ids,
                                             &h->tracebacks};
    const uint64_t elem[5] = {64, 1, 8, 4, 64};
    uint64_t prev_end = PYTM_ARENA_HEADER_SIZE;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s[i]->offset % 64, 0);
        assert_true(s[i]->offset >= prev_end);
        assert_true(s[i]->capacity > 0);
        prev_end = sec_end(s[i], elem[i]);
    }
    assert_true(prev_end <= h->arena_size);
    assert_int_equal(h->threads.capacity, 8);
    /* nframe 4: frame ids sized for 4 per traceback */
    assert_true(h->frame_ids.capacity >= 4 * h->tracebacks.capacity);
    assert_true(h->frame_ids.capacity <= 4 * h->tracebacks.capacity + 64);
    /* the whole arena is used but for alignment slack */
    assert_true(h->arena_size - prev_end < 5 * 64);

    pytm_arena_close(f->a, false, false);
    f->a = NULL;
    assert_false(exists(want));
}

static void
test_create_umask_proof(void **state)
{
    struct fixture *f = *state;
    mode_t old = umask(0277); /* would make the file r-------- or less */
    struct pytm_arena *b;
    int rc = pytm_arena_create(&f->cfg, &b);
    umask(old);
    assert_int_equal(rc, 0);
    struct stat st;
    assert_int_equal(lstat(pytm_arena_path(b), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    pytm_arena_close(b, false, false);
}

static uint32_t
pread_u32(const char *path, off_t off)
{
    uint32_t v = 0xFFFFFFFFu;
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &v, sizeof v, off), sizeof v);
    close(fd);
    return v;
}

static void
test_close_keep(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX];
    for (int exiting = 0; exiting < 2; exiting++) {
        struct pytm_arena *b;
        assert_int_equal(pytm_arena_create(&f->cfg, &b), 0);
        strcpy(path, pytm_arena_path(b));
        pytm_arena_close(b, true, exiting);
        assert_true(exists(path));
        uint32_t state_v = pread_u32(path, offsetof(struct pytm_arena_header,
                                                    state));
        assert_int_equal(state_v,
                         exiting ? PYTM_ARENA_EXITED : PYTM_ARENA_STOPPED);
        assert_true(pread_u32(path, offsetof(struct pytm_arena_header,
                                             stop_realtime_ns)) != 0
                    || pread_u32(path, offsetof(struct pytm_arena_header,
                                                stop_realtime_ns) + 4) != 0);
        unlink(path);
    }
    pytm_arena_close(NULL, false, false); /* safe on NULL */
}

static void
test_create_invalid(void **state)
{
    struct fixture *f = *state;
    struct pytm_arena_config cfg = f->cfg;
    struct pytm_arena *b = (struct pytm_arena *)1;
    cfg.arena_size = PYTM_ARENA_MIN_SIZE - 1;
    assert_int_equal(pytm_arena_create(&cfg, &b), PYTM_E_INVAL);
    assert_null(b);
    cfg = f->cfg;
    cfg.max_threads = 1u << 20; /* 64 MiB of slots in a 4 MiB arena */
    assert_int_equal(pytm_arena_create(&cfg, &b), PYTM_E_INVAL);
    cfg = f->cfg;
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/nope", f->dir);
    cfg.shm_dir = missing;
    assert_int_equal(pytm_arena_create(&cfg, &b), PYTM_E_NOENT);
    assert_null(b);
    assert_int_equal(pytm_test_count_entries(f->dir), 1); /* fixture's */
}

static void
test_name_taken(void **state)
{
    struct fixture *f = *state;
    char p1[PATH_MAX], p2[PATH_MAX], victim[PATH_MAX], want[PATH_MAX];
    long pid = (long)getpid();
    snprintf(p1, sizeof p1, "%s/pytm-%ld-1", f->dir, pid);
    snprintf(p2, sizeof p2, "%s/pytm-%ld-2", f->dir, pid);
    snprintf(victim, sizeof victim, "%s/victim", f->dir);
    snprintf(want, sizeof want, "%s/pytm-%ld-3", f->dir, pid);
    int fd = open(p1, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "keep me", 7), 7);
    close(fd);
    assert_int_equal(symlink(victim, p2), 0);

    struct pytm_arena *b;
    assert_int_equal(pytm_arena_create(&f->cfg, &b), 0);
    assert_string_equal(pytm_arena_path(b), want);
    struct stat st;
    assert_int_equal(lstat(p1, &st), 0);
    assert_int_equal(st.st_size, 7);      /* not reused */
    assert_false(exists(victim));         /* symlink not followed */
    assert_int_equal(lstat(p2, &st), 0);
    assert_true(S_ISLNK(st.st_mode));

    /* take every remaining name: the next create fails, leaves nothing */
    for (int n = 4; n <= 9; n++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/pytm-%ld-%d", f->dir, pid, n);
        fd = open(p, O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        close(fd);
    }
    int before = pytm_test_count_entries(f->dir);
    struct pytm_arena *c = (struct pytm_arena *)1;
    assert_int_equal(pytm_arena_create(&f->cfg, &c), PYTM_E_EXISTS);
    assert_null(c);
    assert_int_equal(pytm_test_count_entries(f->dir), before);
    pytm_arena_close(b, false, false);
}

static void
test_cmdline(void **state)
{
    struct fixture *f = *state;
    /* NULL: /proc/self/cmdline, NULs turned into spaces */
    char expect[PYTM_ARENA_CMDLINE_MAX] = "";
    int fd = open("/proc/self/cmdline", O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, expect, sizeof expect - 1);
    close(fd);
    assert_true(n > 0);
    while (n > 0 && expect[n - 1] == '\0')
        n--;
    for (ssize_t i = 0; i < n; i++)
        if (expect[i] == '\0')
            expect[i] = ' ';
    expect[n] = '\0';
    struct pytm_arena_config cfg = f->cfg;
    cfg.cmdline = NULL;
    struct pytm_arena *b;
    assert_int_equal(pytm_arena_create(&cfg, &b), 0);
    assert_string_equal(pytm_arena_header(b)->cmdline, expect);
    assert_non_null(strstr(expect, "test_arena"));
    pytm_arena_close(b, false, false);

    /* too long: truncated, never in the middle of a UTF-8 sequence */
    char longer[600];
    memset(longer, 'a', 510);
    strcpy(longer + 510, "\xc3\xa9tail"); /* é straddles byte 511 */
    cfg.cmdline = longer;
    assert_int_equal(pytm_arena_create(&cfg, &b), 0);
    assert_int_equal(strlen(pytm_arena_header(b)->cmdline), 510);
    pytm_arena_close(b, false, false);
}

static void
test_intern_strings(void **state)
{
    struct fixture *f = *state;
    uint32_t a, b, a2, e, x;
    assert_int_equal(pytm_arena_intern_string(f->a, "a.pyXYZ", 4, &a), 0);
    assert_int_equal(pytm_arena_intern_string(f->a, "b.py", 4, &b), 0);
    assert_int_equal(pytm_arena_intern_string(f->a, "a.py", 4, &a2), 0);
    assert_int_equal(pytm_arena_intern_string(f->a, "", 0, &e), 0);
    assert_int_equal(pytm_arena_intern_string(f->a, NULL, 0, &x), 0);
    assert_int_equal(a, 0);  /* record diagram in arena_layout.h */
    assert_int_equal(b, 12);
    assert_int_equal(a2, a);
    assert_int_equal(e, 24);
    assert_int_equal(x, e);
    assert_int_equal(atomic_load(&f->h->published.strings_used), 32);
    assert_int_equal(atomic_load(&f->h->published.n_strings), 3);
    const uint8_t *pool = (const uint8_t *)f->h + f->h->strings.offset;
    static const uint8_t rec[12] = {4, 0, 0, 0, 'a', '.', 'p', 'y', 0, 0, 0, 0};
    assert_memory_equal(pool, rec, sizeof rec);
    assert_int_equal(pytm_arena_intern_string(f->a, NULL, 3, &x), PYTM_E_INVAL);
}

static void
test_intern_frames(void **state)
{
    struct fixture *f = *state;
    uint32_t sa, sb, id[5];
    assert_int_equal(pytm_arena_intern_string(f->a, "a.py", 4, &sa), 0);
    assert_int_equal(pytm_arena_intern_string(f->a, "bb.py", 5, &sb), 0);
    assert_int_equal(pytm_arena_intern_frame(f->a, sa, 1, &id[0]), 0);
    assert_int_equal(pytm_arena_intern_frame(f->a, sa, 2, &id[1]), 0);
    assert_int_equal(pytm_arena_intern_frame(f->a, sa, 1, &id[2]), 0);
    assert_int_equal(pytm_arena_intern_frame(f->a, sb, 1, &id[3]), 0);
    assert_int_equal(id[0], 0);
    assert_int_equal(id[1], 1);
    assert_int_equal(id[2], 0);
    assert_int_equal(id[3], 2);
    /* filename must be a published record start */
    assert_int_equal(pytm_arena_intern_frame(f->a, sa + 4, 1, &id[4]),
                     PYTM_E_INVAL);
    assert_int_equal(pytm_arena_intern_frame(f->a, 4096, 1, &id[4]),
                     PYTM_E_INVAL);
    assert_int_equal(atomic_load(&f->h->published.frames_used), 3);
    const struct pytm_arena_frame *fr =
        (const void *)((const uint8_t *)f->h + f->h->frames.offset);
    assert_int_equal(fr[2].filename, sb);
    assert_int_equal(fr[1].lineno, 2);
}

static void
test_intern_tracebacks(void **state)
{
    struct fixture *f = *state;
    uint32_t s, fr[2], t[7];
    assert_int_equal(pytm_arena_intern_string(f->a, "a.py", 4, &s), 0);
    assert_int_equal(pytm_arena_intern_frame(f->a, s, 1, &fr[0]), 0);
    assert_int_equal(pytm_arena_intern_frame(f->a, s, 2, &fr[1]), 0);
    const uint32_t ab[2] = {fr[0], fr[1]}, ba[2] = {fr[1], fr[0]};
    assert_int_equal(pytm_arena_intern_traceback(f->a, ab, 2, 2, &t[0]), 0);
    assert_int_equal(pytm_arena_intern_traceback(f->a, ab, 2, 5, &t[1]), 0);
    assert_int_equal(pytm_arena_intern_traceback(f->a, ba, 2, 2, &t[2]), 0);
    assert_int_equal(pytm_arena_intern_traceback(f->a, ab, 2, 2, &t[3]), 0);
    assert_int_equal(pytm_arena_intern_traceback(f->a, NULL, 0, 0, &t[4]), 0);
    assert_int_equal(pytm_arena_intern_traceback(f->a, NULL, 0, 0, &t[5]), 0);
    assert_int_equal(t[0], 0);
    assert_int_equal(t[1], 1); /* same frames, other total_nframe */
    assert_int_equal(t[2], 2);
    assert_int_equal(t[3], 0);
    assert_int_equal(t[4], 3);
    assert_int_equal(t[5], 3);
    const uint32_t bad[1] = {99};
    assert_int_equal(pytm_arena_intern_traceback(f->a, bad, 1, 1, &t[6]),
                     PYTM_E_INVAL);
    assert_int_equal(pytm_arena_intern_traceback(f->a, ab, 65536, 65536, &t[6]),
                     PYTM_E_INVAL);
    assert_int_equal(pytm_arena_tb_count(f->a), 4);
    assert_int_equal(atomic_load(&f->h->published.frame_ids_used), 6);
    const struct pytm_arena_tb *tb = pytm_arena_tbs(f->a);
    const uint32_t *ids =
        (const void *)((const uint8_t *)f->h + f->h->frame_ids.offset);
    assert_int_equal(tb[2].frames_at, 4);
    assert_int_equal(tb[2].nframe, 2);
    assert_int_equal(tb[1].total_nframe, 5);
    assert_int_equal(ids[4], fr[1]);
    assert_int_equal(ids[5], fr[0]);
    assert_int_equal(tb[3].nframe, 0);
    assert_true(tb[0].hash != tb[1].hash || tb[0].hash != tb[2].hash);
}

static void
test_full(void **state)
{
    struct fixture *f = *state;
    struct pytm_arena *b = test_arena_min(f, 1);
    struct pytm_arena_header *h = pytm_arena_header(b);
    struct pytm_arena_published *p = &h->published;

    char big[1001];
    uint32_t first = UINT32_MAX, sid = 0;
    int rc = 0, n = 0;
    for (n = 0; n < 100000; n++) {
        snprintf(big, sizeof big, "%01000d", n);
        rc = pytm_arena_intern_string(b, big, 1000, &sid);
        if (rc != 0)
            break;
        if (n == 0)
            first = sid;
    }
    assert_int_equal(rc, PYTM_E_FULL);
    assert_true(n > 10);
    uint64_t used = atomic_load(&p->strings_used);
    assert_true(used + PYTM_ARENA_STRING_RECORD_SIZE(1000) > h->strings.capacity);
    assert_int_equal(atomic_load(&p->n_strings), n);
    /* a hit still works when full; nothing more was published */
    snprintf(big, sizeof big, "%01000d", 0);
    assert_int_equal(pytm_arena_intern_string(b, big, 1000, &sid), 0);
    assert_int_equal(sid, first);
    assert_int_equal(pytm_arena_intern_string(b, big, 1u << 30, &sid),
                     PYTM_E_FULL);
    assert_int_equal(atomic_load(&p->strings_used), used);

    uint32_t fid = 0;
    for (uint32_t i = 0; (rc = pytm_arena_intern_frame(b, first, i, &fid)) == 0;
         i++)
        ;
    assert_int_equal(rc, PYTM_E_FULL);
    assert_int_equal(atomic_load(&p->frames_used), h->frames.capacity);

    uint32_t tid;
    for (uint32_t i = 0;; i++) {
        uint32_t one = i % (uint32_t)h->frames.capacity;
        rc = pytm_arena_intern_traceback(b, &one, 1, i, &tid);
        if (rc != 0)
            break;
    }
    assert_int_equal(rc, PYTM_E_FULL);
    uint64_t tbs = atomic_load(&p->tracebacks_used);
    uint64_t ids = atomic_load(&p->frame_ids_used);
    assert_true(tbs == h->tracebacks.capacity || ids == h->frame_ids.capacity);
    assert_int_equal(tbs, ids);
    pytm_arena_close(b, false, false);
}

static void
test_record(void **state)
{
    struct fixture *f = *state;
    uint32_t t1, t2;
    assert_int_equal(pytm_arena_intern_traceback(f->a, NULL, 0, 0, &t1), 0);
    assert_int_equal(pytm_arena_intern_traceback(f->a, NULL, 0, 1, &t2), 0);
    struct pytm_arena_tb *tb = pytm_arena_tbs(f->a);
    struct pytm_arena_counters *c = &f->h->counters;
    for (int i = 0; i < 3; i++)
        pytm_arena_record_alloc(f->a, t1, 100, 1);
    pytm_arena_record_free(f->a, t1, 100, 1);
    assert_int_equal(atomic_load(&tb[t1].size), 200);
    assert_int_equal(atomic_load(&tb[t1].count), 2);
    assert_int_equal(atomic_load(&tb[t1].samples), 2);
    assert_int_equal(atomic_load(&tb[t1].alloc_size), 300);
    assert_int_equal(atomic_load(&tb[t1].alloc_count), 3);
    assert_int_equal(atomic_load(&tb[t1].alloc_samples), 3);
    assert_int_equal(atomic_load(&c->traced_current), 200);
    assert_int_equal(atomic_load(&c->traced_peak), 300);
    assert_int_equal(atomic_load(&c->n_samples), 3);
    assert_int_equal(atomic_load(&c->n_frees), 1);
    assert_int_equal(atomic_load(&c->live_samples), 2);

    /* the serial variants have the same effect field by field */
    for (int i = 0; i < 3; i++)
        pytm_arena_record_alloc_serial(f->h, &tb[t2], 100, 1);
    pytm_arena_record_free_serial(f->h, &tb[t2], 100, 1);
    assert_int_equal(atomic_load(&tb[t2].size), atomic_load(&tb[t1].size));
    assert_int_equal(atomic_load(&tb[t2].count), atomic_load(&tb[t1].count));
    assert_int_equal(atomic_load(&tb[t2].samples), atomic_load(&tb[t1].samples));
    assert_int_equal(atomic_load(&tb[t2].alloc_size),
                     atomic_load(&tb[t1].alloc_size));
    assert_int_equal(atomic_load(&tb[t2].alloc_samples),
                     atomic_load(&tb[t1].alloc_samples));
    assert_int_equal(atomic_load(&c->traced_current), 400);
    assert_int_equal(atomic_load(&c->traced_peak), 500);
    assert_int_equal(atomic_load(&c->n_frees), 2);
    assert_int_equal(atomic_load(&c->live_samples), 4);

    /* an id past the table is ignored, not written */
    pytm_arena_record_alloc(f->a, UINT32_MAX, 7, 1);
    assert_int_equal(atomic_load(&c->traced_current), 400);
}

static void
test_reset_peak_and_clear(void **state)
{
    struct fixture *f = *state;
    uint32_t t;
    assert_int_equal(pytm_arena_intern_traceback(f->a, NULL, 0, 0, &t), 0);
    struct pytm_arena_tb *tb = &pytm_arena_tbs(f->a)[t];
    struct pytm_arena_counters *c = &f->h->counters;
    pytm_arena_record_alloc(f->a, t, 100, 1);
    pytm_arena_record_alloc(f->a, t, 50, 1);
    pytm_arena_record_free(f->a, t, 100, 1);
    assert_int_equal(atomic_load(&c->traced_peak), 150);
    pytm_arena_reset_peak(f->a);
    assert_int_equal(atomic_load(&c->traced_peak), 50);
    pytm_arena_clear(f->a);
    assert_int_equal(atomic_load(&tb->size), 0);
    assert_int_equal(atomic_load(&tb->count), 0);
    assert_int_equal(atomic_load(&tb->samples), 0);
    assert_int_equal(atomic_load(&tb->alloc_size), 150);
    assert_int_equal(atomic_load(&tb->alloc_samples), 2);
    assert_int_equal(atomic_load(&c->traced_current), 0);
    assert_int_equal(atomic_load(&c->live_samples), 0);
    assert_int_equal(atomic_load(&c->clear_epoch), 1);
    pytm_arena_clear(f->a);
    assert_int_equal(atomic_load(&c->clear_epoch), 2);
}

static void
test_count_and_memory(void **state)
{
    struct fixture *f = *state;
    struct pytm_arena_counters *c = &f->h->counters;
    pytm_arena_count(f->a, 5, 2, 1);
    pytm_arena_count(f->a, 1, 0, 0);
    assert_int_equal(atomic_load(&c->n_allocs), 6);
    assert_int_equal(atomic_load(&c->n_frees), 2);
    assert_int_equal(atomic_load(&c->n_dropped), 1);
    assert_true(atomic_load(&c->heartbeat_ns) > 0);
    uint64_t m0 = pytm_arena_memory_usage(f->a);
    assert_true(m0 >= PYTM_ARENA_HEADER_SIZE);
    char s[1000];
    memset(s, 'x', sizeof s);
    uint32_t sid;
    assert_int_equal(pytm_arena_intern_string(f->a, s, sizeof s, &sid), 0);
    uint64_t m1 = pytm_arena_memory_usage(f->a);
    assert_true(m1 >= m0 + 1000);
    assert_int_equal(atomic_load(&c->tracemalloc_memory), m1);
}

static void
test_proc_start_ticks(void **state)
{
    (void)state;
    uint64_t t = 0;
    assert_int_equal(pytm_proc_start_ticks(getpid(), &t), 0);
    assert_true(t > 0);
    assert_int_equal(pytm_proc_start_ticks(0, &t), PYTM_E_INVAL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    uint64_t ct;
    waitpid(child, NULL, 0); /* reaped: /proc/<child> is gone */
    assert_int_equal(pytm_proc_start_ticks(child, &ct), PYTM_E_NOENT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_create_layout),     T(test_create_umask_proof),
        T(test_close_keep),        T(test_create_invalid),
        T(test_name_taken),        T(test_cmdline),
        T(test_intern_strings),    T(test_intern_frames),
        T(test_intern_tracebacks), T(test_full),
        T(test_record),            T(test_reset_peak_and_clear),
        T(test_count_and_memory),  T(test_proc_start_ticks),
        T(test_intern_threads),    T(test_record_threads),
        T(test_thread_slots),      T(test_thread_slots_threads),
        T(test_split_budget_folds),
#undef T
#define B(fn) cmocka_unit_test_setup_teardown(fn, test_backing_setup, \
                                              test_backing_teardown)
        B(test_backing_sparse_at_create),
        B(test_backing_follows_published),
        B(test_backing_failure_is_full),
        B(test_backing_forget_closes_fd),
#undef B
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
