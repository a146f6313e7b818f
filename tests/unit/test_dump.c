/* test_dump: the .pytm format round-trips, stays compatible, and keeps
 * decoding the committed golden files and fuzz regressions.
 * Corrupt-input tests are in test_dump_corrupt.c. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dump.h"
#include "dump_testlib.h"
#include "le.h"
#include "pytm/dump_format.h"
#include "pytm_error.h"
#include "snap.h"

#ifndef PYTM_SOURCE_DIR
#error "PYTM_SOURCE_DIR must point at the source tree (golden files)"
#endif

struct fx {
    struct pytm_snap in, out;
    uint8_t *img, *img2;
    size_t len, len2;
    struct pytm_dump_error err;
    struct dt_dump dt;
    char dir[64]; /* private temporary directory */
    char path[128];
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    pytm_snap_init(&f->in);
    pytm_snap_init(&f->out);
    snprintf(f->dir, sizeof(f->dir), "/tmp/pytm-test-dump-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/snap.pytm", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    pytm_snap_free(&f->in);
    pytm_snap_free(&f->out);
    free(f->img);
    free(f->img2);
    dt_free(&f->dt);
    DIR *dir = opendir(f->dir);
    if (dir) {
        struct dirent *de;
        char p[512];
        while ((de = readdir(dir)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
                unlink(p);
            }
        closedir(dir);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
assert_same(const struct pytm_snap *a, const struct pytm_snap *b)
{
    char why[128] = "";
    if (dt_snap_diff(a, b, why, sizeof(why)))
        fail_msg("snapshots differ: %s", why);
}

/* write_mem -> read_mem -> compare, then the same through a file */
static void
round_trip(struct fx *f)
{
    assert_int_equal(pytm_dump_write_mem(&f->in, (void **)&f->img, &f->len,
                                         &f->err), 0);
    assert_int_equal(pytm_dump_read_mem(f->img, f->len, &f->out, &f->err),
                     0);
    assert_int_equal(f->err.code, 0);
    assert_string_equal(f->err.msg, "");
    assert_int_equal(pytm_snap_validate(&f->out), 0);
    assert_same(&f->in, &f->out);
    pytm_snap_free(&f->out);
    assert_int_equal(pytm_dump_write(f->path, &f->in, &f->err), 0);
    assert_int_equal(pytm_dump_read(f->path, &f->out, &f->err), 0);
    assert_same(&f->in, &f->out);
}

static void
test_round_trip_empty(void **state)
{
    struct fx *f = *state;
    round_trip(f); /* no traces section */
    pytm_snap_free(&f->out);
    f->in.meta.flags = PYTM_SNAP_HAS_TRACES; /* present but empty */
    free(f->img);
    f->img = NULL;
    round_trip(f);
    assert_non_null(f->out.meta.cmdline);
    assert_string_equal(f->out.meta.cmdline, "");
}

static void
test_round_trip_small(void **state)
{
    struct fx *f = *state;
    assert_int_equal(dt_build_small(&f->in), 0);
    round_trip(f);
    /* spot checks independent of the comparer */
    assert_int_equal(f->out.n_strings, 6);
    assert_string_equal(pytm_snap_string(&f->out, 2),
                        "m\xc3\xb3" "dulo_\xc3\xbc\xe2\x82\xac.py");
    assert_int_equal(f->out.str_len[5], 6);
    assert_memory_equal(pytm_snap_string(&f->out, 5),
                        "\x01\xff\0x\x7f\x80", 6);
    assert_int_equal(f->out.tbs[1].nframe, 0);
    assert_int_equal(f->out.tbs[0].total_nframe, 57);
    assert_int_equal(f->out.tbs[2].size, -5);
    assert_true(f->out.tbs[0].alloc_size == UINT64_MAX);
    assert_true(f->out.traces[4].est_size == INT64_MIN);
    assert_true(f->out.traces[4].size == UINT64_MAX);
    assert_int_equal(f->out.frames[3].lineno, UINT32_MAX);
}

/* GIVEN a snapshot with per-thread figures WHEN written and read THEN
 * they come back (a v1.1 file with a `threads` section), while the same
 * snapshot without them stays a v1.0 file of the same sections. */
static void
test_round_trip_threads(void **state)
{
    struct fx *f = *state;
    assert_int_equal(dt_build_small(&f->in), 0);
    assert_int_equal(pytm_dump_write_mem(&f->in, (void **)&f->img, &f->len,
                                         &f->err), 0);
    assert_int_equal(pytm_le_get16(f->img + PYTM_DUMP_HDR_MINOR), 0);
    uint32_t n_plain = pytm_le_get32(f->img + PYTM_DUMP_HDR_N_SECTIONS);
    free(f->img);
    f->img = NULL;
    assert_int_equal(dt_add_threads(&f->in), 0);
    round_trip(f);
    assert_int_equal(pytm_le_get16(f->img + PYTM_DUMP_HDR_MINOR), 1);
    assert_int_equal(pytm_le_get32(f->img + PYTM_DUMP_HDR_N_SECTIONS),
                     n_plain + 1);
    assert_int_equal(f->out.n_threads, 2);
    assert_string_equal(f->out.threads[1].os_name, "worker-0123456");
    assert_int_equal(f->out.threads[1].py_name, PYTM_SNAP_NO_NAME);
    assert_true(f->out.splits[2].samples == INT64_MIN);
    assert_true(f->out.totals.stacks_folded == UINT64_MAX);
}

static void
test_writer_is_deterministic(void **state)
{
    struct fx *f = *state;
    assert_int_equal(dt_build_small(&f->in), 0);
    assert_int_equal(pytm_dump_write_mem(&f->in, (void **)&f->img, &f->len,
                                         NULL), 0);
    assert_int_equal(pytm_dump_read_mem(f->img, f->len, &f->out, NULL), 0);
    assert_int_equal(pytm_dump_write_mem(&f->out, (void **)&f->img2,
                                         &f->len2, NULL), 0);
    assert_int_equal(f->len, f->len2);
    assert_memory_equal(f->img, f->img2, f->len);
}

static void
test_write_rejects_invalid_snapshot(void **state)
{
    struct fx *f = *state;
    assert_int_equal(dt_build_small(&f->in), 0);
    f->in.traces[0].tb = 99; /* no such traceback */
    assert_int_equal(pytm_dump_write(f->path, &f->in, &f->err),
                     PYTM_E_INVAL);
    assert_non_null(strstr(f->err.msg, "validate"));
    assert_int_equal(access(f->path, F_OK), -1);
}

static int
count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static void
test_write_file_atomic_and_mode(void **state)
{
    struct fx *f = *state;
    struct stat st;
    assert_int_equal(dt_build_small(&f->in), 0);
    mode_t old = umask(022);
    assert_int_equal(pytm_dump_write(f->path, &f->in, &f->err), 0);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* replace an existing file, under a stricter umask */
    umask(077);
    assert_int_equal(pytm_dump_write(f->path, &f->in, &f->err), 0);
    umask(old);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(count_entries(f->dir), 1); /* no temp file left */
    /* a symlink at path is replaced, its target left alone */
    char target[160], link_path[160];
    snprintf(target, sizeof(target), "%s/target", f->dir);
    snprintf(link_path, sizeof(link_path), "%s/link.pytm", f->dir);
    FILE *t = fopen(target, "w");
    assert_non_null(t);
    fputs("keep", t);
    fclose(t);
    assert_int_equal(symlink(target, link_path), 0);
    assert_int_equal(pytm_dump_write(link_path, &f->in, &f->err), 0);
    assert_int_equal(lstat(link_path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 4);
    unlink(target);
    unlink(link_path);
    /* a missing directory fails cleanly */
    char bad[192];
    snprintf(bad, sizeof(bad), "%s/nodir/x.pytm", f->dir);
    assert_int_equal(pytm_dump_write(bad, &f->in, &f->err), PYTM_E_IO);
    assert_non_null(strstr(f->err.msg, "nodir"));
    assert_int_equal(count_entries(f->dir), 1);
    /* a directory as the target: rename fails, temp file removed */
    char sub[160];
    snprintf(sub, sizeof(sub), "%s/sub", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(pytm_dump_write(sub, &f->in, &f->err), PYTM_E_IO);
    assert_non_null(strstr(f->err.msg, "rename"));
    assert_int_equal(count_entries(f->dir), 2);
    rmdir(sub);
}

static void
test_round_trip_million(void **state)
{
    struct fx *f = *state;
    const uint64_t n = 1000000;
    assert_int_equal(dt_build_big(&f->in, n), 0);
    double t0 = now_ms();
    assert_int_equal(pytm_dump_write_mem(&f->in, (void **)&f->img, &f->len,
                                         &f->err), 0);
    double t1 = now_ms();
    assert_int_equal(pytm_dump_read_mem(f->img, f->len, &f->out, &f->err),
                     0);
    double t2 = now_ms();
    assert_same(&f->in, &f->out);
    pytm_snap_free(&f->out);
    double t3 = now_ms();
    assert_int_equal(pytm_dump_write(f->path, &f->in, &f->err), 0);
    double t4 = now_ms();
    assert_int_equal(pytm_dump_read(f->path, &f->out, &f->err), 0);
    double t5 = now_ms();
    assert_int_equal(f->out.n_traces, n);
    print_message("1M traces: %zu bytes (%.2f B/trace); encode %.1f ms, "
                  "decode %.1f ms; file write+fsync %.1f ms, file read "
                  "%.1f ms\n", f->len, (double)f->len / (double)n, t1 - t0,
                  t2 - t1, t4 - t3, t5 - t4);
    assert_true(f->len < n * 40); /* far below the in-memory 40 B/trace */
}

/* Decoding a dump whose minor version is newer: unknown sections and
 * trailing bytes in known sections are skipped. */
static void
test_future_minor_accepted(void **state)
{
    struct fx *f = *state;
    assert_int_equal(dt_build_small(&f->in), 0);
    assert_int_equal(pytm_dump_write_mem(&f->in, (void **)&f->img, &f->len,
                                         NULL), 0);
    assert_int_equal(dt_parse(f->img, f->len, &f->dt), 0);
    /* an unknown section 42 and a longer totals payload */
    struct dt_dump *d = &f->dt;
    d->sec[d->n] = d->sec[dt_find(d, PYTM_DUMP_SEC_TOTALS)];
    d->sec[d->n].id = 42;
    d->sec[d->n].stored = NULL;
    d->n++;
    assert_int_equal(dt_set_raw(d, (int)d->n - 1, "future data", 11), 0);
    int ti = dt_find(d, PYTM_DUMP_SEC_TOTALS);
    size_t rl;
    uint8_t *raw = dt_raw(d, ti, &rl), longer[PYTM_DUMP_TOTALS_SIZE + 8];
    assert_non_null(raw);
    memcpy(longer, raw, rl);
    memset(longer + rl, 0xab, 8);
    free(raw);
    assert_int_equal(dt_set_raw(d, ti, longer, sizeof(longer)), 0);
    d->minor = PYTM_DUMP_VERSION_MINOR + 1;
    assert_int_equal(dt_build(d, &f->img2, &f->len2), 0);
    assert_int_equal(pytm_dump_read_mem(f->img2, f->len2, &f->out, &f->err),
                     0);
    assert_same(&f->in, &f->out);
    pytm_snap_free(&f->out);

    /* the same file claiming our own minor is strict about both */
    free(f->img2);
    d->minor = PYTM_DUMP_VERSION_MINOR;
    assert_int_equal(dt_build(d, &f->img2, &f->len2), 0);
    assert_int_equal(pytm_dump_read_mem(f->img2, f->len2, &f->out, &f->err),
                     PYTM_E_DUMPCORRUPT);
    assert_non_null(strstr(f->err.msg, "section id 42"));

    /* an unknown section marked must-understand is refused */
    free(f->img2);
    d->minor = PYTM_DUMP_VERSION_MINOR + 1;
    d->sec[d->n - 1].flags = PYTM_DUMP_SECFLAG_MUST_UNDERSTAND;
    assert_int_equal(dt_build(d, &f->img2, &f->len2), 0);
    assert_int_equal(pytm_dump_read_mem(f->img2, f->len2, &f->out, &f->err),
                     PYTM_E_DUMPVER);
    assert_non_null(strstr(f->err.msg, "must-understand"));
    assert_int_equal(f->out.n_strings, 0);
}

/* ---- golden files: made by v1.0, must decode forever ---- */

static void
read_golden(struct fx *f, const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/tests/golden/%s", PYTM_SOURCE_DIR, name);
    int rc = pytm_dump_read(p, &f->out, &f->err);
    if (rc)
        fail_msg("%s: %s", name, f->err.msg);
}

static void
test_golden_exact(void **state)
{
    struct fx *f = *state;
    read_golden(f, "v1_0_exact.pytm");
    struct pytm_snap *s = &f->out;
    assert_int_equal(s->meta.pid, 31337);
    assert_int_equal(s->meta.sample_interval, 1);
    assert_string_equal(s->meta.cmdline, "python3 -m pytm run app.py");
    assert_true(s->meta.flags & PYTM_SNAP_HAS_TRACES);
    assert_int_equal(s->n_strings, 3);
    assert_string_equal(pytm_snap_string(s, 0), "app.py");
    assert_string_equal(pytm_snap_string(s, 1),
                        "/usr/lib/python3.11/json/decoder.py");
    assert_string_equal(pytm_snap_string(s, 2),
                        "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.py");
    assert_int_equal(s->totals.traced_current, 5184);
    assert_int_equal(s->totals.traced_peak, 10000);
    assert_int_equal(s->totals.n_allocs, 12);
    assert_int_equal(s->n_frames, 4);
    assert_int_equal(s->frames[3].filename, 2);
    assert_int_equal(s->frames[3].lineno, 99);
    assert_int_equal(s->n_tbs, 3);
    assert_int_equal(s->tbs[0].nframe, 2);
    assert_int_equal(s->tbs[2].nframe, 0);
    assert_int_equal(s->n_traces, 4);
    assert_int_equal(s->traces[1].size, 4096);
    assert_int_equal(s->traces[3].domain, 1);
    int64_t sum = 0;
    for (uint32_t i = 0; i < s->n_tbs; i++)
        sum += s->tbs[i].size;
    assert_int_equal(sum, s->totals.traced_current);
}

static void
test_golden_sampled(void **state)
{
    struct fx *f = *state;
    read_golden(f, "v1_0_sampled.pytm");
    struct pytm_snap *s = &f->out;
    assert_int_equal(s->meta.pid, 4242);
    assert_int_equal(s->meta.sample_interval, 524288);
    assert_int_equal(s->meta.flags, PYTM_SNAP_EXITED);
    assert_null(s->traces);
    assert_int_equal(s->n_strings, 2);
    assert_string_equal(pytm_snap_string(s, 1), "<frozen runpy>");
    assert_int_equal(s->totals.traced_current, 1048576);
    assert_int_equal(s->totals.n_samples, 2);
    assert_int_equal(s->totals.n_dropped, 1);
    assert_int_equal(s->n_tbs, 2);
    assert_int_equal(s->tbs[0].total_nframe, 40);
    assert_int_equal(s->tbs[0].size, 1048576);
    assert_int_equal(s->tbs[1].size, -524288);
    assert_int_equal(s->tbs[1].nframe, 0);
}

/* ---- fuzz findings and seeds: replayed with and without checksums ---- */

/* Decodes every file in tests/fuzz/<sub> whose name starts with
 * `prefix` (the regressions directory is shared with other fuzzers). */
static int
replay_dir(struct fx *f, const char *sub, const char *prefix, int expect_ok)
{
    char dpath[512], p[1024];
    snprintf(dpath, sizeof(dpath), "%s/tests/fuzz/%s", PYTM_SOURCE_DIR, sub);
    DIR *dir = opendir(dpath);
    if (!dir)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (de->d_name[0] == '.' || strstr(de->d_name, ".md") ||
            strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dpath, de->d_name);
        FILE *fp = fopen(p, "rb");
        assert_non_null(fp);
        uint8_t *buf = malloc(1 << 20);
        assert_non_null(buf);
        size_t len = fread(buf, 1, 1 << 20, fp);
        fclose(fp);
        for (unsigned flags = 0; flags <= PYTM_DUMP_READ_NO_CHECKSUM;
             flags++) {
            int rc = pytm_dump_read_mem_flags(buf, len, flags, &f->out,
                                              &f->err);
            if (rc == 0) {
                assert_int_equal(pytm_snap_validate(&f->out), 0);
            } else {
                assert_true(rc < 0);
                assert_true(f->err.msg[0] != '\0');
                assert_int_equal(f->out.n_strings + f->out.n_tbs, 0);
            }
            if (expect_ok && rc != 0)
                fail_msg("%s: %s", de->d_name, f->err.msg);
            pytm_snap_free(&f->out);
        }
        free(buf);
        n++;
    }
    closedir(dir);
    return n;
}

static void
test_fuzz_regressions_and_corpus(void **state)
{
    struct fx *f = *state;
    int nreg = replay_dir(f, "regressions", "dump-", 0);
    int ncorp = replay_dir(f, "corpus_dump", "", 1);
    print_message("replayed %d regression files, %d corpus files\n", nreg,
                  ncorp);
    assert_true(ncorp > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_empty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_small, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_writer_is_deterministic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_rejects_invalid_snapshot,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_file_atomic_and_mode,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_million, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_future_minor_accepted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_threads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_golden_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_sampled, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fuzz_regressions_and_corpus,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
