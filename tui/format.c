/* tui/format: sizes, left-truncated paths, row locations. */
#include "app.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "snap.h"

void
pytm_fmt_size(char *buf, size_t len, int64_t n, bool sign)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    const char *sg = n < 0 ? "-" : sign ? "+" : "";
    uint64_t a = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    if (a < 1024) {
        snprintf(buf, len, "%s%" PRIu64 " B", sg, a);
        return;
    }
    double v = (double)a;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, len, v < 10 ? "%s%.2f %s" : v < 100 ? "%s%.1f %s" : "%s%.0f %s",
             sg, v, unit[u]);
}

/* Display columns of a UTF-8 string (one per code point). */
static int
cols(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

char *
pytm_fmt_left_trunc(char *buf, size_t len, const char *s, int width)
{
    if (!len)
        return buf;
    int c = cols(s);
    if (c <= width || width < 2) {
        snprintf(buf, len, "%s", s);
        return buf;
    }
    /* skip code points until width-1 remain, then prefix "…" */
    int skip = c - (width - 1);
    const char *p = s;
    while (*p && skip > 0) {
        p++;
        while (((unsigned char)*p & 0xc0) == 0x80)
            p++;
        skip--;
    }
    snprintf(buf, len, "…%s", p);
    return buf;
}

void
pytm_fmt_location(char *buf, size_t len, const struct pytm_model_table *t,
                  const struct pytm_model_row *r)
{
    if (t->group == PYTM_MODEL_FILENAME)
        snprintf(buf, len, "%s", r->filename);
    else if (t->group == PYTM_MODEL_LINENO || r->nframe <= 1)
        snprintf(buf, len, "%s:%u", r->filename, r->lineno);
    else if (r->total_nframe > r->nframe)
        snprintf(buf, len, "%s:%u (%u of %u frames)", r->filename, r->lineno,
                 r->nframe, r->total_nframe);
    else
        snprintf(buf, len, "%s:%u (%u frames)", r->filename, r->lineno, r->nframe);
}
