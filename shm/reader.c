/* shm/reader.c: attaching to an arena and validating its header.
 *
 * The arena is hostile input. Attach = open + fstat checks + map
 * read-only + acquire the magic + copy the identity fields + validate
 * the copy (pytm_reader_validate_identity_). From then on every bound
 * comes from the validated copy. The tables are copied out by
 * reader_snap.c; list/clean are in reader_list.c.
 *
 * Acquire side of the creation protocol (release side: arena.c
 * publish_header):
 *   read_magic()   acquire load of the 8 magic bytes -> identity visible
 *   state          acquire load in open_path / pytm_reader_liveness
 *
 * Known limit: the mapping is MAP_SHARED, so if the owner truncates the
 * file between our fstat re-check and a read, that read faults (SIGBUS).
 * Only the owning uid (or root) can truncate it, and pytm never does.
 */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "pytm_error.h"
#include "reader_internal.h"

typedef uint64_t __attribute__((may_alias)) magic_word;

int
pytm_reader_check_owner_(uid_t file_uid, uid_t euid)
{
    return (euid == 0 || file_uid == euid) ? 0 : PYTM_E_PERM;
}

/* 0 when [off, off + cap*elem) lies inside [header_size, size), is
 * 64-aligned and does not overflow. *end receives off + cap*elem. */
static int
check_section(const struct pytm_arena_section *s, uint64_t elem,
              uint64_t size, uint64_t *end)
{
    if (s->offset % 64 != 0 || s->offset < PYTM_ARENA_HEADER_SIZE
        || s->offset > size)
        return PYTM_E_CORRUPT;
    if (s->capacity > (size - s->offset) / elem)
        return PYTM_E_CORRUPT;
    *end = s->offset + s->capacity * elem;
    return 0;
}

static int
check_sections(const struct pytm_arena_header *id)
{
    /* thread_ids is the sixth section only with PYTM_ARENA_FLAG_THREADS
     * (check_threads has already required it zero otherwise). */
    int n = (id->flags & PYTM_ARENA_FLAG_THREADS) ? 6 : 5;
    const struct pytm_arena_section *sec[6] = {
        &id->threads, &id->strings, &id->frames, &id->frame_ids,
        &id->tracebacks, &id->thread_ids};
    const uint64_t elem[6] = {
        sizeof(struct pytm_arena_thread), 1, sizeof(struct pytm_arena_frame),
        sizeof(uint32_t), sizeof(struct pytm_arena_tb),
        sizeof(struct pytm_arena_thread_id)};
    uint64_t end[6];
    for (int i = 0; i < n; i++)
        if (check_section(sec[i], elem[i], id->arena_size, &end[i]) != 0)
            return PYTM_E_CORRUPT;
    /* Ids are uint32 (string ids are pool byte offsets): capacities
     * beyond that cannot be addressed and are not what pytm writes. */
    for (int i = 1; i < 5; i++)
        if (sec[i]->capacity >= UINT32_MAX)
            return PYTM_E_CORRUPT;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            if (end[i] == sec[i]->offset || end[j] == sec[j]->offset)
                continue; /* an empty section overlaps nothing */
            if (sec[i]->offset < end[j] && sec[j]->offset < end[i])
                return PYTM_E_CORRUPT;
        }
    return 0;
}

/* The thread identity section: all zero without PYTM_ARENA_FLAG_THREADS;
 * with it, at most PYTM_ARENA_MAX_THREAD_IDS entries (tb.thread is a
 * uint16 index + 1). Returns 0 or PYTM_E_CORRUPT. */
static int
check_threads(const struct pytm_arena_header *id)
{
    if (!(id->flags & PYTM_ARENA_FLAG_THREADS))
        return id->thread_ids.offset == 0 && id->thread_ids.capacity == 0
                   ? 0
                   : PYTM_E_CORRUPT;
    return id->thread_ids.capacity <= PYTM_ARENA_MAX_THREAD_IDS
               ? 0
               : PYTM_E_CORRUPT;
}

/* The tree fields: all zero without PYTM_ARENA_FLAG_TREE; with it, PIDs
 * a reader may hand to kill() (1 .. INT32_MAX), and parent_pid 0 exactly
 * for the root. Returns 0 or PYTM_E_CORRUPT. */
static int
check_tree(const struct pytm_arena_header *id)
{
    if (!(id->flags & PYTM_ARENA_FLAG_TREE))
        return id->tree_root_pid == 0 && id->parent_pid == 0
                       && id->tree_root_start_ticks == 0
                   ? 0
                   : PYTM_E_CORRUPT;
    if (id->tree_root_pid <= 0 || id->tree_root_pid > INT32_MAX)
        return PYTM_E_CORRUPT;
    if (id->parent_pid < 0 || id->parent_pid > INT32_MAX)
        return PYTM_E_CORRUPT;
    if ((id->parent_pid == 0) != (id->pid == id->tree_root_pid))
        return PYTM_E_CORRUPT;
    return 0;
}

