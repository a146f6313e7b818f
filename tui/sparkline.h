/* tui/sparkline: a fixed ring of samples (traced memory per refresh)
 * rendered as a row of block characters ▁▂▃▄▅▆▇█ scaled to the window's
 * maximum. Curses-free: the view prints the returned UTF-8 string. */
#ifndef PYTM_TUI_SPARKLINE_H
#define PYTM_TUI_SPARKLINE_H

#include <stddef.h>
#include <stdint.h>

#define PYTM_SPARK_CAP 256

struct pytm_sparkline {
    int64_t v[PYTM_SPARK_CAP];
    size_t n;    /* samples held (<= CAP) */
    size_t head; /* next write position */
};

/* Appends a sample (the oldest is dropped when full). */
void pytm_sparkline_push(struct pytm_sparkline *s, int64_t v);

/* Renders the last `width` samples (fewer when fewer are held) into buf
 * (UTF-8, 3 bytes per cell, NUL-terminated, truncated to len). Returns
 * the number of cells written. */
int pytm_sparkline_render(const struct pytm_sparkline *s, int width, char *buf,
                          size_t len);

#endif /* PYTM_TUI_SPARKLINE_H */
