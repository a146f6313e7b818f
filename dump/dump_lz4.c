/* dump/dump_lz4: decompressing one section's LZ4 frame into a buffer of
 * exactly the raw size its table entry declares (step 4 of the
 * specification in dump_read.c): never writes past it, and a frame that
 * yields more or fewer bytes is a corrupt dump. */
#include "dump_int.h"

#include <inttypes.h>
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>

#include "pytm_error.h"

int
pytm_dump_inflate_(struct dec *d, uint32_t id, uint8_t **out)
{
    const struct sec *s = &d->known[id];
    const char *name = pytm_dump_section_name(id);
    uint8_t *raw = malloc(s->raw ? (size_t)s->raw : 1);
    if (!raw)
        return fail(d, PYTM_E_NOMEM, (int)id, s->offset,
                    "out of memory for %" PRIu64 " bytes of section '%s'",
                    s->raw, name);
    LZ4F_decompressOptions_t opt;
    memset(&opt, 0, sizeof(opt));
    opt.stableDst = 1; /* raw stays put for the whole frame */
    opt.skipChecksums = (d->flags & PYTM_DUMP_READ_NO_CHECKSUM) ? 1 : 0;
    LZ4F_resetDecompressionContext(d->dctx);
    const uint8_t *src = d->buf + s->offset;
    size_t src_left = (size_t)s->stored, done = 0;
    for (;;) {
        size_t dst_n = (size_t)s->raw - done, src_n = src_left;
        size_t r = LZ4F_decompress(d->dctx, raw + done, &dst_n, src, &src_n,
                                   &opt);
        if (LZ4F_isError(r)) {
            free(raw);
            return fail(d, PYTM_E_LZ4, (int)id, s->offset,
                        "section '%s' does not decompress: %s", name,
                        LZ4F_getErrorName(r));
        }
        done += dst_n;
        src += src_n;
        src_left -= src_n;
        if (r == 0)
            break; /* frame complete */
        if (dst_n == 0 && src_n == 0) {
            free(raw);
            if (done == s->raw && src_left > 0)
                return fail(d, PYTM_E_DUMPCORRUPT, (int)id, s->offset,
                            "section '%s' decompresses to more than the %"
                            PRIu64 " bytes its table entry declares", name,
                            s->raw);
            return fail(d, PYTM_E_LZ4, (int)id, s->offset,
                        "section '%s': LZ4 frame ends early (%" PRIu64
                        " stored bytes)", name, s->stored);
        }
    }
    if (src_left != 0 || done != s->raw) {
        free(raw);
        return fail(d, PYTM_E_DUMPCORRUPT, (int)id, s->offset,
                    "section '%s' decompressed to %zu bytes using %" PRIu64
                    " of %" PRIu64 " stored; the table declares %" PRIu64
                    " and %" PRIu64, name, done, s->stored - src_left,
                    s->stored, s->raw, s->stored);
    }
    *out = raw;
    return 0;
}
