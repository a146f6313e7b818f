/* Unit tests for shm/reader: attach by pid and by path, what a snapshot
 * sees, liveness, file-type and ownership checks, list and clean.
 * Hostile-arena validation is in test_reader_corrupt.c (same program).
 * Every arena lives in a private temp dir, never in /dev/shm.
 */
#include "test_reader.h"
#include "shm/reader_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int
setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/pytm-test-reader-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->cfg = (struct pytm_arena_config){.arena_size = 2u << 20,
                                        .max_threads = 4,
                                        .sample_interval = 512,
                                        .nframe = 8,
                                        .cmdline = "test-reader",
                                        .shm_dir = f->dir};
    if (pytm_arena_create(&f->cfg, &f->a) != 0)
        return -1;
    f->h = pytm_arena_header(f->a);
    int rc = pytm_arena_intern_string(f->a, "main.py", 7, &f->s[0])
             | pytm_arena_intern_string(f->a, "lib/util.py", 11, &f->s[1])
             | pytm_arena_intern_string(f->a, "", 0, &f->s[2])
             | pytm_arena_intern_frame(f->a, f->s[0], 10, &f->f[0])
             | pytm_arena_intern_frame(f->a, f->s[1], 20, &f->f[1])
             | pytm_arena_intern_frame(f->a, f->s[0], 11, &f->f[2]);
    uint32_t t1[2] = {f->f[1], f->f[0]};
    rc |= pytm_arena_intern_traceback(f->a, &f->f[0], 1, 1, &f->t[0])
          | pytm_arena_intern_traceback(f->a, t1, 2, 5, &f->t[1])
          | pytm_arena_intern_traceback(f->a, NULL, 0, 0, &f->t[2]);
    if (rc != 0)
        return -1;
    pytm_arena_record_alloc(f->a, f->t[0], 100, 1);
    pytm_arena_record_alloc(f->a, f->t[0], 100, 1);
    pytm_arena_record_free(f->a, f->t[0], 100, 1);
    pytm_arena_record_alloc(f->a, f->t[1], 4096, 2);
    pytm_arena_count(f->a, 10, 0, 3);
    pytm_snap_init(&f->snap);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    pytm_snap_free(&f->snap);
    pytm_arena_close(f->a, false, false);
    pytm_test_rm_rf(f->dir);
    test_free(f);
    return 0;
}

uint8_t *
test_reader_copy(struct fixture *f, const char *name, char *path_out,
                 size_t *size)
{
    snprintf(path_out, PATH_MAX, "%s/%s", f->dir, name);
    *size = f->h->arena_size;
    int fd = open(path_out, O_CREAT | O_EXCL | O_RDWR, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, f->h, *size), (ssize_t)*size);
    uint8_t *m = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    close(fd);
    return m;
}

int
test_reader_try(const char *path, struct pytm_snap *snap)
{
    struct pytm_reader *r = (struct pytm_reader *)1;
    int rc = pytm_reader_open_path(path, &r);
    if (rc != 0) {
        assert_null(r);
        return rc;
    }
    rc = pytm_reader_snap(r, snap);
    if (rc != 0) {
        assert_int_equal(snap->n_strings, 0);
        assert_null(snap->str_pool);
        assert_int_equal(snap->n_tbs, 0);
        assert_null(snap->meta.cmdline);
    }
    pytm_reader_close(r);
    return rc;
}

