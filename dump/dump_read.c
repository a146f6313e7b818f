/* dump/dump_read: the .pytm decoder (format: docs/dump-format.md).
 *
 * SPECIFICATION OF WHAT THE DECODER CHECKS (every dump is hostile)
 *  1. magic, endian tag (byte-swapped -> FORMAT), major version, header
 *     size, flags, table size; the header+table CRC-32.
 *  2. every table entry: codec, flags, offset/size inside the declared
 *     file size and after the table, no overlap (v1.0 files: sections
 *     tile the file exactly), raw size <= cap and <= LZ4's expansion
 *     bound of the stored size, no duplicate ids, required ids present.
 *  3. the input holds the declared file size (else TRUNCATED, naming the
 *     first cut section) and nothing after it.
 *  4. each section: CRC-32 of the stored bytes, then LZ4 into a buffer of
 *     exactly raw_size bytes (never more), which must be filled exactly.
 *  5. each payload: every count <= its hard cap (TOOBIG) and <= the bytes
 *     left (each entry costs >= 1 byte per column), every varint inside
 *     the payload, every index below the table it points into, no bytes
 *     left over (unless the file's minor version is newer than ours).
 * Allocation therefore never exceeds a small multiple of the input size.
 * Known-section payload layouts are documented in dump_write.c; the
 * files that implement each step are listed in dump_int.h.
 */
#include "dump.h"

#include <lz4frame.h>
#include <string.h>

#include "dump_int.h"
#include "pytm_error.h"

int
pytm_dump_read_mem_flags(const void *buf, size_t len, unsigned flags,
                         struct pytm_snap *out, struct pytm_dump_error *err)
{
    struct dec d;
    memset(&d, 0, sizeof(d));
    d.buf = buf;
    d.len = buf ? len : 0;
    d.flags = flags;
    d.err = err;
    if (err)
        memset(err, 0, sizeof(*err));
    if (!out)
        return fail(&d, PYTM_E_INVAL, 0, 0, "NULL output snapshot");
    pytm_snap_init(out);
    if (d.len == 0)
        return fail(&d, PYTM_E_TRUNCATED, 0, 0,
                    "truncated: file is empty (0 bytes)");
    int rc = pytm_dump_parse_container_(&d);
    if (rc)
        return rc;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d.dctx, LZ4F_VERSION)))
        return fail(&d, PYTM_E_NOMEM, 0, 0, "cannot create LZ4 context");
    rc = pytm_dump_decode_sections_(&d, out);
    LZ4F_freeDecompressionContext(d.dctx);
    if (rc)
        pytm_snap_free(out);
    return rc;
}

int
pytm_dump_read_mem(const void *buf, size_t len, struct pytm_snap *out,
                   struct pytm_dump_error *err)
{
    return pytm_dump_read_mem_flags(buf, len, 0, out, err);
}