int
pytm_reader_validate_identity_(const struct pytm_arena_header *id,
                               uint64_t file_size)
{
    if (memcmp(id->magic, PYTM_ARENA_MAGIC, PYTM_ARENA_MAGIC_SIZE) != 0)
        return PYTM_E_MAGIC;
    if (id->endian_tag != PYTM_ARENA_ENDIAN_TAG)
        return id->endian_tag == __builtin_bswap32(PYTM_ARENA_ENDIAN_TAG)
                   ? PYTM_E_ENDIAN
                   : PYTM_E_CORRUPT;
    if (id->layout_version != PYTM_ARENA_LAYOUT_VERSION)
        return PYTM_E_VERSION;
    if (id->header_size != PYTM_ARENA_HEADER_SIZE)
        return PYTM_E_CORRUPT;
    if (id->arena_size < PYTM_ARENA_HEADER_SIZE || id->arena_size > file_size)
        return PYTM_E_CORRUPT;
    /* pid feeds kill(): 0 and negatives would name process groups. */
    if (id->pid <= 0 || id->pid > INT32_MAX)
        return PYTM_E_CORRUPT;
    if (id->nframe > UINT16_MAX)
        return PYTM_E_CORRUPT;
    if (check_tree(id) != 0 || check_threads(id) != 0)
        return PYTM_E_CORRUPT;
    if (memchr(id->cmdline, '\0', sizeof id->cmdline) == NULL)
        return PYTM_E_CORRUPT;
    return check_sections(id);
}

int
pytm_reader_check_size_(const struct pytm_reader *r)
{
    struct stat st;
    if (fstat(r->fd, &st) != 0)
        return PYTM_E_IO;
    if (st.st_size < 0 || (uint64_t)st.st_size < r->id.arena_size)
        return PYTM_E_TRUNCATED;
    return 0;
}

bool
pytm_reader_pid_alive_(int64_t pid, uint64_t start_ticks)
{
    if (pid <= 0 || pid > INT32_MAX)
        return false;
    if (kill((pid_t)pid, 0) != 0 && errno != EPERM)
        return false; /* ESRCH: no such process */
    if (start_ticks == 0)
        return true;
    uint64_t now;
    int rc = pytm_proc_start_ticks((pid_t)pid, &now);
    if (rc == PYTM_E_NOENT)
        return false; /* exited since kill() */
    if (rc != 0)
        return true; /* /proc unreadable (hidepid): trust kill() */
    return now == start_ticks;
}

/* Acquire: paired with the release store of the magic in arena.c
 * publish_header(); every identity field is visible once it matches. */
static uint64_t
read_magic(const uint8_t *map)
{
    return __atomic_load_n((const magic_word *)map, __ATOMIC_ACQUIRE);
}

static int
open_error(int err)
{
    switch (err) {
    case ENOENT:
    case ELOOP: /* a symlink at the name (O_NOFOLLOW) */
    case ENOTDIR:
    case ENXIO: /* a FIFO/socket we will not read anyway */
        return PYTM_E_NOENT;
    case EACCES:
    case EPERM:
        return PYTM_E_PERM;
    case ENOMEM:
        return PYTM_E_NOMEM;
    default:
        return PYTM_E_IO;
    }
}

/* Maps and validates; on success r->map, r->map_size and r->id are set. */
static int
attach(struct pytm_reader *r, const struct stat *st)
{
    if (st->st_size == 0)
        return PYTM_E_NOTREADY; /* created, not yet sized */
    if ((uint64_t)st->st_size < PYTM_ARENA_HEADER_SIZE)
        return PYTM_E_TRUNCATED;
    void *map = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_SHARED, r->fd, 0);
    if (map == MAP_FAILED)
        return errno == ENOMEM ? PYTM_E_NOMEM : PYTM_E_IO;
    r->map = map;
    r->map_size = (uint64_t)st->st_size;
    uint64_t magic = read_magic(r->map);
    if (magic == 0)
        return PYTM_E_NOTREADY; /* sized, header not yet published */
    memset(&r->id, 0, sizeof r->id);
    memcpy(&r->id, r->map, PYTM_ARENA_IDENTITY_SIZE);
    int rc = pytm_reader_validate_identity_(&r->id, r->map_size);
    if (rc != 0)
        return rc;
    /* Acquire: paired with the release of RUNNING in publish_header. */
    uint32_t state = atomic_load_explicit(&pytm_reader_live_header_(r)->state,
                                          memory_order_acquire);
    if (state == PYTM_ARENA_CREATING)
        return PYTM_E_NOTREADY;
    if (state > PYTM_ARENA_EXITED)
        return PYTM_E_CORRUPT;
    return 0;
}

