/* pytm_arena_dump: print a live arena's totals as one JSON object, read
 * through shm's reader exactly as pytmtop would (test tool).
 *
 *   pytm_arena_dump -p PID     newest arena of PID under /dev/shm
 *   pytm_arena_dump PATH       an explicit arena object
 *
 * Exit status 0 with the JSON on stdout, 1 with a message on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pytm_error.h"
#include "reader.h"
#include "snap.h"

int
main(int argc, char **argv)
{
    struct pytm_reader *r = NULL;
    int rc;
    if (argc == 3 && strcmp(argv[1], "-p") == 0) {
        rc = pytm_reader_open_pid((pid_t)strtol(argv[2], NULL, 10), NULL, &r);
    }
    else if (argc == 2 && argv[1][0] != '-') {
        rc = pytm_reader_open_path(argv[1], &r);
    }
    else {
        fprintf(stderr, "usage: %s -p PID | %s PATH\n", argv[0], argv[0]);
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr, "pytm_arena_dump: %s\n", pytm_strerror(rc));
        return 1;
    }
    struct pytm_snap s;
    pytm_snap_init(&s);
    rc = pytm_reader_snap(r, &s);
    if (rc < 0) {
        fprintf(stderr, "pytm_arena_dump: snapshot: %s\n", pytm_strerror(rc));
        pytm_reader_close(r);
        return 1;
    }
    int64_t sum_size = 0, sum_count = 0;
    for (uint32_t i = 0; i < s.n_tbs; i++) {
        sum_size += s.tbs[i].size;
        sum_count += s.tbs[i].count;
    }
    const struct pytm_snap_totals *t = &s.totals;
    printf("{\"path\": \"%s\", \"pid\": %lld, \"liveness\": \"%s\", "
           "\"sample_interval\": %llu, \"nframe\": %u, "
           "\"traced_current\": %lld, \"traced_peak\": %lld, "
           "\"n_allocs\": %llu, \"n_samples\": %llu, \"n_frees\": %llu, "
           "\"n_dropped\": %llu, \"live_samples\": %llu, "
           "\"clear_epoch\": %llu, \"n_strings\": %u, \"n_frames\": %u, "
           "\"n_tracebacks\": %u, \"sum_tb_size\": %lld, "
           "\"sum_tb_count\": %lld, \"n_threads\": %u, "
           "\"threads_unknown\": %llu, \"stacks_folded\": %llu}\n",
           pytm_reader_path(r), (long long)pytm_reader_pid(r),
           pytm_reader_liveness_name(pytm_reader_liveness(r)),
           (unsigned long long)pytm_reader_sample_interval(r),
           pytm_reader_nframe(r), (long long)t->traced_current,
           (long long)t->traced_peak, (unsigned long long)t->n_allocs,
           (unsigned long long)t->n_samples, (unsigned long long)t->n_frees,
           (unsigned long long)t->n_dropped,
           (unsigned long long)t->live_samples,
           (unsigned long long)t->clear_epoch, s.n_strings, s.n_frames,
           s.n_tbs, (long long)sum_size, (long long)sum_count, s.n_threads,
           (unsigned long long)t->threads_unknown,
           (unsigned long long)t->stacks_folded);
    pytm_snap_free(&s);
    pytm_reader_close(r);
    return 0;
}
