/* model/model: snapshot -> grouped, diffed, sorted, filtered rows.
 *
 * Curses-free and Python-free: pytmtop draws these rows, and the Python
 * API builds Snapshot.statistics() / compare_to() on them. The model
 * works on the per-traceback live aggregates of a struct pytm_snap
 * (size, count, samples), so its cost is O(#tracebacks + #frame ids +
 * #strings), never O(#traces). A caller that wants trace-level filtering
 * (tracemalloc.Filter) filters traces[] itself, re-aggregates with
 * pytm_snap_aggregate_traces() and hands the result here.
 *
 * Semantics follow CPython 3.11 Lib/tracemalloc.py exactly:
 * - A traceback takes part when any of its size, count, samples is
 *   non-zero (a traceback whose blocks were all freed has no trace in
 *   tracemalloc, hence no row here).
 * - A traceback with nframe == 0 counts as the one frame ("<unknown>", 0).
 * - FILENAME: key (filename of the most recent frame, 0).
 *   LINENO: key (filename, line) of the most recent frame.
 *   TRACEBACK: key is the whole frame sequence; tracebacks with equal
 *   frames and different total_nframe are ONE group (Traceback equality
 *   ignores total_nframe).
 * - cumulative (FILENAME, LINENO only): a traceback adds its size and
 *   count once for EVERY frame it holds, duplicates included (a frame
 *   that appears twice counts twice); for FILENAME the key is each
 *   frame's (filename, 0), also once per frame.
 * - Keys compare by content (string bytes and line numbers), never by
 *   index, so tables built from different snapshots (two dumps, a live
 *   arena and a dump) can be diffed.
 * - Key order (the last sort tiebreak) is tracemalloc's: a frame orders
 *   as (filename, lineno), filenames by code point (= UTF-8 byte order);
 *   a traceback orders as the tuple of its frames OLDEST first
 *   (Traceback._frames is reversed from the stored most-recent-first
 *   order), a proper prefix ordering first.
 *
 * Typical use (tracemalloc's snapshot.compare_to(old, "lineno")):
 *
 *     struct pytm_model_table cur, old;
 *     struct pytm_model_opts o = { .group = PYTM_MODEL_LINENO };
 *     pytm_model_init(&cur); pytm_model_init(&old);
 *     if (pytm_model_build(&old, &old_snap, &o) == 0 &&
 *         pytm_model_build(&cur, &new_snap, &o) == 0 &&
 *         pytm_model_diff(&cur, &old) == 0)
 *         pytm_model_sort(&cur, PYTM_MODEL_SORT_COMPARE, true);
 *     for (size_t i = 0; i < cur.n_rows; i++) use(&cur.rows[i]);
 *     pytm_model_free(&cur); pytm_model_free(&old);
 *
 * Thread-safety: none inside; a table belongs to one thread at a time.
 * Lifetime: a table BORROWS the snapshots it was built from (and the
 * base snapshot of a diff): row.filename points into their string pools,
 * so they must stay alive and unchanged while the table's rows are used.
 * Rebuilding or freeing the table ends every borrow.
 */
#ifndef PYTM_MODEL_MODEL_H
#define PYTM_MODEL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pytm_snap;
struct pytm_model_work;

/* Grouping key: X(enum suffix, name used by --group / the Python API) */
#define PYTM_MODEL_GROUPS(X) \
    X(FILENAME, "filename")  \
    X(LINENO, "lineno")      \
    X(TRACEBACK, "traceback")

enum pytm_model_group {
#define PYTM_MODEL_GROUP_ENUM(e, name) PYTM_MODEL_##e,
    PYTM_MODEL_GROUPS(PYTM_MODEL_GROUP_ENUM)
#undef PYTM_MODEL_GROUP_ENUM
    PYTM_MODEL_N_GROUPS
};

/* Sort orders: X(enum suffix, short name, column title, comparison
 * sequence). Ascending compares the sequence left to right; descending is
 * the exact reverse (Python's sort(reverse=True) on unique keys). Every
 * sequence ends with the key, which is unique within a table, so every
 * order is total and deterministic.
 *   SIZE descending    == tracemalloc Snapshot.statistics()
 *   COMPARE descending == tracemalloc Snapshot.compare_to() */
#define PYTM_MODEL_SORTS(X)                                                 \
    X(SIZE, "size", "Size", "size, count, key")                             \
    X(SIZE_DIFF, "size_diff", "Size Diff",                                  \
      "size_diff, size, count_diff, count, key")                            \
    X(COUNT, "count", "Count", "count, size, key")                          \
    X(COUNT_DIFF, "count_diff", "Count Diff",                               \
      "count_diff, count, size_diff, size, key")                            \
    X(AVG, "avg", "Avg size",                                               \
      "size/count as a double (0 if count<=0), size, count, key")           \
    X(LOCATION, "location", "Location", "key")                              \
    X(COMPARE, "compare", "|Diff|",                                         \
      "abs(size_diff), size, abs(count_diff), count, key")

