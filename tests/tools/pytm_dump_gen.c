/* pytm_dump_gen: builds a .pytm dump from a line-oriented text
 * description, with the current writer. Used to make the golden files
 * (tests/golden/README.md) and for size comparisons (bench).
 *
 *   usage: pytm_dump_gen IN.txt|- OUT.pytm
 *
 * One directive per line; '#' starts a comment line; numbers are
 * decimal (or 0x hex), negative where the field is signed:
 *   pid N | start_ns N | taken_ns N | interval N | nframe N | flags N
 *   cmdline REST-OF-LINE
 *   totals CUR PEAK ALLOCS SAMPLES FREES DROPPED LIVE EPOCH
 *   string REST-OF-LINE        (escapes: \\ \n \t \xNN)
 *   frame FILENAME_INDEX LINENO
 *   tb TOTAL_NFRAME SIZE COUNT SAMPLES ALLOC_SIZE ALLOC_COUNT
 *      ALLOC_SAMPLES [FRAME_ID...]  (nframe = number of ids; one line)
 *   trace SIZE EST_SIZE EST_COUNT TB DOMAIN   (sets HAS_TRACES)
 * Exit status 0 on success, 1 with a message on stderr otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "pytm_error.h"
#include "snap.h"

static unsigned long lineno;

static void
die(const char *what)
{
    fprintf(stderr, "pytm_dump_gen: line %lu: %s\n", lineno, what);
    exit(1);
}

static unsigned long long
num(char **p)
{
    char *end;
    errno = 0;
    unsigned long long v;
    while (**p == ' ' || **p == '\t')
        (*p)++;
    if (**p == '-')
        v = (unsigned long long)strtoll(*p, &end, 0);
    else
        v = strtoull(*p, &end, 0);
    if (end == *p || errno)
        die("expected a number");
    *p = end;
    return v;
}

static int
more(char *p)
{
    return p[strspn(p, " \t\r\n")] != '\0';
}

/* Decodes the escapes of s in place; returns the length. */
static size_t
unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r && *r != '\n'; r++) {
        if (*r != '\\') {
            *w++ = *r;
            continue;
        }
        r++;
        if (*r == 'n')
            *w++ = '\n';
        else if (*r == 't')
            *w++ = '\t';
        else if (*r == '\\')
            *w++ = '\\';
        else if (*r == 'x' && r[1] && r[2]) {
            char hex[3] = {r[1], r[2], 0};
            *w++ = (char)strtoul(hex, NULL, 16);
            r += 2;
        } else
            die("bad escape");
    }
    return (size_t)(w - s);
}

static void
directive(struct pytm_snap *s, char *line)
{
    char *p = line + strcspn(line, " \t\n");
    size_t klen = (size_t)(p - line);
    if (*p == ' ' || *p == '\t')
        p++;
#define IS(k) (klen == strlen(k) && memcmp(line, k, klen) == 0)
    if (IS("pid"))
        s->meta.pid = (int64_t)num(&p);
    else if (IS("start_ns"))
        s->meta.start_realtime_ns = num(&p);
    else if (IS("taken_ns"))
        s->meta.taken_realtime_ns = num(&p);
    else if (IS("interval"))
        s->meta.sample_interval = num(&p);
    else if (IS("nframe"))
        s->meta.nframe = (uint32_t)num(&p);
    else if (IS("flags"))
        s->meta.flags |= (uint32_t)num(&p);
    else if (IS("cmdline")) {
        p[strcspn(p, "\n")] = '\0';
        free(s->meta.cmdline);
        s->meta.cmdline = strdup(p);
    } else if (IS("totals")) {
        struct pytm_snap_totals *t = &s->totals;
        t->traced_current = (int64_t)num(&p);
        t->traced_peak = (int64_t)num(&p);
        t->n_allocs = num(&p);
        t->n_samples = num(&p);
        t->n_frees = num(&p);
        t->n_dropped = num(&p);
        t->live_samples = num(&p);
        t->clear_epoch = num(&p);
    } else if (IS("string")) {
        size_t len = unescape(p);
        if (pytm_snap_add_string(s, p, len, NULL))
            die("add_string failed");
    } else if (IS("frame")) {
        uint32_t file = (uint32_t)num(&p);
        if (pytm_snap_add_frame(s, file, (uint32_t)num(&p), NULL))
            die("add_frame failed");
    } else if (IS("tb")) {
        unsigned long long v[7];
        uint32_t ids[256], n = 0, idx;
        for (int i = 0; i < 7; i++)
            v[i] = num(&p);
        while (more(p)) {
            if (n == 256)
                die("more than 256 frames");
            ids[n++] = (uint32_t)num(&p);
        }
        if (pytm_snap_add_tb(s, ids, n, (uint32_t)v[0], &idx))
            die("add_tb failed");
        s->tbs[idx].size = (int64_t)v[1];
        s->tbs[idx].count = (int64_t)v[2];
        s->tbs[idx].samples = (int64_t)v[3];
        s->tbs[idx].alloc_size = v[4];
        s->tbs[idx].alloc_count = v[5];
        s->tbs[idx].alloc_samples = v[6];
    } else if (IS("trace")) {
        struct pytm_snap_trace t;
        t.size = num(&p);
        t.est_size = (int64_t)num(&p);
        t.est_count = (int64_t)num(&p);
        t.tb = (uint32_t)num(&p);
        t.domain = (uint32_t)num(&p);
        if (pytm_snap_add_trace(s, &t))
            die("add_trace failed");
    } else {
        die("unknown directive");
    }
#undef IS
}

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pytm_dump_gen IN.txt|- OUT.pytm\n");
        return 1;
    }
    FILE *in = strcmp(argv[1], "-") ? fopen(argv[1], "r") : stdin;
    if (!in) {
        perror(argv[1]);
        return 1;
    }
    struct pytm_snap s;
    pytm_snap_init(&s);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, in) > 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == '\0' || line[0] == '#')
            continue;
        directive(&s, line);
    }
    free(line);
    if (in != stdin)
        fclose(in);
    struct pytm_dump_error err;
    int rc = pytm_dump_write(argv[2], &s, &err);
    if (rc)
        fprintf(stderr, "pytm_dump_gen: %s: %s (%s)\n", argv[2], err.msg,
                pytm_error_name(rc));
    pytm_snap_free(&s);
    return rc ? 1 : 0;
}
