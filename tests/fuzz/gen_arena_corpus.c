/* gen_arena_corpus OUT_DIR: writes the fuzz seed corpus for
 * fuzz_arena_reader (tests/fuzz/corpus_arena/).
 *
 * Each seed is a REAL arena: created by pytm_arena_create in a private
 * temp directory and filled through the writer API (strings, frames,
 * tracebacks, aggregates, thread slots, counters, close states). The
 * smallest arena the writer makes is 1 MiB, almost all zero capacity,
 * which would make the fuzzer waste its mutations; so the object is
 * then compacted: every section is copied verbatim up to what it has
 * published (plus a little spare capacity), the sections are laid out
 * one after the other on 64-byte boundaries, and the header's section
 * table and arena_size are rewritten to match. The result is an arena
 * the reader accepts and snapshots exactly as the original (checked
 * here before writing each seed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "pytm_error.h"
#include "reader.h"
#include "snap.h"

#define ALIGN64(x) (((x) + 63u) & ~(uint64_t)63u)

struct seed {
    const char *name;
    int n_files;     /* distinct filenames */
    int n_frames;    /* frames per file */
    int depth;       /* frames per traceback */
    int n_tbs;       /* tracebacks */
    uint64_t interval;
    int threads;     /* slots claimed (one released) */
    int close_state; /* 0 running, 1 stopped, 2 exited */
};

static const struct seed SEEDS[] = {
    {"empty", 0, 0, 0, 0, 1, 0, 0},
    {"tiny_exact", 1, 2, 1, 2, 1, 1, 0},
    {"small_sampled", 2, 3, 3, 5, 4096, 2, 0},
    {"deep_stopped", 3, 8, 16, 6, 1, 3, 1},
    {"medium_exited", 6, 10, 4, 40, 1, 4, 2},
    {"no_frames_tb", 0, 0, 0, 1, 512, 1, 0},
};

static void
die(const char *what, int rc)
{
    fprintf(stderr, "gen_arena_corpus: %s: %s\n", what,
            rc < 0 ? pytm_strerror(rc) : strerror(errno));
    exit(1);
}

static void
fill(struct pytm_arena *a, const struct seed *sd)
{
    uint32_t frames[64];
    int nf = 0;
    char buf[64];
    for (int f = 0; f < sd->n_files; f++) {
        uint32_t sid;
        int len = snprintf(buf, sizeof buf, "/src/app/module_%d.py", f);
        int rc = pytm_arena_intern_string(a, buf, (size_t)len, &sid);
        if (rc)
            die("intern_string", rc);
        for (int l = 0; l < sd->n_frames && nf < 64; l++) {
            rc = pytm_arena_intern_frame(a, sid, (uint32_t)(10 * l + f + 1),
                                         &frames[nf++]);
            if (rc)
                die("intern_frame", rc);
        }
    }
    for (int t = 0; t < sd->n_tbs; t++) {
        uint32_t ids[32];
        int d = nf ? sd->depth : 0;
        for (int i = 0; i < d; i++)
            ids[i] = frames[(t * 7 + i * 3) % nf];
        uint32_t tb;
        int rc = pytm_arena_intern_traceback(a, ids, (uint32_t)d,
                                             (uint32_t)(d + (t % 3)), &tb);
        if (rc)
            die("intern_traceback", rc);
        int64_t est = sd->interval > 1 ? (int64_t)sd->interval : 32 + t;
        for (int k = 0; k <= t % 4; k++)
            pytm_arena_record_alloc(a, tb, est, 1);
        if (t % 3 == 0)
            pytm_arena_record_free(a, tb, est, 1);
    }
    pytm_arena_count(a, 100, 10, 3);
    int last = -1;
    for (int i = 0; i < sd->threads; i++) {
        snprintf(buf, sizeof buf, "worker-%d", i);
        int slot = pytm_arena_thread_claim(a, 1000 + i, buf);
        if (slot >= 0)
            pytm_arena_thread_add(a, slot, 50, 5, 1, 4096);
        last = slot;
    }
    if (last >= 0 && sd->threads > 1)
        pytm_arena_thread_release(a, last);
}

/* Copies a section [off, off+bytes) of src to dst at *at; updates sec. */
static void
move_section(uint8_t *dst, uint64_t *at, const uint8_t *src,
             struct pytm_arena_section *sec, uint64_t elem, uint64_t used,
             uint64_t spare)
{
    uint64_t cap = used + spare;
    if (cap > sec->capacity)
        cap = sec->capacity;
    memcpy(dst + *at, src + sec->offset, used * elem);
    sec->offset = *at;
    sec->capacity = cap;
    *at = ALIGN64(*at + cap * elem);
}