static void
check_fixture_snapshot(struct fixture *f, const struct pytm_snap *s)
{
    assert_int_equal(pytm_snap_validate(s), 0);
    assert_int_equal(s->n_strings, 3);
    assert_string_equal(pytm_snap_string(s, 0), "main.py");
    assert_string_equal(pytm_snap_string(s, 1), "lib/util.py");
    assert_string_equal(pytm_snap_string(s, 2), "");
    assert_int_equal(s->str_len[1], 11);
    assert_int_equal(s->n_frames, 3);
    assert_string_equal(pytm_snap_string(s, s->frames[f->f[1]].filename),
                        "lib/util.py");
    assert_string_equal(pytm_snap_string(s, s->frames[f->f[2]].filename),
                        "main.py");
    assert_int_equal(s->frames[f->f[2]].lineno, 11);
    assert_int_equal(s->n_tbs, 3);
    const struct pytm_snap_tb *t1 = &s->tbs[f->t[1]];
    assert_int_equal(t1->nframe, 2);
    assert_int_equal(t1->total_nframe, 5);
    assert_int_equal(s->frame_ids[t1->frames_at], f->f[1]);
    assert_int_equal(s->frame_ids[t1->frames_at + 1], f->f[0]);
    assert_int_equal(t1->size, 4096);
    assert_int_equal(t1->count, 2);
    const struct pytm_snap_tb *t0 = &s->tbs[f->t[0]];
    assert_int_equal(t0->size, 100);
    assert_int_equal(t0->samples, 1);
    assert_int_equal(t0->alloc_size, 200);
    assert_int_equal(t0->alloc_samples, 2);
    assert_int_equal(s->tbs[f->t[2]].nframe, 0);
    assert_int_equal(s->totals.traced_current, 4196);
    assert_int_equal(s->totals.traced_peak, 4196);
    assert_int_equal(s->totals.n_allocs, 10);
    assert_int_equal(s->totals.n_dropped, 3);
    assert_int_equal(s->totals.n_samples, 3);
    assert_int_equal(s->totals.n_frees, 1);
    assert_int_equal(s->totals.live_samples, 2);
    assert_int_equal(s->meta.pid, getpid());
    assert_string_equal(s->meta.cmdline, "test-reader");
    assert_int_equal(s->meta.nframe, 8);
    assert_int_equal(s->meta.sample_interval, 512);
    assert_int_equal(s->meta.start_realtime_ns, f->h->start_realtime_ns);
    assert_true(s->meta.taken_realtime_ns >= s->meta.start_realtime_ns);
    assert_int_equal(s->meta.flags, 0);
    assert_null(s->traces);
}

static void
test_attach_path(void **state)
{
    struct fixture *f = *state;
    struct pytm_reader *r;
    assert_int_equal(pytm_reader_open_path(pytm_arena_path(f->a), &r), 0);
    assert_int_equal(pytm_reader_pid(r), getpid());
    assert_string_equal(pytm_reader_path(r), pytm_arena_path(f->a));
    assert_int_equal(pytm_reader_arena_size(r), 2u << 20);
    assert_int_equal(pytm_reader_sample_interval(r), 512);
    assert_int_equal(pytm_reader_nframe(r), 8);
    assert_int_equal(pytm_reader_liveness(r), PYTM_LIVE_RUNNING);
    assert_int_equal(pytm_reader_snap(r, &f->snap), 0);
    check_fixture_snapshot(f, &f->snap);

    /* the writer goes on; the next snapshot (into the same struct) sees it */
    uint32_t sid, fid, tid;
    assert_int_equal(pytm_arena_intern_string(f->a, "new.py", 6, &sid), 0);
    assert_int_equal(pytm_arena_intern_frame(f->a, sid, 1, &fid), 0);
    assert_int_equal(pytm_arena_intern_traceback(f->a, &fid, 1, 1, &tid), 0);
    pytm_arena_record_alloc(f->a, tid, 7, 1);
    assert_int_equal(pytm_reader_snap(r, &f->snap), 0);
    assert_int_equal(f->snap.n_strings, 4);
    assert_int_equal(f->snap.n_tbs, 4);
    assert_string_equal(
        pytm_snap_string(&f->snap,
                         f->snap.frames[f->snap.frame_ids[f->snap.tbs[tid]
                                                              .frames_at]]
                             .filename),
        "new.py");
    assert_int_equal(f->snap.tbs[tid].size, 7);
    assert_int_equal(f->snap.totals.traced_current, 4203);
    pytm_reader_close(r);
    pytm_reader_close(NULL);
}

