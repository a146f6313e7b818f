/* dump/dump_file: .pytm files on disk -- reading one whole (bounded, a
 * regular file only, never a crash if it changes meanwhile) for the
 * decoder, and the encoder's atomic write (temporary file, fsync,
 * rename, fsync of the directory). */
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dump_int.h"
#include "pytm_clock.h"
#include "pytm_error.h"

/* Reads all of fd (at most cap bytes) into a new buffer. */
static int
slurp(struct dec *d, const char *path, int fd, uint8_t **out, size_t *out_len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return fail(d, PYTM_E_IO, 0, 0, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return fail(d, PYTM_E_IO, 0, 0, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > PYTM_DUMP_MAX_FILE_SIZE)
        return fail(d, PYTM_E_TOOBIG, 0, 0, "%s: %lld bytes, more than "
                    "the %" PRIu64 " allowed", path,
                    (long long)st.st_size, PYTM_DUMP_MAX_FILE_SIZE);
    size_t cap = (size_t)st.st_size, len = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return fail(d, PYTM_E_NOMEM, 0, 0, "%s: out of memory", path);
    while (len < cap) { /* a file that shrinks meanwhile reads short */
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int saved = errno;
            free(buf);
            fail(d, PYTM_E_IO, 0, len, "%s: %s", path, strerror(saved));
            errno = saved;
            return PYTM_E_IO;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int
pytm_dump_read(const char *path, struct pytm_snap *out,
               struct pytm_dump_error *err)
{
    struct dec d = {.err = err};
    if (err)
        memset(err, 0, sizeof(*err));
    if (out)
        pytm_snap_init(out);
    if (!path || !out)
        return fail(&d, PYTM_E_INVAL, 0, 0, "NULL path or snapshot");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int saved = errno;
        fail(&d, PYTM_E_IO, 0, 0, "%s: %s", path, strerror(saved));
        errno = saved;
        return PYTM_E_IO;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = slurp(&d, path, fd, &buf, &len);
    int saved = errno;
    close(fd);
    errno = saved;
    if (rc)
        return rc;
    rc = pytm_dump_read_mem(buf, len, out, err);
    free(buf);
    return rc;
}

/* Writes the whole buffer, retrying short writes and EINTR. */
static int
write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Creates "<dir>/.<base>.tmp-<16 hex>" with O_EXCL|O_NOFOLLOW. */
static int
open_temp(const char *path, char *tmp, size_t cap)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t r;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) {
            r = (pytm_clock_ns(CLOCK_MONOTONIC) << 20) ^ (uint64_t)getpid() ^
                ((uint64_t)attempt << 48);
        }
        int n = snprintf(tmp, cap, "%.*s.%s.tmp-%016llx", dirlen, path,
                         base, (unsigned long long)r);
        if (n < 0 || (size_t)n >= cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                               O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* fsync()s the directory holding path so the rename is durable. */
static int
sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else if ((size_t)(slash - path) < sizeof(dir))
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    else
        return 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int
pytm_dump_write(const char *path, const struct pytm_snap *s,
                struct pytm_dump_error *err)
{
    struct dec d = {.err = err};
    void *img;
    size_t len;
    if (!path || !*path) {
        if (err)
            memset(err, 0, sizeof(*err));
        return fail(&d, PYTM_E_INVAL, 0, 0, "empty path");
    }
    int rc = pytm_dump_write_mem(s, &img, &len, err);
    if (rc)
        return rc;
    char tmp[4352];
    const char *step = "create temporary file";
    int fd = open_temp(path, tmp, sizeof(tmp));
    if (fd >= 0) {
        step = "write";
        if (write_all(fd, img, len) == 0) {
            step = "fsync";
            if (fsync(fd) == 0) {
                step = "close";
                int c = close(fd);
                fd = -1;
                if (c == 0) {
                    step = "rename";
                    if (rename(tmp, path) == 0) {
                        free(img);
                        (void)sync_dir(path); /* best effort */
                        return 0;
                    }
                }
            }
        }
        int saved = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        errno = saved;
    }
    int saved = errno;
    free(img);
    fail(&d, PYTM_E_IO, 0, 0, "%s: %s failed: %s", path, step,
         strerror(saved));
    errno = saved;
    return PYTM_E_IO;
}
