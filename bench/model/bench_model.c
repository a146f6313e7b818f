/* pytm_bench_model: CPU ms per pytmtop refresh of the model.
 *
 * Builds synthetic snapshots of 1k, 10k and 100k distinct tracebacks
 * (depth 1..16, frames drawn from a pool of 200 files x 400 lines, a
 * fixed xorshift seed so runs are reproducible; the baseline snapshot
 * draws its own frames, so a diff has ~2x the rows) and times, per view:
 *
 *   api     pytm_model_build (group + default sort), and for a diff view
 *           two builds + pytm_model_diff: what statistics() and
 *           compare_to() cost (the only figure of earlier versions)
 *   full    one viewer refresh with a full order: build(opts.unsorted),
 *           for a diff view pytm_model_diff against a baseline table
 *           built once (outside the timing, as when the baseline is
 *           taken), then pytm_model_sort in the view's order
 *   top     the same refresh ordering only the first TOP_ROWS rows
 *           (pytm_model_sort_top), what a screen shows
 *
 * CPU time (CLOCK_PROCESS_CPUTIME_ID); prints the median and the
 * minimum of the repetitions (at least 7). --check verifies that the
 * three ways give the same leading rows.
 *
 * usage: pytm_bench_model [--json] [--reps N] [--only VIEW]
 *                         [--mode api|full|top] [--check]
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
#define TOP_ROWS 200u
#define MIN_REPS 7

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
 * snapshots differ. Its arrays are filled directly, in bulk; it is
 * released with pytm_snap_free like any other. */
static void
make_snap(struct pytm_snap *s, uint32_t n_tbs, uint32_t salt)
{
    pytm_snap_init(s);
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
    { "filename_diff", PYTM_MODEL_FILENAME, false, true },
    { "lineno_diff", PYTM_MODEL_LINENO, false, true },
    { "lineno_cumulative_diff", PYTM_MODEL_LINENO, true, true },
    { "traceback_diff", PYTM_MODEL_TRACEBACK, false, true },
};

enum mode { MODE_API, MODE_FULL, MODE_TOP, N_MODES };
static const char *const mode_names[N_MODES] = { "api", "full", "top" };

struct stat {
    double med, min;
};

static void
fail(const char *what, const char *name, int err)
{
    fprintf(stderr, "pytm_bench_model: %s %s failed (%d)\n", what, name, err);
    exit(1);
}

/* One refresh of view r in mode m into *a (*b: the baseline table). */
static int
refresh(const struct run *r, enum mode m, struct pytm_model_table *a,
        struct pytm_model_table *b, const struct pytm_snap *cur,
        const struct pytm_snap *old)
{
    struct pytm_model_opts o = { .group = r->group, .cumulative = r->cumulative,
                                 .unsorted = m != MODE_API };
    int err = pytm_model_build(a, cur, &o);
    if (!err && r->diff) {
        if (m == MODE_API)
            err = pytm_model_build(b, old, &o);
        if (!err)
            err = pytm_model_diff(a, b);
    }
    enum pytm_model_sort s = r->diff ? PYTM_MODEL_SORT_COMPARE : PYTM_MODEL_SORT_SIZE;
    if (!err && m == MODE_FULL)
        err = pytm_model_sort(a, s, true);
    if (!err && m == MODE_TOP)
        err = pytm_model_sort_top(a, s, true, TOP_ROWS);
    return err;
}

static struct stat
time_run(const struct run *r, enum mode m, const struct pytm_snap *cur,
         const struct pytm_snap *old, int reps, size_t *rows)
{
    double *t = xmalloc((size_t)reps * sizeof *t);
    struct pytm_model_table a, b;
    pytm_model_init(&a);
    pytm_model_init(&b);
    if (r->diff && m != MODE_API) { /* the baseline, taken once */
        struct pytm_model_opts o = { .group = r->group,
                                     .cumulative = r->cumulative,
                                     .unsorted = true };
        int err = pytm_model_build(&b, old, &o);
        if (err)
            fail("baseline", r->name, err);
    }
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        int err = refresh(r, m, &a, &b, cur, old);
        t[i] = now_ms() - t0;
        if (err)
            fail(mode_names[m], r->name, err);
    }
    *rows = a.n_rows;
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    struct stat st = { t[reps / 2], t[0] };
    free(t);
    pytm_model_free(&a);
    pytm_model_free(&b);
    return st;
}

/* --check: the leading rows of the three modes agree, and a partial
 * sort keeps every row. Returns the number of mismatches. */