static void
test_attach_pid(void **state)
{
    struct fixture *f = *state;
    struct pytm_reader *r;
    assert_int_equal(pytm_reader_open_pid(getpid(), f->dir, &r), 0);
    assert_string_equal(pytm_reader_path(r), pytm_arena_path(f->a));
    assert_int_equal(pytm_reader_snap(r, &f->snap), 0);
    check_fixture_snapshot(f, &f->snap);
    pytm_reader_close(r);

    /* a second, newer arena of the same pid wins */
    struct pytm_arena *b;
    assert_int_equal(pytm_arena_create(&f->cfg, &b), 0);
    assert_true(pytm_arena_header(b)->start_realtime_ns
                >= f->h->start_realtime_ns);
    pytm_arena_header(b)->start_realtime_ns = f->h->start_realtime_ns + 1;
    assert_int_equal(pytm_reader_open_pid(getpid(), f->dir, &r), 0);
    assert_string_equal(pytm_reader_path(r), pytm_arena_path(b));
    pytm_reader_close(r);
    pytm_arena_close(b, false, false);

    r = (struct pytm_reader *)1;
    assert_int_equal(pytm_reader_open_pid(getpid() + 100000, f->dir, &r),
                     PYTM_E_NOENT);
    assert_null(r);
}

static void
test_liveness_stopped_exited(void **state)
{
    struct fixture *f = *state;
    for (int exiting = 0; exiting < 2; exiting++) {
        struct pytm_arena *b;
        char path[PATH_MAX];
        assert_int_equal(pytm_arena_create(&f->cfg, &b), 0);
        strcpy(path, pytm_arena_path(b));
        struct pytm_reader *r;
        assert_int_equal(pytm_reader_open_path(path, &r), 0);
        assert_int_equal(pytm_reader_liveness(r), PYTM_LIVE_RUNNING);
        pytm_arena_close(b, true, exiting);
        assert_int_equal(pytm_reader_liveness(r),
                         exiting ? PYTM_LIVE_EXITED : PYTM_LIVE_STOPPED);
        assert_int_equal(pytm_reader_snap(r, &f->snap), 0);
        assert_int_equal(f->snap.meta.flags & PYTM_SNAP_EXITED,
                         exiting ? PYTM_SNAP_EXITED : 0);
        pytm_reader_close(r);
        unlink(path);
    }
}

static void
test_open_rejects_files(void **state)
{
    struct fixture *f = *state;
    char p[PATH_MAX];
    struct pytm_reader *r;
    snprintf(p, sizeof p, "%s/missing", f->dir);
    assert_int_equal(pytm_reader_open_path(p, &r), PYTM_E_NOENT);
    assert_int_equal(pytm_reader_open_path(f->dir, &r), PYTM_E_NOENT);
    snprintf(p, sizeof p, "%s/link", f->dir);
    assert_int_equal(symlink(pytm_arena_path(f->a), p), 0);
    assert_int_equal(pytm_reader_open_path(p, &r), PYTM_E_NOENT);
    snprintf(p, sizeof p, "%s/fifo", f->dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(pytm_reader_open_path(p, &r), PYTM_E_NOENT); /* no hang */

    static const struct {
        size_t size;
        const char *fill;
        int rc;
    } cases[] = {
        {0, "", PYTM_E_NOTREADY},         /* created, not yet sized */
        {100, "x", PYTM_E_TRUNCATED},     /* shorter than a header */
        {4096, "", PYTM_E_NOTREADY},      /* sized, magic not yet stored */
        {8192, "hello", PYTM_E_MAGIC},    /* something else */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(p, sizeof p, "%s/file%zu", f->dir, i);
        int fd = open(p, O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)cases[i].size), 0);
        assert_int_equal(pwrite(fd, cases[i].fill, strlen(cases[i].fill), 0),
                         (ssize_t)strlen(cases[i].fill));
        close(fd);
        r = (struct pytm_reader *)1;
        assert_int_equal(pytm_reader_open_path(p, &r), cases[i].rc);
        assert_null(r);
    }
}

