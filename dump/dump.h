/* dump/dump: save a struct pytm_snap to a .pytm file and load it back.
 *
 * The format is specified in docs/dump-format.md; its constants are in
 * include/pytm/dump_format.h. Writing is dump/dump_write.c, reading is
 * dump/dump_read.c.
 *
 * Readers treat every dump as hostile: every count has a hard cap and
 * must also fit the bytes actually present, no allocation is sized by an
 * unchecked value (each section's decompressed size is bounded by
 * PYTM_DUMP_MAX_RATIO times its stored bytes, and the largest decoder
 * array is about 8 bytes per decompressed byte, so memory stays linear
 * in the input), and nothing is read outside the input. A
 * decoded snapshot always passes pytm_snap_validate.
 *
 * Thread safety: every function is reentrant; different threads may
 * read and write different dumps (or read the same one) concurrently.
 */
#ifndef PYTM_DUMP_DUMP_H
#define PYTM_DUMP_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "snap.h"

/* Why a call failed. Every function below fills it (when non-NULL) on
 * failure and sets code = 0, offset = 0, msg = "" on success. */
struct pytm_dump_error {
    int code;        /* the PYTM_E_* returned */
    int section;     /* PYTM_DUMP_SEC_* involved, or 0 */
    uint64_t offset; /* byte offset in the file involved: of the field
                        for header/table errors, of the section's first
                        stored byte for errors inside a section's
                        decompressed payload (msg then gives the
                        position inside the payload) */
    char msg[256];   /* one line, NUL-terminated, names what is wrong */
};

/* pytm_dump_read_mem_flags flags */
#define PYTM_DUMP_READ_NO_CHECKSUM 0x1u /* do not verify CRC-32s (salvage
                                           tools, fuzzing); every bounds
                                           check still applies */

/* Encodes *s into a new malloc'd buffer.
 * Preconditions: s passes pytm_snap_validate (checked: PYTM_E_INVAL
 * otherwise); out and out_len non-NULL.
 * Ownership: on success *out is the caller's (free()); s is not touched.
 * Returns 0, PYTM_E_INVAL, PYTM_E_TOOBIG (a count over the format's
 * caps), PYTM_E_NOMEM or PYTM_E_LZ4; on failure *out = NULL, *out_len=0.
 * Cost: O(size of s); about 3 bytes per trace in exact mode. */
int pytm_dump_write_mem(const struct pytm_snap *s, void **out,
                        size_t *out_len, struct pytm_dump_error *err);

/* Writes *s to `path` atomically: the bytes go to a new temporary file
 * in the same directory (".<name>.tmp-<random>", O_CREAT|O_EXCL|
 * O_NOFOLLOW, mode 0644 minus the umask), which is fsync()ed and then
 * rename()d over path; the directory is fsync()ed last.
 * A pre-existing `path` is replaced (a symlink at path is replaced, not
 * followed). On failure `path` is untouched (old content or absent) and
 * the temporary file is removed.
 * Returns 0 or what pytm_dump_write_mem returns, or PYTM_E_IO (errno
 * preserved, msg says which step failed). */
int pytm_dump_write(const char *path, const struct pytm_snap *s,
                    struct pytm_dump_error *err);

/* Decodes the dump in buf[0, len) into *out (initialised or not; any
 * previous content is NOT freed: pass an empty snapshot).
 * Returns 0 and a snapshot passing pytm_snap_validate, or one of
 *   PYTM_E_TRUNCATED   the input ends before the data it declares
 *   PYTM_E_FORMAT      not a pytm dump (magic) or a byte-swapped header
 *   PYTM_E_DUMPVER     other major version, or an incompatible feature
 *                      (flag, codec, MUST_UNDERSTAND section) unknown
 *   PYTM_E_DUMPCORRUPT a checksum, size, offset or value is inconsistent
 *   PYTM_E_LZ4         a section's LZ4 frame does not decode
 *   PYTM_E_TOOBIG      a size or count exceeds a hard cap
 *   PYTM_E_NOMEM       allocation failed
 * and on failure *out is empty (pytm_snap_init state, nothing to free).
 * buf is only read, never beyond len; it may be freed after the call. */
int pytm_dump_read_mem(const void *buf, size_t len, struct pytm_snap *out,
                       struct pytm_dump_error *err);

/* Same, with PYTM_DUMP_READ_* flags. */
int pytm_dump_read_mem_flags(const void *buf, size_t len, unsigned flags,
                             struct pytm_snap *out,
                             struct pytm_dump_error *err);

/* Reads the regular file at `path` (at most PYTM_DUMP_MAX_FILE_SIZE
 * bytes) and decodes it as pytm_dump_read_mem does. Also returns
 * PYTM_E_IO (cannot open/read, or not a regular file; errno preserved).
 * The file may change while it is read: the result is then an error,
 * never a crash. On failure *out is empty. */
int pytm_dump_read(const char *path, struct pytm_snap *out,
                   struct pytm_dump_error *err);

/* CRC-32 as used by the format (IEEE 802.3, reflected, poly 0xEDB88320,
 * init and final xor 0xFFFFFFFF: the same as zlib's crc32()). Pass
 * crc = 0 to start, the previous result to continue. */
uint32_t pytm_dump_crc32(uint32_t crc, const void *buf, size_t len);

/* "meta", "traces"... for a section id, or "unknown". Never NULL. */
const char *pytm_dump_section_name(uint32_t id);

#endif /* PYTM_DUMP_DUMP_H */