static uint8_t *
compact(const uint8_t *src, uint64_t *out_size)
{
    const struct pytm_arena_header *sh = (const void *)src;
    uint64_t bound = sh->arena_size;
    uint8_t *dst = calloc(1, bound);
    if (!dst)
        die("calloc", PYTM_E_NOMEM);
    memcpy(dst, src, PYTM_ARENA_HEADER_SIZE);
    struct pytm_arena_header *h = (void *)dst;
    const struct pytm_arena_published *p = &sh->published;
    uint64_t at = PYTM_ARENA_HEADER_SIZE;
    move_section(dst, &at, src, &h->threads, sizeof(struct pytm_arena_thread),
                 p->threads_hwm, 1);
    move_section(dst, &at, src, &h->strings, 1, p->strings_used, 64);
    move_section(dst, &at, src, &h->frames, sizeof(struct pytm_arena_frame),
                 p->frames_used, 2);
    move_section(dst, &at, src, &h->frame_ids, sizeof(uint32_t),
                 p->frame_ids_used, 8);
    move_section(dst, &at, src, &h->tracebacks, sizeof(struct pytm_arena_tb),
                 p->tracebacks_used, 1);
    h->arena_size = at;
    *out_size = at;
    return dst;
}

static uint8_t *
slurp(const char *path, uint64_t *size)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        die(path, 0);
    uint8_t *buf = malloc((size_t)st.st_size);
    if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size)
        die("read", 0);
    close(fd);
    *size = (uint64_t)st.st_size;
    return buf;
}

static void
spit(const char *path, const uint8_t *buf, uint64_t size)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0 || write(fd, buf, size) != (ssize_t)size || close(fd) != 0)
        die(path, 0);
}

/* Snapshot of the arena at path (must succeed). */
static void
snapshot(const char *path, struct pytm_snap *s)
{
    struct pytm_reader *r;
    int rc = pytm_reader_open_path(path, &r);
    if (rc)
        die(path, rc);
    pytm_snap_init(s);
    rc = pytm_reader_snap(r, s);
    if (rc)
        die("snapshot", rc);
    pytm_reader_close(r);
}

static int
same_tables(const struct pytm_snap *a, const struct pytm_snap *b)
{
    return a->n_strings == b->n_strings && a->n_frames == b->n_frames
           && a->n_tbs == b->n_tbs && a->n_frame_ids == b->n_frame_ids
           && a->str_pool_size == b->str_pool_size
           && memcmp(a->str_pool, b->str_pool, a->str_pool_size) == 0
           && memcmp(a->frames, b->frames, a->n_frames * sizeof *a->frames) == 0
           && memcmp(a->tbs, b->tbs, a->n_tbs * sizeof *a->tbs) == 0;
}

static void
make_seed(const char *dir, const char *out_dir, const struct seed *sd)
{
    struct pytm_arena_config cfg = {
        .arena_size = PYTM_ARENA_MIN_SIZE, .max_threads = 8,
        .sample_interval = sd->interval, .nframe = 16, .keep = true,
        .cmdline = "python3 -m pytm run app.py --fuzz-seed", .shm_dir = dir};
    struct pytm_arena *a;
    int rc = pytm_arena_create(&cfg, &a);
    if (rc)
        die("arena_create", rc);
    fill(a, sd);
    char path[512];
    snprintf(path, sizeof path, "%s", pytm_arena_path(a));
    if (sd->close_state == 0) {
        uint64_t size;
        uint8_t *raw = slurp(path, &size);
        pytm_arena_close(a, false, false);
        spit(path, raw, size);
        free(raw);
    } else {
        pytm_arena_close(a, true, sd->close_state == 2);
    }
    struct pytm_snap before, after;
    snapshot(path, &before);
    uint64_t size, csize;
    uint8_t *raw = slurp(path, &size);
    uint8_t *small = compact(raw, &csize);
    spit(path, small, csize);
    snapshot(path, &after);
    if (!same_tables(&before, &after)) {
        fprintf(stderr, "gen_arena_corpus: %s: compaction changed it\n",
                sd->name);
        exit(1);
    }
    unlink(path);
    char out[1024];
    snprintf(out, sizeof out, "%s/%s.arena", out_dir, sd->name);
    spit(out, small, csize);
    printf("%s: %llu bytes (from %llu), %u strings, %u frames, %u tbs\n", out,
           (unsigned long long)csize, (unsigned long long)size,
           after.n_strings, after.n_frames, after.n_tbs);
    pytm_snap_free(&before);
    pytm_snap_free(&after);
    free(raw);
    free(small);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_arena_corpus OUT_DIR\n");
        return 2;
    }
    char dir[] = "/tmp/pytm-gen-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", 0);
    for (size_t i = 0; i < sizeof SEEDS / sizeof SEEDS[0]; i++)
        make_seed(dir, argv[1], &SEEDS[i]);
    rmdir(dir);
    return 0;
}