/* Runs fn in a child with effective uid `uid`; returns its exit code. */
static int
as_uid(uid_t uid, int (*fn)(const char *), const char *arg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (seteuid(uid) != 0)
            _exit(100);
        _exit(fn(arg));
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int
child_open(const char *path)
{
    struct pytm_reader *r;
    int rc = pytm_reader_open_path(path, &r);
    pytm_reader_close(r);
    return -rc; /* 0 or the PYTM_E_* number */
}

static void
test_other_uid(void **state)
{
    struct fixture *f = *state;
    if (geteuid() != 0)
        skip(); /* needs root to make a file owned by another uid */
    char p1[PATH_MAX], p2[PATH_MAX];
    size_t size;
    uint8_t *m = test_reader_copy(f, "pytm-777777", p1, &size);
    munmap(m, size);
    m = test_reader_copy(f, "pytm-777778", p2, &size);
    munmap(m, size);
    /* world-readable files in a traversable dir: only our uid check can
     * refuse them, not the file system */
    assert_int_equal(chmod(f->dir, 0755), 0);
    assert_int_equal(chown(p1, 12345, 12345), 0);
    assert_int_equal(chown(p2, 54321, 54321), 0);
    assert_int_equal(chmod(p1, 0644), 0);
    assert_int_equal(chmod(p2, 0644), 0);
    assert_int_equal(as_uid(54321, child_open, p1), -PYTM_E_PERM);
    assert_int_equal(as_uid(54321, child_open, p2), 0);
    assert_int_equal(child_open(p1), 0); /* root reads anyone's */
}

/* Creates an arena in dir from a child process and exits: the arena of
 * a dead process. close_it: close(keep, exiting) first (EXITED), else
 * just _exit (state stays RUNNING, as after a crash). Returns the pid. */
static pid_t
dead_arena(struct fixture *f, bool close_it)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct pytm_arena_config cfg = f->cfg;
        cfg.keep = true;
        struct pytm_arena *b;
        int rc = pytm_arena_create(&cfg, &b);
        if (rc != 0)
            _exit(-rc); /* the PYTM_E_* number, for the message below */
        if (close_it)
            pytm_arena_close(b, true, true);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("child create: %s", pytm_error_name(-WEXITSTATUS(status)));
    return pid;
}

static const struct pytm_reader_entry *
find_entry(const struct pytm_reader_entry *v, size_t n, int64_t pid)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].pid == pid)
            return &v[i];
    return NULL;
}

static void
test_list_and_clean(void **state)
{
    struct fixture *f = *state;
    pid_t crashed = dead_arena(f, false);
    pid_t exited = dead_arena(f, true);
    pid_t foreign = dead_arena(f, false);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/pytm-%ld", f->dir, (long)foreign);
    bool root = geteuid() == 0;
    if (root)
        assert_int_equal(chown(p, 12345, 12345), 0);
    struct pytm_arena *stopped;
    assert_int_equal(pytm_arena_create(&f->cfg, &stopped), 0);
    char stopped_path[PATH_MAX];
    strcpy(stopped_path, pytm_arena_path(stopped));
    pytm_arena_close(stopped, true, false); /* STOPPED, our pid: alive */
    /* junk that must be neither listed nor removed */
    size_t size;
    uint8_t *m = test_reader_copy(f, "pytm-notapid", p, &size);
    munmap(m, size);
    m = test_reader_copy(f, "unrelated", p, &size);
    munmap(m, size);
    snprintf(p, sizeof p, "%s/pytm-424242", f->dir);
    int fd = open(p, O_CREAT | O_WRONLY, 0600);
    assert_int_equal(write(fd, "garbage", 7), 7);
    close(fd);

    struct pytm_reader_entry *v;
    size_t n;
    assert_int_equal(pytm_reader_list(f->dir, &v, &n), 0);
    assert_int_equal(n, 5); /* root lists the foreign one too */
    const struct pytm_reader_entry *e = find_entry(v, n, crashed);
    assert_non_null(e);
    assert_int_equal(e->liveness, PYTM_LIVE_EXITED);
    assert_string_equal(e->cmdline, "test-reader");
    assert_int_equal(e->uid, geteuid());
    assert_int_equal(e->arena_size, f->cfg.arena_size);
    assert_int_equal(e->stop_realtime_ns, 0);
    e = find_entry(v, n, exited);
    assert_non_null(e);
    assert_int_equal(e->liveness, PYTM_LIVE_EXITED);
    assert_true(e->stop_realtime_ns >= e->start_realtime_ns);
    size_t ours = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].pid == getpid()) {
            ours++;
            bool is_stopped = strcmp(v[i].path, stopped_path) == 0;
            assert_int_equal(v[i].liveness, is_stopped ? PYTM_LIVE_STOPPED
                                                       : PYTM_LIVE_RUNNING);
        }
    assert_int_equal(ours, 2);
    free(v);

    /* as root the foreign arena is not ours to clean; otherwise it is
     * just one more dead arena of ours */
    int gone = root ? 2 : 3;
    int before = pytm_test_count_entries(f->dir);
    assert_int_equal(pytm_reader_clean(f->dir), gone);
    assert_int_equal(pytm_test_count_entries(f->dir), before - gone);
    snprintf(p, sizeof p, "%s/pytm-%ld", f->dir, (long)crashed);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof p, "%s/pytm-%ld", f->dir, (long)exited);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof p, "%s/pytm-%ld", f->dir, (long)foreign);
    assert_int_equal(access(p, F_OK), root ? 0 : -1); /* not ours: kept */
    assert_int_equal(access(stopped_path, F_OK), 0);   /* pid alive: kept */
    assert_int_equal(access(pytm_arena_path(f->a), F_OK), 0);
    assert_int_equal(pytm_reader_clean(f->dir), 0);

    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/nope", f->dir);
    assert_int_equal(pytm_reader_list(missing, &v, &n), PYTM_E_NOENT);
    assert_int_equal(pytm_reader_clean(missing), PYTM_E_NOENT);
}

