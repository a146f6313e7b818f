/* shm/reader_list.c: finding arenas in a directory, removing dead ones.
 *
 * Only names of the form pytm-<pid> and pytm-<pid>-<1..9> are looked at,
 * and every candidate goes through pytm_reader_open_path (O_NOFOLLOW,
 * regular file, owner check, full header validation), so --list never
 * shows, and clean never touches, anything that is not a valid arena.
 *
 * Clean_tree removes a process tree's arenas (the root's pytm run, at
 * its exit), with the same ownership and same-inode rules.
 *
 * Clean removes an arena only when (a) its file belongs to our effective
 * uid (even when we are root: another user's arena is theirs to clean),
 * and (b) its process is gone (kill() says ESRCH, or the PID now belongs
 * to a process with another start time). The unlink re-checks, via
 * fstatat on the name, that the name still denotes the inode we
 * validated.
 */
#include "reader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pytm_clock.h"
#include "pytm_error.h"
#include "reader_internal.h"

/* True for "pytm-<digits>" or "pytm-<digits>-<1..9>". */
static bool
arena_name(const char *name)
{
    size_t plen = strlen(PYTM_ARENA_NAME_PREFIX);
    if (strncmp(name, PYTM_ARENA_NAME_PREFIX, plen) != 0)
        return false;
    const char *p = name + plen;
    size_t digits = 0;
    while (p[digits] >= '0' && p[digits] <= '9')
        digits++;
    if (digits == 0 || digits > 10)
        return false;
    p += digits;
    if (*p == '\0')
        return true;
    return p[0] == '-' && p[1] >= '1' && p[1] <= '9' && p[2] == '\0';
}

static int
dir_error(int err)
{
    return err == ENOENT || err == ENOTDIR ? PYTM_E_NOENT
           : err == EACCES                  ? PYTM_E_PERM
                                            : PYTM_E_IO;
}

static void
fill_entry(struct pytm_reader_entry *e, struct pytm_reader *r)
{
    memset(e, 0, sizeof *e);
    snprintf(e->path, sizeof e->path, "%s", pytm_reader_path(r));
    e->pid = r->id.pid;
    e->uid = r->id.uid;
    e->arena_size = r->id.arena_size;
    e->start_realtime_ns = r->id.start_realtime_ns;
    /* Liveness first: its acquire load of `state` pairs with the
     * writer's release store in pytm_arena_close(), which follows the
     * store of stop_realtime_ns, so a STOPPED/EXITED state implies the
     * stop time is visible here. */
    e->liveness = pytm_reader_liveness(r);
    if (pytm_reader_check_size_(r) == 0)
        e->stop_realtime_ns = atomic_load_explicit(
            &pytm_reader_live_header_(r)->stop_realtime_ns,
            memory_order_relaxed);
    e->tree = (r->id.flags & PYTM_ARENA_FLAG_TREE) != 0;
    e->tree_root_pid = r->id.tree_root_pid;
    e->parent_pid = r->id.parent_pid;
    e->tree_root_start_ticks = r->id.tree_root_start_ticks;
    e->proc_start_ticks = r->id.proc_start_ticks;
    memcpy(e->cmdline, r->id.cmdline, sizeof e->cmdline);
    e->cmdline[sizeof e->cmdline - 1] = '\0';
}

/* Calls visit(r, dirfd, name, arg) for every valid arena in dir (each
 * candidate name opened with pytm_reader_open_path; invalid ones are
 * skipped), closing r afterwards. A negative return from visit stops the
 * walk and is returned; otherwise 0, or dir_error() for dir itself. */
static int
for_each_arena(const char *dir,
               int (*visit)(struct pytm_reader *r, int dirfd,
                            const char *name, void *arg),
               void *arg)
{
    DIR *d = opendir(dir);
    if (!d)
        return dir_error(errno);
    int rc = 0;
    struct dirent *de;
    char path[PATH_MAX];
    while (rc >= 0 && (de = readdir(d)) != NULL) {
        if (!arena_name(de->d_name))
            continue;
        int k = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (k < 0 || (size_t)k >= sizeof((struct pytm_reader_entry *)0)->path)
            continue; /* would not fit an entry's path */
        struct pytm_reader *r;
        if (pytm_reader_open_path(path, &r) != 0)
            continue; /* not a valid arena of ours: leave it alone */
        rc = visit(r, dirfd(d), de->d_name, arg);
        pytm_reader_close(r);
    }
    closedir(d);
    return rc < 0 ? rc : 0;
}

/* Makes room for one more element in *v (len used of *cap, elem bytes
 * each), doubling from 8. 0 or PYTM_E_NOMEM (then *v is unchanged). */