enum pytm_model_sort {
#define PYTM_MODEL_SORT_ENUM(e, name, title, seq) PYTM_MODEL_SORT_##e,
    PYTM_MODEL_SORTS(PYTM_MODEL_SORT_ENUM)
#undef PYTM_MODEL_SORT_ENUM
    PYTM_MODEL_N_SORTS
};

/* row.flags */
#define PYTM_MODEL_ROW_BASE 0x1u /* row.tb, row.str index the BASE snapshot
                                    (a group present only in the base of
                                    a diff: size 0, negative diffs) */

/* One group. All fields are read-only for users of the table. */
struct pytm_model_row {
    int64_t size;       /* live bytes of the group (current snapshot) */
    int64_t count;      /* live blocks */
    int64_t samples;    /* live recorded blocks */
    int64_t size_diff;  /* size - base size (== size before any diff) */
    int64_t count_diff; /* count - base count (== count before any diff) */
    const char *filename; /* key filename, NUL-terminated; points into the
                             row's snapshot pool or to "<unknown>" */
    uint32_t lineno;    /* key line; 0 for FILENAME */
    uint32_t str;       /* key filename's string index in the row's
                           snapshot; n_strings there means "<unknown>" */
    uint32_t tb;        /* representative traceback index in the row's
                           snapshot: the group member with the largest
                           size (lowest index on ties) */
    uint32_t nframe;    /* TRACEBACK: frames of the key (>= 1, the
                           "<unknown>" frame counts); otherwise 1 */
    uint32_t total_nframe; /* TRACEBACK: the representative's captured
                              depth (0 if unknown); otherwise 0 */
    uint32_t n_tbs;     /* tracebacks merged into this group (current
                           snapshot, or base for a BASE row) */
    uint32_t flags;     /* PYTM_MODEL_ROW_* */
    /* private: content hash of the key (string bytes and line numbers,
       independent of any rank space, so comparable across tables) */
    uint32_t hash_;
    /* private: content key in the table's rank space (model_int.h) */
    uint64_t key_;      /* F/L: the frame key; TRACEBACK: oldest frame's */
    uint64_t seq_at_;   /* TRACEBACK: offset of its nframe frame keys,
                           oldest first, in the table's seq_ */
};

/* How to build a table. */
struct pytm_model_opts {
    enum pytm_model_group group;
    bool cumulative;    /* FILENAME and LINENO only */
    const char *filter; /* fnmatch(3) pattern on row.filename (flags 0);
                           NULL or "" keeps every row. Copied. */
    bool unsorted;      /* skip the default sort: build (and a later
                           pytm_model_diff of this table) leave the rows
                           in no particular order (n_sorted 0), for a
                           caller that sorts next anyway (a viewer's
                           refresh: build, diff, pytm_model_sort_top) */
};

/* A built table. Public fields are read-only; `*_` fields are private. */
struct pytm_model_table {
    struct pytm_model_row *rows;
    size_t n_rows;
    enum pytm_model_group group;
    bool cumulative;
    bool diffed;            /* pytm_model_diff() was applied */
    enum pytm_model_sort sort;  /* last sort applied */
    bool descending;
    size_t n_sorted;        /* rows[0 .. n_sorted) are the first n_sorted
                               rows of the (sort, descending) order; the
                               rest are in no particular order. n_rows
                               after a full sort (and after a build or
                               diff without opts.unsorted) */
    int64_t total_size;     /* sum of size over every taking-part
                               traceback, before the filter (the base for
                               "% of total"; not the sum of rows when
                               cumulative) */
    int64_t total_count;
    int64_t base_total_size;  /* same for the base after a diff, else 0 */
    int64_t base_total_count;
    uint32_t n_tbs;         /* taking-part tracebacks, before the filter */
    const struct pytm_snap *snap;      /* borrowed */
    const struct pytm_snap *base_snap; /* borrowed, after a diff */

    /* private */
    size_t rows_cap_;
    uint32_t *srank_;       /* [n_strings+1] content rank of each string
                               of snap (last = "<unknown>") */
    uint32_t *sorder_;      /* [n_strings+1] string indices in content
                               order */
    uint32_t n_ranks_;      /* srank_ values are < n_ranks_ */
    uint32_t *srank_base_;  /* [base n_strings+1], after a diff: ranks
                               comparable with srank_ */
    uint64_t *seq_;         /* TRACEBACK: rows' frame-key sequences */
    size_t seq_len_, seq_cap_;
    struct pytm_model_work *work_; /* reused work buffers (model_int.h) */
    char *filter_;          /* owned copy of opts.filter, or NULL */
    bool unsorted_;         /* built with opts.unsorted */
};

