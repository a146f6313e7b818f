/* shm/arena.c: creating and closing the shared-memory arena.
 *
 * SPECIFICATION (the full text, with the layout table, is docs/arena.md;
 * the binary layout is include/pytm/arena_layout.h)
 *
 * Object. One regular file per tracing session, <shm_dir>/pytm-<pid>,
 * or pytm-<pid>-N (N = 1..9) when that name is taken. It is created with
 * O_CREAT|O_EXCL|O_NOFOLLOW, so a file or symlink planted at the name is
 * never followed or reused (the next suffix is tried), then fchmod'ed to
 * 0600 whatever the umask. It gets its full size with ftruncate (so
 * the layout and every offset are those of a full file), but only the
 * header and the thread slots, which are written lock-free, are
 * allocated (posix_fallocate) before it is mapped. The growable
 * sections (thread_ids, strings, frames, frame_ids, tracebacks) are
 * allocated from their start in 64 KiB steps as they fill, under the
 * intern lock, before anything is written there (arena_backing.h). The
 * writer never touches an unallocated byte, so no page it writes can
 * SIGBUS for lack of tmpfs space: a step that cannot be allocated makes
 * that section full (PYTM_E_FULL). The file past each section's used
 * part is a hole; a reader requires data below every published count.
 * The fd stays open (O_CLOEXEC) for the steps until close; a fork child
 * closes its copy with pytm_arena_forget.
 *
 * Sections. After the 4096-byte header, each section starts on a
 * 64-byte boundary (see split_sections):
 *   threads     max_threads slots of 64 bytes
 *   thread_ids  4 * max_threads identities of 32 bytes (at most
 *               PYTM_ARENA_MAX_THREAD_IDS: tb.thread is a uint16, and
 *               at most 1/64 of arena_size)
 *   strings     1/8 of the rest (bytes)
 *   frames      1/8 of the rest (8-byte entries)
 *   tracebacks  and frame_ids share the remaining 3/4 in the ratio
 *               64 : 4*d, d = min(max(nframe,1), 32): a traceback of
 *               depth d costs 64 bytes of tb plus 4*d bytes of frame
 *               ids, so both fill together when stacks are d deep.
 *
 * Who writes. Only the creating process, through this file and
 * arena_intern.c / arena_record.c. Identity fields are written once,
 * before the magic; readers never write.
 *
 * Publication order at create (the acquire side is reader.c,
 * read_magic + open_path):
 *   1. identity fields, sections, cmdline, counters.sample_interval_now
 *      (plain stores; the pages are fresh and zero)
 *   2. magic          release store   -> reader: acquire load of magic
 *   3. state=RUNNING  release store   -> reader: acquire load of state
 * A reader that sees the magic sees every identity field; a reader that
 * sees an all-zero magic, or state CREATING, reports PYTM_E_NOTREADY.
 *
 * Close: stop_realtime_ns (relaxed) then state STOPPED/EXITED (release,
 * paired with the reader's acquire of state in pytm_reader_liveness),
 * unlink unless kept, munmap.
 */
#include "arena.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena_internal.h"
#include "pytm_clock.h"
#include "pytm_error.h"

/* A uint64_t that may alias the 8 magic bytes, for the atomic store. */
typedef uint64_t __attribute__((may_alias)) magic_word;

#define ALIGN_DOWN64(x) ((uint64_t)(x) & ~(uint64_t)63)
/* Largest capacity whose ids fit in uint32 with id+1 still != 0. */
#define MAX_IDS ((uint64_t)UINT32_MAX - 1u)
/* Largest string pool: record offsets must fit in a uint32 id. */
#define MAX_POOL ((uint64_t)UINT32_MAX & ~(uint64_t)63)

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The five sections, in header order. */
struct sections {
    struct pytm_arena_section threads, strings, frames, frame_ids, tracebacks,
        thread_ids;
};

/* Splits arena_size into sections (see SPECIFICATION). Returns 0, or
 * PYTM_E_INVAL when the thread slots leave less than half the arena. */
