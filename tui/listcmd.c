/* tui/listcmd: --list and --clean over shm/reader_list. */
#include "listcmd.h"

#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "app.h"
#include "pytm_clock.h"
#include "pytm_error.h"
#include "reader.h"
#include "source.h"

static void
fmt_age(char *buf, size_t len, uint64_t start_ns)
{
    uint64_t now = pytm_clock_ns(CLOCK_REALTIME);
    uint64_t s = start_ns && now > start_ns ? (now - start_ns) / 1000000000u : 0;
    if (s < 3600)
        snprintf(buf, len, "%" PRIu64 ":%02" PRIu64, s / 60, s % 60);
    else
        snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
}

int
pytm_listcmd_list(FILE *out)
{
    struct pytm_reader_entry *e = NULL;
    size_t n = 0;
    int err = pytm_reader_list(pytm_source_shm_dir(), &e, &n);
    if (err) {
        const char *dir = pytm_source_shm_dir();
        fprintf(stderr, "pytmtop: cannot list arenas in %s: %s\n",
                dir ? dir : "/dev/shm", pytm_strerror(err));
        return 1;
    }
    fprintf(out, "%8s  %-8s %9s %10s  %s\n", "PID", "STATE", "AGE", "ARENA",
            "COMMAND");
    for (size_t i = 0; i < n; i++) {
        char age[32], size[32];
        fmt_age(age, sizeof age, e[i].start_realtime_ns);
        pytm_fmt_size(size, sizeof size, (int64_t)e[i].arena_size, false);
        e[i].cmdline[sizeof e[i].cmdline - 1] = '\0';
        fprintf(out, "%8" PRId64 "  %-8s %9s %10s  %s\n", e[i].pid,
                pytm_reader_liveness_name(e[i].liveness), age, size,
                e[i].cmdline);
    }
    free(e);
    return 0;
}

int
pytm_listcmd_clean(FILE *out)
{
    int n = pytm_reader_clean(pytm_source_shm_dir());
    if (n < 0) {
        const char *dir = pytm_source_shm_dir();
        fprintf(stderr, "pytmtop: clean failed in %s: %s\n",
                dir ? dir : "/dev/shm", pytm_strerror(n));
        return 1;
    }
    fprintf(out, "removed %d stale arena%s\n", n, n == 1 ? "" : "s");
    return 0;
}
