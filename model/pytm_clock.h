/* model/pytm_clock: the one clock-to-nanoseconds helper every layer uses
 * (arena timestamps, snapshot times, the viewer's ages and refresh
 * timing, the sampler's adaptation gap). Header-only, plain C. */
#ifndef PYTM_MODEL_CLOCK_H
#define PYTM_MODEL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds on `clock` (CLOCK_REALTIME for wall-clock stamps that
 * cross processes, CLOCK_MONOTONIC for intervals); 0 if the clock cannot
 * be read. Async-signal-safe, never allocates. */
static inline uint64_t
pytm_clock_ns(clockid_t clock)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

#endif /* PYTM_MODEL_CLOCK_H */