static int
split_sections(struct sections *h, uint64_t size, uint32_t threads,
               uint32_t nframe)
{
    uint64_t off = PYTM_ARENA_HEADER_SIZE;
    uint64_t thread_bytes = (uint64_t)threads * sizeof(struct pytm_arena_thread);
    /* at most 1/64 of the arena: a small arena keeps its room for
     * stacks (1 MiB: 512 identities) */
    uint64_t n_ids = min_u64(min_u64((uint64_t)threads * 4,
                                     PYTM_ARENA_MAX_THREAD_IDS),
                             size / 64 / sizeof(struct pytm_arena_thread_id));
    uint64_t id_bytes = (n_ids * sizeof(struct pytm_arena_thread_id) + 63)
                        & ~(uint64_t)63;
    if (thread_bytes + id_bytes > (size - off) / 2)
        return PYTM_E_INVAL;
    h->threads.offset = off;
    h->threads.capacity = threads;
    off += thread_bytes; /* 64 * n: stays aligned */
    h->thread_ids.offset = off;
    h->thread_ids.capacity = n_ids;
    off += id_bytes;

    uint64_t rest = ALIGN_DOWN64(size - off);
    uint64_t b_str = min_u64(ALIGN_DOWN64(rest / 8), MAX_POOL);
    uint64_t b_frame = ALIGN_DOWN64(rest / 8);
    uint64_t shared = rest - b_str - b_frame;
    uint64_t d = nframe < 1 ? 1 : (nframe > 32 ? 32 : nframe);
    uint64_t b_tb = ALIGN_DOWN64(shared / (64 + 4 * d) * 64);
    uint64_t b_ids = ALIGN_DOWN64(shared - b_tb);

    h->strings.offset = off;
    h->strings.capacity = b_str;
    off += b_str;
    h->frames.offset = off;
    h->frames.capacity = min_u64(b_frame / sizeof(struct pytm_arena_frame),
                                 MAX_IDS);
    off += b_frame;
    h->frame_ids.offset = off;
    h->frame_ids.capacity = min_u64(b_ids / sizeof(uint32_t), MAX_IDS);
    off += b_ids;
    h->tracebacks.offset = off;
    h->tracebacks.capacity = min_u64(b_tb / sizeof(struct pytm_arena_tb),
                                     MAX_IDS);
    return 0;
}

/* Copies at most max-1 bytes of src into dst, NUL-terminated, without
 * cutting a UTF-8 sequence in half. */