/* Makes *t an empty table (no allocation). */
void pytm_model_init(struct pytm_model_table *t);

/* Frees everything *t owns and re-initialises it. Safe twice. */
void pytm_model_free(struct pytm_model_table *t);

/* Groups snap's tracebacks into *t (discarding its previous content,
 * reusing its buffers), applies opts->filter, and sorts by SIZE
 * descending (tracemalloc's statistics() order) unless opts->unsorted.
 * Preconditions: *t initialised; snap passed pytm_snap_validate and
 * outlives the use of the table. Cost O(#tbs + #frame ids + S log S)
 * for S strings, plus the sort.
 * Returns 0; PYTM_E_INVAL (NULL argument, unknown group, cumulative with
 * TRACEBACK); PYTM_E_NOMEM. After a failure *t is empty (n_rows 0) but
 * still initialised. */
int pytm_model_build(struct pytm_model_table *t, const struct pytm_snap *snap,
                     const struct pytm_model_opts *opts);

/* Turns *cur into the diff of cur against base, like tracemalloc's
 * compare_to: rows are joined by content key; a joined row gets
 * size_diff = size - base size, count_diff likewise; a row only in cur
 * keeps diff == its own figures; a row only in base is appended with
 * size = count = samples = 0, size_diff = -base size, count_diff =
 * -base count, flags PYTM_MODEL_ROW_BASE and its base tb/str. Then
 * sorts by COMPARE descending (compare_to's order), unless cur was built
 * with opts.unsorted (then rows stay unsorted, n_sorted 0).
 * Preconditions: both built (not yet diffed) with the same group,
 * cumulative and filter; base's snapshot outlives the use of *cur.
 * *base is only read and may be freed afterwards; being only read, one
 * base table serves any number of diffs (a viewer builds it once per
 * baseline and options, not once per refresh).
 * Returns 0; PYTM_E_INVAL (mismatched tables, cur already diffed, base
 * diffed); PYTM_E_NOMEM (then *cur is emptied as in a failed build). */
int pytm_model_diff(struct pytm_model_table *cur,
                    const struct pytm_model_table *base);

/* Sorts t->rows by `sort`, ascending or descending (see PYTM_MODEL_SORTS).
 * Free when the rows are already fully in that order.
 * Returns 0, PYTM_E_INVAL (unknown sort), PYTM_E_NOMEM (rows and
 * t->sort, t->descending, t->n_sorted unchanged). */
int pytm_model_sort(struct pytm_model_table *t, enum pytm_model_sort sort,
                    bool descending);

/* Partial sort for a viewer that shows only the first rows: afterwards
 * rows[0 .. t->n_sorted) are exactly the first rows of the full
 * (sort, descending) order, with n_sorted >= min(k, n_rows) (more when
 * rows tie with the k-th on the first sort number), and the other rows
 * follow in no particular order. k >= n_rows is pytm_model_sort.
 * Cost O(n_rows + m log m) for the m rows put in order, instead of a
 * full sort's; free when n_sorted already covers k in that order.
 * Returns as pytm_model_sort. */
int pytm_model_sort_top(struct pytm_model_table *t, enum pytm_model_sort sort,
                        bool descending, size_t k);

/* The snapshot a row's tb and str index: t->base_snap for a
 * PYTM_MODEL_ROW_BASE row, else t->snap. */
const struct pytm_snap *pytm_model_row_snap(const struct pytm_model_table *t,
                                            const struct pytm_model_row *row);

/* True when traceback `tb` of the row's snapshot (pytm_model_row_snap)
 * belongs to the row's group (it has the row's key; with cumulative, any
 * of its frames has it). Ignores whether tb takes part. Used to list the
 * tracebacks of a group (detail view): O(nframe) per call.
 * Preconditions: row is one of t->rows; tb < that snapshot's n_tbs. */
bool pytm_model_row_has_tb(const struct pytm_model_table *t,
                           const struct pytm_model_row *row, uint32_t tb);

/* Three-way comparison of two rows of t by key content, in tracemalloc's
 * key order (see above): <0, 0 or >0. */
int pytm_model_key_cmp(const struct pytm_model_table *t,
                       const struct pytm_model_row *a,
                       const struct pytm_model_row *b);

/* Names from the X-macro tables ("lineno", "size_diff", "Size Diff").
 * Unknown values give "?". Never NULL. */
const char *pytm_model_group_name(enum pytm_model_group g);
const char *pytm_model_sort_name(enum pytm_model_sort s);
const char *pytm_model_sort_title(enum pytm_model_sort s);

/* Parses a group or sort name; returns 0 and sets *out, or
 * PYTM_E_INVAL for an unknown name. */
int pytm_model_group_parse(const char *name, enum pytm_model_group *out);
int pytm_model_sort_parse(const char *name, enum pytm_model_sort *out);

#endif /* PYTM_MODEL_MODEL_H */