static int
grow(void **v, size_t *cap, size_t len, size_t elem)
{
    if (len < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *nv = realloc(*v, ncap * elem);
    if (!nv)
        return PYTM_E_NOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

struct list_acc {
    struct pytm_reader_entry *v;
    size_t len, cap;
};

static int
list_visit(struct pytm_reader *r, int dirfd, const char *name, void *arg)
{
    (void)dirfd;
    (void)name;
    struct list_acc *acc = arg;
    if (grow((void **)&acc->v, &acc->cap, acc->len, sizeof *acc->v))
        return PYTM_E_NOMEM;
    fill_entry(&acc->v[acc->len++], r);
    return 0;
}

int
pytm_reader_list(const char *shm_dir, struct pytm_reader_entry **out,
                 size_t *n)
{
    if (!out || !n)
        return PYTM_E_INVAL;
    *out = NULL;
    *n = 0;
    struct list_acc acc = {0};
    int rc = for_each_arena(shm_dir ? shm_dir : "/dev/shm", list_visit, &acc);
    if (rc != 0) {
        free(acc.v);
        return rc;
    }
    *out = acc.v;
    *n = acc.len;
    return 0;
}

bool
pytm_reader_unlink_if_same_(int dirfd, const char *name, dev_t dev,
                            ino_t ino)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return false;
    if (st.st_dev != dev || st.st_ino != ino || st.st_uid != geteuid())
        return false;
    return unlinkat(dirfd, name, 0) == 0;
}

static int
clean_visit(struct pytm_reader *r, int dirfd, const char *name, void *arg)
{
    int *removed = arg;
    if (r->owner == geteuid()
        && !pytm_reader_pid_alive_(r->id.pid, r->id.proc_start_ticks)
        && pytm_reader_unlink_if_same_(dirfd, name, r->dev, r->ino))
        (*removed)++;
    return 0;
}

int
pytm_reader_clean(const char *shm_dir)
{
    int removed = 0;
    int rc = for_each_arena(shm_dir ? shm_dir : "/dev/shm", clean_visit,
                            &removed);
    return rc < 0 ? rc : removed;
}

/* r is ours and a non-root member of the tree (root_pid, root_ticks). */
static bool
tree_member(const struct pytm_reader *r, int64_t root_pid, uint64_t root_ticks)
{
    return r->owner == geteuid() && (r->id.flags & PYTM_ARENA_FLAG_TREE)
           && r->id.tree_root_pid == root_pid
           && r->id.tree_root_start_ticks == root_ticks
           && r->id.pid != root_pid;
}

struct tree_clean {
    int64_t root_pid;
    uint64_t root_ticks;
    int removed;
};

static int
clean_tree_visit(struct pytm_reader *r, int dirfd, const char *name,
                 void *arg)
{
    struct tree_clean *tc = arg;
    if (tree_member(r, tc->root_pid, tc->root_ticks)
        && pytm_reader_unlink_if_same_(dirfd, name, r->dev, r->ino))
        tc->removed++;
    return 0;
}

int
pytm_reader_clean_tree(const char *shm_dir, int64_t root_pid,
                       uint64_t root_ticks)
{
    if (root_pid <= 0)
        return PYTM_E_INVAL;
    struct tree_clean tc = {root_pid, root_ticks, 0};
    int rc = for_each_arena(shm_dir ? shm_dir : "/dev/shm", clean_tree_visit,
                            &tc);
    return rc < 0 ? rc : tc.removed;
}

/* A dead member's arena, a candidate of reap_tree. */
struct reap_cand {
    char name[64];
    dev_t dev;
    ino_t ino;
    uint64_t last_ns;
};

struct reap_acc {
    int64_t root_pid;
    uint64_t root_ticks;
    struct reap_cand *v;
    size_t len, cap;
};

static uint64_t
max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static int
reap_visit(struct pytm_reader *r, int dirfd, const char *name, void *arg)
{
    (void)dirfd;
    struct reap_acc *acc = arg;
    if (!tree_member(r, acc->root_pid, acc->root_ticks)
        || strlen(name) >= sizeof acc->v->name
        || pytm_reader_pid_alive_(r->id.pid, r->id.proc_start_ticks))
        return 0;
    if (grow((void **)&acc->v, &acc->cap, acc->len, sizeof *acc->v))
        return PYTM_E_NOMEM;
    struct reap_cand *c = &acc->v[acc->len++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->dev = r->dev;
    c->ino = r->ino;
    c->last_ns = r->id.start_realtime_ns;
    if (pytm_reader_check_size_(r) == 0) {
        const struct pytm_arena_header *h = pytm_reader_live_header_(r);
        c->last_ns = max_u64(c->last_ns, max_u64(
            atomic_load_explicit(&h->stop_realtime_ns, memory_order_relaxed),
            atomic_load_explicit(&h->counters.heartbeat_ns,
                                 memory_order_relaxed)));
    }
    return 0;
}

static int
newest_first(const void *a, const void *b)
{
    uint64_t x = ((const struct reap_cand *)a)->last_ns;
    uint64_t y = ((const struct reap_cand *)b)->last_ns;
    return x < y ? 1 : x > y ? -1 : 0;
}

int
pytm_reader_reap_tree(const char *shm_dir, int64_t root_pid,
                      uint64_t root_ticks, uint64_t grace_ns, size_t keep_max)
{
    if (root_pid <= 0)
        return PYTM_E_INVAL;
    const char *dir = shm_dir ? shm_dir : "/dev/shm";
    struct reap_acc acc = {.root_pid = root_pid, .root_ticks = root_ticks};
    int rc = for_each_arena(dir, reap_visit, &acc);
    if (rc < 0) {
        free(acc.v);
        return rc;
    }
    if (acc.len > 1) /* qsort(NULL, 0, ...) is undefined (UBSan) */
        qsort(acc.v, acc.len, sizeof *acc.v, newest_first);
    uint64_t now = pytm_clock_ns(CLOCK_REALTIME);
    int removed = 0;
    int dfd = acc.len ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    for (size_t i = 0; i < acc.len && dfd >= 0; i++) {
        const struct reap_cand *c = &acc.v[i];
        bool stale = c->last_ns + grace_ns < now || c->last_ns > now;
        if (!stale && i < keep_max)
            continue;
        if (pytm_reader_unlink_if_same_(dfd, c->name, c->dev, c->ino))
            removed++;
    }
    if (dfd >= 0)
        close(dfd);
    free(acc.v);
    return removed;
}