static void
copy_truncated(char *dst, size_t max, const char *src, size_t len)
{
    if (len >= max) {
        len = max - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--; /* src[len] is a continuation byte: back off */
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* /proc/self/cmdline with its NUL separators turned into spaces. */
static void
read_self_cmdline(char *dst, size_t max)
{
    char buf[PYTM_ARENA_CMDLINE_MAX];
    ssize_t n = 0;
    dst[0] = '\0';
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    while (n < (ssize_t)sizeof(buf)) {
        ssize_t k = read(fd, buf + n, sizeof(buf) - (size_t)n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += k;
    }
    close(fd);
    while (n > 0 && buf[n - 1] == '\0')
        n--;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    copy_truncated(dst, max, buf, (size_t)n);
}

/* Creates the object under the first free name. Returns the fd, or a
 * negative PYTM_E_* (EXISTS when all ten names are taken). */
static int
create_object(struct pytm_arena *a, const char *dir, pid_t pid)
{
    for (int n = 0; n <= PYTM_ARENA_NAME_MAX_SUFFIX; n++) {
        int len = n == 0
            ? snprintf(a->path, sizeof a->path, "%s/%s%ld", dir,
                       PYTM_ARENA_NAME_PREFIX, (long)pid)
            : snprintf(a->path, sizeof a->path, "%s/%s%ld-%d", dir,
                       PYTM_ARENA_NAME_PREFIX, (long)pid, n);
        if (len < 0 || (size_t)len >= sizeof a->path)
            return PYTM_E_INVAL;
        int fd = open(a->path,
                      O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC,
                      0600);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            return errno == ENOENT ? PYTM_E_NOENT : PYTM_E_IO;
    }
    return PYTM_E_EXISTS;
}

/* Writes the identity fields, then publishes (SPECIFICATION steps 1-3). */
static void
publish_header(struct pytm_arena *a, const struct pytm_arena_config *cfg,
               uint64_t interval, uint32_t nframe, pid_t pid)
{
    struct pytm_arena_header *h = a->h;
    h->layout_version = PYTM_ARENA_LAYOUT_VERSION;
    h->header_size = PYTM_ARENA_HEADER_SIZE;
    h->endian_tag = PYTM_ARENA_ENDIAN_TAG;
    h->flags = (interval == 1 ? PYTM_ARENA_FLAG_EXACT : 0)
               | (cfg->keep ? PYTM_ARENA_FLAG_KEEP : 0)
               | (cfg->tree ? PYTM_ARENA_FLAG_TREE : 0)
               | PYTM_ARENA_FLAG_THREADS;
    h->arena_size = a->size;
    h->pid = pid;
    h->uid = geteuid();
    uint64_t ticks = 0;
    if (pytm_proc_start_ticks(pid, &ticks) != 0)
        ticks = 0; /* readers then skip the PID-reuse check */
    h->proc_start_ticks = ticks;
    if (cfg->tree && (cfg->tree_root_pid <= 0 || cfg->tree_root_pid == pid)) {
        /* the root */
        h->tree_root_pid = pid;
        h->tree_root_start_ticks = ticks;
    } else if (cfg->tree) {
        h->tree_root_pid = cfg->tree_root_pid;
        h->parent_pid = cfg->parent_pid > 0 ? cfg->parent_pid : getppid();
        h->tree_root_start_ticks = cfg->tree_root_start_ticks;
    }
    h->start_realtime_ns = pytm_clock_ns(CLOCK_REALTIME);
    h->sample_interval = interval;
    h->nframe = nframe;
    if (cfg->cmdline)
        copy_truncated(h->cmdline, sizeof h->cmdline, cfg->cmdline,
                       strlen(cfg->cmdline));
    else
        read_self_cmdline(h->cmdline, sizeof h->cmdline);
    atomic_store_explicit(&h->counters.sample_interval_now, interval,
                          memory_order_relaxed);

    uint64_t magic;
    memcpy(&magic, PYTM_ARENA_MAGIC, sizeof magic);
    /* Release: publishes the identity fields above. Paired with the
     * acquire load in reader.c read_magic(). */
    __atomic_store_n((magic_word *)h->magic, magic, __ATOMIC_RELEASE);
    /* Release: paired with the acquire load of state in reader.c
     * open_path() / pytm_reader_liveness(). */
    atomic_store_explicit(&h->state, PYTM_ARENA_RUNNING, memory_order_release);
}

static void
set_sections(struct pytm_arena *a)
{
    struct pytm_arena_header *h = a->h;
    a->threads = (struct pytm_arena_thread *)(a->base + h->threads.offset);
    a->threads_cap = (uint32_t)h->threads.capacity;
    a->tids = (struct pytm_arena_thread_id *)(a->base + h->thread_ids.offset);
    a->tids_cap = h->thread_ids.capacity;
    a->strings = a->base + h->strings.offset;
    a->strings_cap = h->strings.capacity;
    a->frames = (struct pytm_arena_frame *)(a->base + h->frames.offset);
    a->frames_cap = h->frames.capacity;
    a->frame_ids = (uint32_t *)(a->base + h->frame_ids.offset);
    a->frame_ids_cap = h->frame_ids.capacity;
    a->tbs = (struct pytm_arena_tb *)(a->base + h->tracebacks.offset);
    a->tbs_cap = h->tracebacks.capacity;
    pytm_arena_backing_init(&a->tids_bk, a->fd, h->thread_ids.offset,
                            a->tids_cap * sizeof *a->tids);
    pytm_arena_backing_init(&a->strings_bk, a->fd, h->strings.offset,
                            a->strings_cap);
    pytm_arena_backing_init(&a->frames_bk, a->fd, h->frames.offset,
                            a->frames_cap * sizeof *a->frames);
    pytm_arena_backing_init(&a->frame_ids_bk, a->fd, h->frame_ids.offset,
                            a->frame_ids_cap * sizeof *a->frame_ids);
    pytm_arena_backing_init(&a->tbs_bk, a->fd, h->tracebacks.offset,
                            a->tbs_cap * sizeof *a->tbs);
}

int
pytm_arena_create(const struct pytm_arena_config *cfg, struct pytm_arena **out)
{
    static const struct pytm_arena_config defaults = {0};
    if (!out)
        return PYTM_E_INVAL;
    *out = NULL;
    if (!cfg)
        cfg = &defaults;
    uint64_t size = cfg->arena_size ? cfg->arena_size : PYTM_ARENA_DEFAULT_SIZE;
    uint32_t threads = cfg->max_threads ? cfg->max_threads
                                        : PYTM_ARENA_DEFAULT_THREADS;
    uint64_t interval = cfg->sample_interval ? cfg->sample_interval : 1;
    uint32_t nframe = cfg->nframe ? cfg->nframe : 1;
    const char *dir = cfg->shm_dir ? cfg->shm_dir : "/dev/shm";
    if (size < PYTM_ARENA_MIN_SIZE || size > (uint64_t)INT64_MAX
        || nframe > UINT16_MAX)
        return PYTM_E_INVAL;

    struct pytm_arena *a = calloc(1, sizeof *a);
    if (!a)
        return PYTM_E_NOMEM;
    a->size = size;
    struct sections sec;
    int rc = split_sections(&sec, size, threads, nframe);
    if (rc != 0) {
        free(a);
        return rc;
    }
    pid_t pid = getpid();
    int fd = create_object(a, dir, pid);
    if (fd < 0) {
        free(a);
        return fd;
    }
    rc = PYTM_E_IO;
    if (fchmod(fd, 0600) != 0)
        goto fail_unlink;
    /* Full size, allocated only for the header and the thread slots
     * (they precede thread_ids, the first growable section). */
    if (ftruncate(fd, (off_t)size) != 0)
        goto fail_unlink;
    int err = posix_fallocate(fd, 0, (off_t)sec.thread_ids.offset);
    if (err != 0) {
        errno = err;
        goto fail_unlink;
    }
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        goto fail_unlink;
    a->fd = fd; /* kept for the backing steps; fail_* still closes fd */
    a->base = map;
    a->h = map;
    a->h->threads = sec.threads;
    a->h->strings = sec.strings;
    a->h->frames = sec.frames;
    a->h->frame_ids = sec.frame_ids;
    a->h->tracebacks = sec.tracebacks;
    a->h->thread_ids = sec.thread_ids;
    set_sections(a);
    rc = pytm_arena_tables_init_(a);
    if (rc != 0)
        goto fail_unmap;
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        pytm_arena_tables_done_(a);
        rc = PYTM_E_NOMEM;
        goto fail_unmap;
    }
    publish_header(a, cfg, interval, nframe, pid);
    *out = a;
    return 0;

fail_unmap:
    munmap(a->base, size);
fail_unlink:
    {
        int saved = errno;
        unlink(a->path);
        if (fd >= 0)
            close(fd);
        errno = saved;
    }
    free(a);
    return rc;
}

void
pytm_arena_close(struct pytm_arena *a, bool keep, bool exiting)
{
    if (!a)
        return;
    struct pytm_arena_header *h = a->h;
    atomic_store_explicit(&h->stop_realtime_ns, pytm_clock_ns(CLOCK_REALTIME),
                          memory_order_relaxed);
    /* Release: paired with the acquire of state in pytm_reader_liveness;
     * a reader that sees STOPPED/EXITED sees stop_realtime_ns. */
    atomic_store_explicit(&h->state,
                          exiting ? PYTM_ARENA_EXITED : PYTM_ARENA_STOPPED,
                          memory_order_release);
    if (!keep)
        unlink(a->path);
    munmap(a->base, a->size);
    if (a->fd >= 0)
        close(a->fd);
    pthread_mutex_destroy(&a->lock);
    pytm_arena_tables_done_(a);
    free(a);
}

void
pytm_arena_forget(struct pytm_arena *a)
{
    if (a && a->fd >= 0) {
        close(a->fd);
        a->fd = -1;
    }
}

const char *
pytm_arena_path(const struct pytm_arena *a)
{
    return a->path;
}

struct pytm_arena_header *
pytm_arena_header(struct pytm_arena *a)
{
    return a->h;
}
