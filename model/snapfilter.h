/* model/snapfilter: tracemalloc's Snapshot.filter_traces on a
 * struct pytm_snap, in plain C (no Python.h).
 *
 * The Python layer (pytm/_filters.py: compile_filters) turns each
 * tracemalloc Filter into a struct pytm_snapfilter whose file name
 * pattern has already been evaluated once per string of the snapshot
 * (name_match). This module then decides each filter once per distinct
 * traceback and combines the domain per trace, with tracemalloc's rules:
 *
 *   Filter._match(trace):
 *     frame_ok(f)  = name_match[f.filename] && (any_lineno || f.lineno == lineno)
 *     tb_hit       = all_frames ? any(frame_ok(f) for f in tb)
 *                               : frame_ok(most recent frame)
 *     res          = inclusive ? tb_hit : !tb_hit
 *     with a domain: inclusive ? res && domain == d : res || domain != d
 *   DomainFilter._match(trace) = (trace.domain == d) ^ !inclusive
 *   a trace is kept when (no inclusive filter, or ANY inclusive filter
 *   matches) and EVERY exclusive filter matches (returns true).
 *
 * A traceback without frames (nframe == 0) is the frame ("<unknown>", 0),
 * whose name_match entry is the last one (index n_strings).
 */
#ifndef PYTM_MODEL_SNAPFILTER_H
#define PYTM_MODEL_SNAPFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pytm_snap;

enum pytm_snapfilter_kind {
    PYTM_SNAPFILTER_FRAME = 0,  /* tracemalloc.Filter */
    PYTM_SNAPFILTER_DOMAIN = 1, /* tracemalloc.DomainFilter */
};

struct pytm_snapfilter {
    enum pytm_snapfilter_kind kind;
    bool inclusive;
    /* FRAME only */
    bool all_frames;
    bool any_lineno;   /* lineno=None */
    uint32_t lineno;
    const uint8_t *name_match; /* borrowed, [n_strings + 1] of 0/1 */
    size_t name_match_len;     /* must be n_strings + 1 */
    /* FRAME (optional) and DOMAIN */
    bool any_domain;   /* FRAME: domain=None (ignored for DOMAIN) */
    bool never_domain; /* the filter's domain equals no uint32 value */
    uint32_t domain;
};

/* Writes into *out a snapshot equal to *src but holding only the traces
 * that pass filters[0..n) (see the rules above), in their original
 * order, with every traceback's live aggregates (size, count, samples)
 * recomputed from the kept traces. Strings, frames and tracebacks are
 * copied unchanged (a traceback left without traces has zero aggregates
 * and so takes no part in statistics).
 * Preconditions: src passed pytm_snap_validate and has
 * PYTM_SNAP_HAS_TRACES; *out is initialised (it is freed first); every
 * FRAME filter's name_match covers n_strings + 1 entries.
 * Returns 0; PYTM_E_INVAL (a precondition visibly broken: NULL, no
 * traces, short name_match); PYTM_E_NOMEM. After a failure *out is
 * empty (initialised). Cost O(#filters * (#frame ids + #traces)). */
int pytm_snapfilter_apply(const struct pytm_snap *src,
                          const struct pytm_snapfilter *filters, size_t n,
                          struct pytm_snap *out);

/* Writes into *out a snapshot equal to *src holding only the traces i
 * with keep[i] != 0 (keep has n_keep == src->n_traces bytes), in order,
 * aggregates recomputed. For filters evaluated outside this module (a
 * user-defined BaseFilter). Same preconditions, returns and failure
 * state as pytm_snapfilter_apply (PYTM_E_INVAL when n_keep differs). */
int pytm_snapfilter_select(const struct pytm_snap *src, const uint8_t *keep,
                           size_t n_keep, struct pytm_snap *out);

/* The verdict of one filter for one trace of `s` (its _match), for tests
 * and for callers that filter a single trace. Same preconditions. */
bool pytm_snapfilter_match(const struct pytm_snap *s,
                           const struct pytm_snapfilter *f, uint64_t trace);

#endif /* PYTM_MODEL_SNAPFILTER_H */
