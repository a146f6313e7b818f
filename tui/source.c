/* tui/source: live arena or dump file behind one interface. */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "pytm_error.h"
#include "reader.h"

static void
reset(struct pytm_source *src)
{
    memset(src, 0, sizeof *src);
    pytm_snap_init(&src->snap);
    pytm_snap_init(&src->scratch);
}

const char *
pytm_source_shm_dir(void)
{
    const char *d = getenv("PYTM_SHM_DIR");
    return d && d[0] ? d : NULL;
}

int
pytm_source_open_pid(struct pytm_source *src, pid_t pid)
{
    reset(src);
    src->kind = PYTM_SOURCE_LIVE;
    src->pid = pid;
    int err = pytm_reader_open_pid(pid, pytm_source_shm_dir(), &src->reader);
    if (err)
        return err;
    snprintf(src->path, sizeof src->path, "%s", pytm_reader_path(src->reader));
    err = pytm_source_refresh(src);
    if (err) {
        pytm_source_close(src);
        return err;
    }
    return 0;
}

int
pytm_source_open_file(struct pytm_source *src, const char *path, char *msg,
                      size_t msg_len)
{
    reset(src);
    src->kind = PYTM_SOURCE_FILE;
    snprintf(src->path, sizeof src->path, "%s", path);
    struct pytm_dump_error de;
    int err = pytm_dump_read(path, &src->snap, &de);
    if (err) {
        if (msg && msg_len)
            snprintf(msg, msg_len, "%s", de.msg[0] ? de.msg : pytm_strerror(err));
        return err;
    }
    src->pid = src->snap.meta.pid;
    src->exited = true;
    src->n_refresh = 1;
    return 0;
}

int
pytm_source_refresh(struct pytm_source *src)
{
    if (src->kind != PYTM_SOURCE_LIVE || !src->reader)
        return 0;
    if (src->exited && src->n_refresh > 0)
        return 0; /* frozen: keep the last data */
    enum pytm_reader_liveness live = pytm_reader_liveness(src->reader);
    if (live == PYTM_LIVE_EXITED && src->n_refresh > 0) {
        /* keep the last snapshot taken while the process was alive: a
         * read now would show the interpreter's teardown (all freed) */
        src->exited = true;
        src->snap.meta.flags |= PYTM_SNAP_EXITED;
        return 0;
    }
    int err = pytm_reader_snap(src->reader, &src->scratch);
    src->last_err = err;
    if (err)
        return err;
    struct pytm_snap tmp = src->snap;
    src->snap = src->scratch;
    src->scratch = tmp;
    pytm_snap_free(&src->scratch);
    src->n_refresh++;
    src->stopped = live == PYTM_LIVE_STOPPED;
    if (live == PYTM_LIVE_EXITED) {
        src->exited = true;
        src->snap.meta.flags |= PYTM_SNAP_EXITED;
    }
    return 0;
}

void
pytm_source_close(struct pytm_source *src)
{
    pytm_reader_close(src->reader);
    src->reader = NULL;
    pytm_snap_free(&src->snap);
    pytm_snap_free(&src->scratch);
}

int64_t
pytm_source_rss(int64_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%lld/status", (long long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}