/* Writes a small regular file at path; returns its inode's stat. */
static struct stat
make_file(const char *path, const char *text)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    close(fd);
    return st;
}

static void
test_unlink_only_the_validated_inode(void **state)
{
    struct fixture *f = *state;
    /* GIVEN a dead arena's name, validated as inode A, then replaced by
     * another file B under the same name (what a new process of a reused
     * PID does between clean's validation and its unlink) */
    char name_path[PATH_MAX], other[PATH_MAX];
    snprintf(name_path, sizeof name_path, "%s/pytm-777", f->dir);
    snprintf(other, sizeof other, "%s/incoming", f->dir);
    struct stat a = make_file(name_path, "old");
    struct stat b = make_file(other, "new");
    assert_int_equal(rename(other, name_path), 0);
    int dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    /* WHEN the unlink is asked for A's inode, THEN B stays */
    assert_false(pytm_reader_unlink_if_same_(dfd, "pytm-777", a.st_dev,
                                             a.st_ino));
    assert_int_equal(access(name_path, F_OK), 0);
    /* AND a name that is gone is no error, just nothing removed */
    assert_false(pytm_reader_unlink_if_same_(dfd, "pytm-778", a.st_dev,
                                             a.st_ino));
    /* AND asked for B's own inode, it goes */
    assert_true(pytm_reader_unlink_if_same_(dfd, "pytm-777", b.st_dev,
                                            b.st_ino));
    assert_int_equal(access(name_path, F_OK), -1);
    close(dfd);
}

static void
test_check_owner_logic(void **state)
{
    (void)state;
    /* the rule itself, independent of who runs the test */
    assert_int_equal(pytm_reader_check_owner_(1000, 1000), 0);
    assert_int_equal(pytm_reader_check_owner_(1000, 1001), PYTM_E_PERM);
    assert_int_equal(pytm_reader_check_owner_(0, 1000), PYTM_E_PERM);
    assert_int_equal(pytm_reader_check_owner_(1000, 0), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_attach_path),
        T(test_attach_pid),
        T(test_liveness_stopped_exited),
        T(test_open_rejects_files),
        T(test_other_uid),
        T(test_check_owner_logic),
        T(test_list_and_clean),
        T(test_unlink_only_the_validated_inode),
        T(test_corrupt_header),
        T(test_corrupt_tables),
        T(test_truncated_after_attach),
        T(test_corrupt_holes),
        T(test_holes_unchecked_without_seek_hole),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
