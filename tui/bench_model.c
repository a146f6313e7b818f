/* pytm_bench_model: CPU ms per pytmtop refresh of the model.
 *
 * Builds synthetic snapshots of 1k, 10k and 100k distinct tracebacks
 * (depth 1..16, frames drawn from a pool of 200 files x 400 lines, a
 * fixed xorshift seed so runs are reproducible) and times, per grouping,
 * one refresh = pytm_model_build (group + filter + default sort), and
 * the diff refresh = two builds + pytm_model_diff. CPU time
 * (CLOCK_PROCESS_CPUTIME_ID), median of the repetitions.
 *
 * usage: pytm_bench_model [--json] [--reps N] [--only GROUPING]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "snap.h"

#define N_FILES 200u
#define N_LINES 400u
#define MAX_DEPTH 16u

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t
next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "pytm_bench_model: out of memory\n");
        exit(1);
    }
    return p;
}

/* A snapshot with n_tbs tracebacks; sizes shifted by `salt` so that two
 * snapshots differ. Filled directly (no dependency on shm/snap.c). */
static void
make_snap(struct pytm_snap *s, uint32_t n_tbs, uint32_t salt)
{
    memset(s, 0, sizeof *s);
    s->meta.sample_interval = 1;
    s->n_strings = N_FILES;
    s->str_off = xmalloc(N_FILES * sizeof *s->str_off);
    s->str_len = xmalloc(N_FILES * sizeof *s->str_len);
    s->str_pool = xmalloc(N_FILES * 64);
    uint64_t off = 0;
    for (uint32_t i = 0; i < N_FILES; i++) {
        int len = snprintf(s->str_pool + off, 64,
                           "/usr/lib/python3.11/site-packages/pkg%u/mod%u.py",
                           i % 17, i);
        s->str_off[i] = off;
        s->str_len[i] = (uint32_t)len;
        off += (uint64_t)len + 1;
    }
    s->str_pool_size = off;
    s->n_frames = N_FILES * N_LINES;
    s->frames = xmalloc(s->n_frames * sizeof *s->frames);
    for (uint32_t i = 0; i < s->n_frames; i++) {
        s->frames[i].filename = i % N_FILES;
        s->frames[i].lineno = 1 + i / N_FILES;
    }
    s->n_tbs = n_tbs;
    s->tbs = xmalloc(n_tbs * sizeof *s->tbs);
    s->frame_ids = xmalloc((size_t)n_tbs * MAX_DEPTH * sizeof *s->frame_ids);
    uint32_t at = 0;
    for (uint32_t i = 0; i < n_tbs; i++) {
        struct pytm_snap_tb *t = &s->tbs[i];
        memset(t, 0, sizeof *t);
        t->frames_at = at;
        t->nframe = 1 + (uint32_t)(next() % MAX_DEPTH);
        t->total_nframe = t->nframe;
        /* the first frame makes it distinct; the rest are shared-ish */
        s->frame_ids[at++] = i % s->n_frames;
        for (uint32_t k = 1; k < t->nframe; k++)
            s->frame_ids[at++] = (uint32_t)(next() % 2000u);
        t->count = 1 + (int64_t)(next() % 50);
        t->size = t->count * (16 + (int64_t)(next() % 512)) + salt * (i % 3);
        t->samples = t->count;
    }
    s->n_frame_ids = at;
}

static void
free_snap(struct pytm_snap *s)
{
    free(s->str_pool);
    free(s->str_off);
    free(s->str_len);
    free(s->frames);
    free(s->frame_ids);
    free(s->tbs);
    memset(s, 0, sizeof *s);
}

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct run {
    const char *name;
    enum pytm_model_group group;
    bool cumulative;
    bool diff;
};

static const struct run runs[] = {
    { "filename", PYTM_MODEL_FILENAME, false, false },
    { "lineno", PYTM_MODEL_LINENO, false, false },
    { "traceback", PYTM_MODEL_TRACEBACK, false, false },
    { "filename_cumulative", PYTM_MODEL_FILENAME, true, false },
    { "lineno_cumulative", PYTM_MODEL_LINENO, true, false },
    { "lineno_diff", PYTM_MODEL_LINENO, false, true },
    { "traceback_diff", PYTM_MODEL_TRACEBACK, false, true },
};

static double
time_run(const struct run *r, const struct pytm_snap *cur,
         const struct pytm_snap *old, int reps, size_t *rows)
{
    double *t = xmalloc((size_t)reps * sizeof *t);
    struct pytm_model_table a, b;
    pytm_model_init(&a);
    pytm_model_init(&b);
    struct pytm_model_opts o = { .group = r->group, .cumulative = r->cumulative };
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        int err = pytm_model_build(&a, cur, &o);
        if (!err && r->diff) {
            err = pytm_model_build(&b, old, &o);
            if (!err)
                err = pytm_model_diff(&a, &b);
        }
        t[i] = now_ms() - t0;
        if (err) {
            fprintf(stderr, "pytm_bench_model: %s failed (%d)\n", r->name, err);
            exit(1);
        }
    }
    *rows = a.n_rows;
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double med = t[reps / 2];
    free(t);
    pytm_model_free(&a);
    pytm_model_free(&b);
    return med;
}

int
main(int argc, char **argv)
{
    bool json = false;
    int reps = 9;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--json] [--reps N] [--only GROUPING]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
    static const uint32_t sizes[] = { 1000, 10000, 100000 };
    if (json)
        printf("{\"benchmark\": \"model_refresh\", \"unit\": \"ms_cpu\", \"results\": [");
    else
        printf("%-22s %10s %10s %10s\n", "grouping", "tracebacks", "rows", "ms/refresh");
    bool first = true;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        struct pytm_snap cur, old;
        make_snap(&cur, sizes[si], 0);
        make_snap(&old, sizes[si], 7);
        for (size_t ri = 0; ri < sizeof runs / sizeof *runs; ri++) {
            size_t rows = 0;
            if (only && strcmp(only, runs[ri].name) != 0)
                continue;
            double ms = time_run(&runs[ri], &cur, &old, reps, &rows);
            if (json) {
                printf("%s\n  {\"grouping\": \"%s\", \"tracebacks\": %u, "
                       "\"rows\": %zu, \"ms\": %.3f}",
                       first ? "" : ",", runs[ri].name, sizes[si], rows, ms);
                first = false;
            } else {
                printf("%-22s %10u %10zu %10.3f\n", runs[ri].name, sizes[si],
                       rows, ms);
            }
        }
        free_snap(&cur);
        free_snap(&old);
    }
    if (json)
        printf("\n]}\n");
    return 0;
}