int
pytm_reader_open_path(const char *path, struct pytm_reader **out)
{
    if (!out)
        return PYTM_E_INVAL;
    *out = NULL;
    if (!path || strlen(path) >= PATH_MAX)
        return PYTM_E_INVAL;
    struct pytm_reader *r = calloc(1, sizeof *r);
    if (!r)
        return PYTM_E_NOMEM;
    strcpy(r->path, path);
    /* O_NONBLOCK: a FIFO planted at the name must not block us. */
    r->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (r->fd < 0) {
        int rc = open_error(errno);
        free(r);
        return rc;
    }
    struct stat st;
    int rc = PYTM_E_IO;
    if (fstat(r->fd, &st) != 0)
        goto fail;
    rc = PYTM_E_NOENT;
    if (!S_ISREG(st.st_mode))
        goto fail;
    rc = pytm_reader_check_owner_(st.st_uid, geteuid());
    if (rc != 0)
        goto fail;
    r->owner = st.st_uid;
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    rc = attach(r, &st);
    if (rc != 0)
        goto fail;
    *out = r;
    return 0;
fail:
    pytm_reader_close(r);
    return rc;
}

/* Error precedence when no candidate attaches: the most telling one. */
static int
rank(int rc)
{
    switch (rc) {
    case PYTM_E_NOENT:
        return 0;
    case PYTM_E_NOTREADY:
        return 1;
    case PYTM_E_PERM:
        return 3;
    default:
        return 2;
    }
}

int
pytm_reader_open_pid(pid_t pid, const char *shm_dir, struct pytm_reader **out)
{
    if (!out)
        return PYTM_E_INVAL;
    *out = NULL;
    if (pid <= 0)
        return PYTM_E_INVAL;
    const char *dir = shm_dir ? shm_dir : "/dev/shm";
    struct pytm_reader *best = NULL;
    int err = PYTM_E_NOENT;
    char path[PATH_MAX];
    for (int n = 0; n <= PYTM_ARENA_NAME_MAX_SUFFIX; n++) {
        int len = n == 0 ? snprintf(path, sizeof path, "%s/%s%ld", dir,
                                    PYTM_ARENA_NAME_PREFIX, (long)pid)
                         : snprintf(path, sizeof path, "%s/%s%ld-%d", dir,
                                    PYTM_ARENA_NAME_PREFIX, (long)pid, n);
        if (len < 0 || (size_t)len >= sizeof path)
            return PYTM_E_INVAL;
        struct pytm_reader *r;
        int rc = pytm_reader_open_path(path, &r);
        if (rc != 0) {
            if (rank(rc) > rank(err))
                err = rc;
            continue;
        }
        if (r->id.pid != pid) {
            pytm_reader_close(r); /* misnamed: not this process's arena */
            continue;
        }
        if (!best || r->id.start_realtime_ns > best->id.start_realtime_ns) {
            pytm_reader_close(best);
            best = r;
        } else {
            pytm_reader_close(r);
        }
    }
    if (!best)
        return err;
    *out = best;
    return 0;
}

void
pytm_reader_close(struct pytm_reader *r)
{
    if (!r)
        return;
    if (r->map)
        munmap((void *)r->map, r->map_size);
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

int64_t
pytm_reader_pid(const struct pytm_reader *r)
{
    return r->id.pid;
}

const char *
pytm_reader_path(const struct pytm_reader *r)
{
    return r->path;
}

uint64_t
pytm_reader_arena_size(const struct pytm_reader *r)
{
    return r->id.arena_size;
}

uint64_t
pytm_reader_sample_interval(const struct pytm_reader *r)
{
    return r->id.sample_interval;
}

uint32_t
pytm_reader_nframe(const struct pytm_reader *r)
{
    return r->id.nframe;
}

enum pytm_reader_liveness
pytm_reader_liveness(struct pytm_reader *r)
{
    bool alive = pytm_reader_pid_alive_(r->id.pid, r->id.proc_start_ticks);
    if (pytm_reader_check_size_(r) != 0)
        return alive ? PYTM_LIVE_STOPPED : PYTM_LIVE_EXITED;
    /* Acquire: paired with the release of state in arena.c (create:
     * RUNNING, close: STOPPED/EXITED after stop_realtime_ns). */
    uint32_t state = atomic_load_explicit(&pytm_reader_live_header_(r)->state,
                                          memory_order_acquire);
    if (state == PYTM_ARENA_EXITED)
        return PYTM_LIVE_EXITED;
    if (state == PYTM_ARENA_STOPPED)
        return PYTM_LIVE_STOPPED;
    return alive ? PYTM_LIVE_RUNNING : PYTM_LIVE_EXITED;
}

const char *
pytm_reader_liveness_name(enum pytm_reader_liveness l)
{
    switch (l) {
#define PYTM_READER_LIVENESS_CASE(e, v, name, meaning) \
    case PYTM_LIVE_##e:                                \
        return name;
        PYTM_READER_LIVENESS(PYTM_READER_LIVENESS_CASE)
#undef PYTM_READER_LIVENESS_CASE
    }
    return "unknown";
}

bool
pytm_reader_tree(const struct pytm_reader *r, int64_t *root,
                 uint64_t *root_ticks, int64_t *parent)
{
    bool tree = (r->id.flags & PYTM_ARENA_FLAG_TREE) != 0;
    *root = tree ? r->id.tree_root_pid : 0;
    *root_ticks = tree ? r->id.tree_root_start_ticks : 0;
    *parent = tree ? r->id.parent_pid : 0;
    return tree;
}
