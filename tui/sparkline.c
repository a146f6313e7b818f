/* tui/sparkline: ring of samples -> block characters. */
#include "sparkline.h"

#include <string.h>

static const char *const blocks[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

void
pytm_sparkline_push(struct pytm_sparkline *s, int64_t v)
{
    s->v[s->head] = v;
    s->head = (s->head + 1) % PYTM_SPARK_CAP;
    if (s->n < PYTM_SPARK_CAP)
        s->n++;
}

int
pytm_sparkline_render(const struct pytm_sparkline *s, int width, char *buf,
                      size_t len)
{
    if (len)
        buf[0] = '\0';
    if (width <= 0 || len < 4)
        return 0;
    size_t n = s->n < (size_t)width ? s->n : (size_t)width;
    if ((len - 1) / 3 < n)
        n = (len - 1) / 3;
    size_t first = (s->head + PYTM_SPARK_CAP - n) % PYTM_SPARK_CAP;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        int64_t v = s->v[(first + i) % PYTM_SPARK_CAP];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    if (lo > 0)
        lo = 0; /* absolute scale from zero, like a memory graph */
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t v = s->v[(first + i) % PYTM_SPARK_CAP];
        int k = hi > lo ? (int)((double)(v - lo) * 7.0 / (double)(hi - lo) + 0.5) : 0;
        k = k < 0 ? 0 : k > 7 ? 7 : k;
        memcpy(buf + o, blocks[k], 3);
        o += 3;
    }
    buf[o] = '\0';
    return (int)n;
}