static int
check_run(const struct run *r, const struct pytm_snap *cur,
          const struct pytm_snap *old)
{
    struct pytm_model_table t[N_MODES], b;
    pytm_model_init(&b);
    struct pytm_model_opts o = { .group = r->group, .cumulative = r->cumulative,
                                 .unsorted = true };
    if (r->diff && pytm_model_build(&b, old, &o))
        fail("check baseline", r->name, -1);
    for (int m = 0; m < N_MODES; m++) {
        pytm_model_init(&t[m]);
        if (refresh(r, (enum mode)m, &t[m], &b, cur, old))
            fail("check", r->name, -1);
    }
    int bad = 0;
    size_t n = t[MODE_API].n_rows;
    if (t[MODE_FULL].n_rows != n || t[MODE_TOP].n_rows != n
        || t[MODE_FULL].n_sorted != n || t[MODE_TOP].n_sorted < (n < TOP_ROWS ? n : TOP_ROWS))
        bad++;
    int64_t sum[N_MODES] = { 0 };
    for (int m = 0; m < N_MODES; m++)
        for (size_t i = 0; i < t[m].n_rows; i++)
            sum[m] += t[m].rows[i].size_diff * 3 + t[m].rows[i].count;
    if (sum[MODE_FULL] != sum[MODE_API] || sum[MODE_TOP] != sum[MODE_API])
        bad++;
    for (size_t i = 0; !bad && i < n; i++) {
        const struct pytm_model_row *x = &t[MODE_API].rows[i];
        for (int m = MODE_FULL; m < N_MODES; m++) {
            if (m == MODE_TOP && i >= t[m].n_sorted)
                continue;
            const struct pytm_model_row *y = &t[m].rows[i];
            if (x->size != y->size || x->size_diff != y->size_diff
                || x->count != y->count || x->lineno != y->lineno
                || x->nframe != y->nframe || strcmp(x->filename, y->filename) != 0)
                bad++;
        }
    }
    if (bad)
        fprintf(stderr, "pytm_bench_model: --check %s: MISMATCH\n", r->name);
    for (int m = 0; m < N_MODES; m++)
        pytm_model_free(&t[m]);
    pytm_model_free(&b);
    return bad;
}

int
main(int argc, char **argv)
{
    bool json = false, check = false;
    int reps = 9;
    const char *only = NULL, *only_mode = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--check") == 0)
            check = true;
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
            only_mode = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--json] [--reps N>=7] [--only VIEW] [--mode api|full|top] "
                    "[--check]\n",
                    argv[0]);
            return 2;
        }
    }
    if (reps < MIN_REPS)
        reps = MIN_REPS;
    static const uint32_t sizes[] = { 1000, 10000, 100000 };
    if (json)
        printf("{\"benchmark\": \"model_refresh\", \"unit\": \"ms_cpu\", "
               "\"reps\": %d, \"top_rows\": %u, \"results\": [", reps, TOP_ROWS);
    else
        printf("CPU ms per refresh, median (min) of %d runs; top = first %u rows ordered\n"
               "%-23s %7s %7s %15s %15s %15s\n", reps, TOP_ROWS, "view",
               "tbs", "rows", "api", "full", "top");
    bool first = true;
    int bad = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        struct pytm_snap cur, old;
        make_snap(&cur, sizes[si], 0);
        make_snap(&old, sizes[si], 7);
        for (size_t ri = 0; ri < sizeof runs / sizeof *runs; ri++) {
            const struct run *r = &runs[ri];
            if (only && strcmp(only, r->name) != 0)
                continue;
            if (check) {
                bad += check_run(r, &cur, &old);
                continue;
            }
            size_t rows = 0;
            struct stat st[N_MODES];
            bool ran[N_MODES];
            for (int m = 0; m < N_MODES; m++) {
                ran[m] = !only_mode || strcmp(only_mode, mode_names[m]) == 0;
                if (ran[m])
                    st[m] = time_run(r, (enum mode)m, &cur, &old, reps, &rows);
            }
            if (json) {
                printf("%s\n  {\"view\": \"%s\", \"tracebacks\": %u, \"rows\": %zu",
                       first ? "" : ",", r->name, sizes[si], rows);
                for (int m = 0; m < N_MODES; m++)
                    if (ran[m])
                        printf(", \"%s_ms\": %.3f, \"%s_min_ms\": %.3f",
                               mode_names[m], st[m].med, mode_names[m], st[m].min);
                printf("}");
                first = false;
            } else {
                printf("%-23s %7u %7zu", r->name, sizes[si], rows);
                for (int m = 0; m < N_MODES; m++)
                    if (ran[m])
                        printf(" %7.3f (%5.2f)", st[m].med, st[m].min);
                    else
                        printf(" %15s", "-");
                printf("\n");
            }
        }
        pytm_snap_free(&cur);
        pytm_snap_free(&old);
    }
    if (json)
        printf("\n]}\n");
    if (check)
        printf("--check: %s\n", bad ? "MISMATCH" : "ok");
    return bad ? 1 : 0;
}
