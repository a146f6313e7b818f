/* pytm shared-memory arena: the layout both processes agree on.
 *
 * This header is the whole contract between the traced process (the
 * writer, through shm/arena.c) and any reader (pytmtop, tests, through
 * shm/reader.c). It holds only fixed-width types; every struct has
 * static_asserts on its size and on the offsets a reader depends on.
 * The arena is native-endian and transient: it is never written to a
 * file that outlives the machine (dumps use include/pytm/dump_format.h).
 *
 * LAYOUT (offsets in bytes from the start of the shm object)
 *
 *   0                 struct pytm_arena_header      (PYTM_ARENA_HEADER_SIZE)
 *   threads.offset    struct pytm_arena_thread[threads.capacity]
 *   thread_ids.offset struct pytm_arena_thread_id[thread_ids.capacity]
 *                     (PYTM_ARENA_FLAG_THREADS only)
 *   strings.offset    string records, byte pool     (strings.capacity bytes)
 *   frames.offset     struct pytm_arena_frame[frames.capacity]
 *   frame_ids.offset  uint32_t[frame_ids.capacity]  (traceback frame lists)
 *   tracebacks.offset struct pytm_arena_tb[tracebacks.capacity]
 *
 * Every section offset is a multiple of 64 and lies, with its whole
 * capacity, inside arena_size. A reader must check that; a corrupt or
 * hostile arena may say anything.
 *
 * WHO WRITES WHAT
 * - The header's identity fields (magic ... cmdline) are written once by
 *   the creator before `magic` is stored with release order; they never
 *   change afterwards. A reader that sees the magic (acquire) sees them.
 * - Append-only tables (strings, frames, frame_ids, tracebacks' immutable
 *   fields) are filled by the writer under its intern lock, then made
 *   visible by a release store of the matching `*_used` counter. A reader
 *   loads the counter with acquire and may read every entry below it;
 *   entries below the counter never change again (until the arena dies).
 * - Per-traceback aggregates and the header counters change all the
 *   time. They are 64-bit atomics read with relaxed order: each value is
 *   whole (never torn), but two values are not a consistent cut. A
 *   reader must tolerate, for instance, sum(tb.size) != traced_current
 *   for a moment, and a negative transient in a tb aggregate.
 * - Thread slots are claimed with a CAS on `state` by their thread and
 *   written only by that thread afterwards (single writer).
 *
 * WHAT A READER MUST CHECK (shm/reader.c does all of it)
 *   magic, layout_version (major must match), header_size, endian tag,
 *   the tree fields (consistent with PYTM_ARENA_FLAG_TREE),
 *   arena_size <= size of the object, every section in bounds and
 *   aligned, every *_used <= capacity, every string record's length
 *   within the pool and NUL-terminated, every frame's filename offset a
 *   string record start below strings_used, every tb's frame list inside
 *   frame_ids_used, every frame id below frames_used; with
 *   PYTM_ARENA_FLAG_THREADS every tb.thread <= thread_ids_used and each
 *   identity's py_name a string record or PYTM_ARENA_NO_NAME; without
 *   it thread_ids and thread_ids_used zero; and that the file holds data,
 *   not a hole, from each section's start up to its published end (the
 *   file is sparse past it: docs/arena.md section 2.1).
 */
#ifndef PYTM_ARENA_LAYOUT_H
#define PYTM_ARENA_LAYOUT_H

#include <assert.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>

#define PYTM_ARENA_MAGIC "PYTMARN\0"   /* 8 bytes including the NUL */
#define PYTM_ARENA_MAGIC_SIZE 8
/* Major version: a reader rejects any other. Bump on any layout change. */
#define PYTM_ARENA_LAYOUT_VERSION 1u
/* Written as a native uint32; a reader of the other endianness sees
 * 0x04030201 and rejects the arena as foreign. */
#define PYTM_ARENA_ENDIAN_TAG 0x01020304u
#define PYTM_ARENA_HEADER_SIZE 4096u
/* The header's identity part, written once before the magic: bytes
 * [0, PYTM_ARENA_IDENTITY_SIZE). Readers copy exactly this much. */
#define PYTM_ARENA_IDENTITY_SIZE 1024u
#define PYTM_ARENA_CMDLINE_MAX 512u
/* Name of the shm object: "/pytm-<pid>" (then "/pytm-<pid>-1" ... when
 * the first is taken), i.e. the file /dev/shm/pytm-<pid>[-N]. */
#define PYTM_ARENA_NAME_PREFIX "pytm-"
#define PYTM_ARENA_NAME_MAX_SUFFIX 9

/* Arena lifecycle, header.state. Written by the owner with release. */
enum pytm_arena_state {
    PYTM_ARENA_CREATING = 0, /* header not yet complete */
    PYTM_ARENA_RUNNING = 1,  /* tracing */
    PYTM_ARENA_STOPPED = 2,  /* pytm.stop() with keep=True */
    PYTM_ARENA_EXITED = 3,   /* process exited normally with keep=True */
};

/* header.flags */
#define PYTM_ARENA_FLAG_EXACT 0x1u /* sample_interval == 1: exact figures */
#define PYTM_ARENA_FLAG_KEEP 0x2u  /* arena is left behind at exit */
/* The tree_* / parent_pid identity fields are set: the arena belongs to a
 * process tree followed by `python -m pytm run` (docs/arena.md,
 * "Process trees"). Added within layout version 1: the fields sit in
 * what was zero padding, so an older reader ignores them; a reader of
 * this header requires them all zero when the flag is clear. */
#define PYTM_ARENA_FLAG_TREE 0x4u
/* The thread_ids section and published.thread_ids_used are in use and
 * tb.thread names an entry of it (docs/arena.md, "Threads"). Added
 * within layout version 1 like FLAG_TREE: the section descriptor sits
 * in what was pad0 and the counter in published.reserved, both zero
 * for older writers; a reader requires them zero when the flag is
 * clear. */
#define PYTM_ARENA_FLAG_THREADS 0x8u

/* One section: where it lives and how many entries (or bytes) fit. */
struct pytm_arena_section {
    uint64_t offset;   /* from the start of the object, multiple of 64 */
    uint64_t capacity; /* entries (bytes for the string pool) */
};
static_assert(sizeof(struct pytm_arena_section) == 16, "section size");

/* Global counters. All atomics; written by any tracing thread, read
 * relaxed by readers (see "WHO WRITES WHAT").
 * Sizes and counts are estimates in sampled mode, exact when
 * PYTM_ARENA_FLAG_EXACT is set. */
struct pytm_arena_counters {
    _Atomic int64_t traced_current; /* live traced bytes (estimate) */
    _Atomic int64_t traced_peak;    /* max of traced_current since start
                                       or the last reset_peak() */
    _Atomic uint64_t n_allocs;      /* allocations made: exact mode counts
                                       them, sampled mode estimates them
                                       (sum of est_count over samples);
                                       flushed from threads at each sample
                                       and at thread exit */
    _Atomic uint64_t n_samples;     /* allocations recorded (all of them
                                       in exact mode) */
    _Atomic uint64_t n_frees;       /* recorded blocks freed */
    _Atomic uint64_t n_dropped;     /* records that could not be stored:
                                       arena or private table full */
    _Atomic uint64_t clear_epoch;   /* +1 on every clear_traces() */
    _Atomic uint64_t heartbeat_ns;  /* CLOCK_REALTIME of the last flush,
                                       lets a reader see a live writer */
    _Atomic uint64_t live_samples;  /* recorded blocks currently alive */
    _Atomic uint64_t tracemalloc_memory; /* bytes pytm itself uses
                                            (private tables + arena used) */
    _Atomic uint64_t sample_interval_now; /* current interval: may adapt
                                             upward when the arena fills */
    /* PYTM_ARENA_FLAG_THREADS (zero otherwise; were reserved). Written
     * under the writer's intern lock, read relaxed. */
    _Atomic uint64_t threads_unknown; /* threads that found the identity
                                         table full: their figures go to
                                         thread 0, "unknown" */
    _Atomic uint64_t stacks_folded;   /* stacks whose per-thread split
                                         budget ran out: their first tb
                                         went to thread 0 (tb.thread) */
    uint64_t reserved[3];
};
static_assert(sizeof(struct pytm_arena_counters) == 128, "counters size");
static_assert(offsetof(struct pytm_arena_counters, threads_unknown) == 88, "");
static_assert(offsetof(struct pytm_arena_counters, stacks_folded) == 96, "");

/* Publication counters of the append-only tables. Release-stored by the
 * writer after the entries below them are complete; acquire-loaded by
 * readers (shm/reader.c: snapshot_tables). */
struct pytm_arena_published {
    _Atomic uint64_t strings_used;   /* bytes of the string pool in use */
    _Atomic uint64_t n_strings;      /* string records in the pool */
    _Atomic uint64_t frames_used;    /* frames published */
    _Atomic uint64_t frame_ids_used; /* uint32 slots published */
    _Atomic uint64_t tracebacks_used;/* tracebacks published */
    _Atomic uint64_t threads_hwm;    /* thread slots ever claimed (high
                                        water mark; slots may be free) */
    _Atomic uint64_t thread_ids_used;/* thread identities published
                                        (PYTM_ARENA_FLAG_THREADS; else 0).
                                        Release: arena_intern.c
                                        intern_thread_locked; acquire:
                                        reader_snap.c load_published */
    uint64_t reserved[1];
};
static_assert(sizeof(struct pytm_arena_published) == 64, "published size");
static_assert(offsetof(struct pytm_arena_published, thread_ids_used) == 48,
              "");

struct pytm_arena_header {
    /* --- identity: written once, before `magic` (release) --- */
    char magic[PYTM_ARENA_MAGIC_SIZE]; /* PYTM_ARENA_MAGIC */
    uint32_t layout_version;           /* PYTM_ARENA_LAYOUT_VERSION */
    uint32_t header_size;              /* PYTM_ARENA_HEADER_SIZE */
    uint32_t endian_tag;               /* PYTM_ARENA_ENDIAN_TAG */
    uint32_t flags;                    /* PYTM_ARENA_FLAG_* */
    uint64_t arena_size;               /* bytes of the whole object */
    int64_t pid;                       /* the traced process */
    uint64_t uid;                      /* its effective uid */
    uint64_t proc_start_ticks;         /* field 22 of /proc/<pid>/stat:
                                          tells a reused PID apart */
    uint64_t start_realtime_ns;        /* CLOCK_REALTIME at start() */
    uint64_t sample_interval;          /* bytes; 1 = exact */
    uint32_t nframe;                   /* traceback limit */
    uint32_t reserved0;
    struct pytm_arena_section threads;
    struct pytm_arena_section strings;
    struct pytm_arena_section frames;
    struct pytm_arena_section frame_ids;
    struct pytm_arena_section tracebacks;
    char cmdline[PYTM_ARENA_CMDLINE_MAX]; /* NUL-terminated, args joined
                                             by spaces, truncated */
    /* Process tree (valid with PYTM_ARENA_FLAG_TREE, else all zero):
     * the root is the process `pytm run` started; the parent is the
     * traced process that forked or spawned this one, 0 for the root.
     * tree_root_start_ticks tells a reused root PID apart. */
    int64_t tree_root_pid;                /* > 0; == pid for the root */
    int64_t parent_pid;                   /* 0 iff pid == tree_root_pid */
    uint64_t tree_root_start_ticks;       /* root's proc_start_ticks */
    /* Thread identities (valid with PYTM_ARENA_FLAG_THREADS, else all
     * zero). Offset 696, in what was pad0. */
    struct pytm_arena_section thread_ids;
    uint8_t pad0[PYTM_ARENA_IDENTITY_SIZE - 160 - PYTM_ARENA_CMDLINE_MAX
                 - 24 - 16];

    /* --- changing state: offset PYTM_ARENA_IDENTITY_SIZE --- */
    _Atomic uint32_t state;            /* enum pytm_arena_state */
    uint32_t reserved1;
    _Atomic uint64_t stop_realtime_ns; /* when it stopped/exited, or 0 */
    uint8_t pad1[64 - 16];
    struct pytm_arena_counters counters;   /* offset 1088 */
    struct pytm_arena_published published; /* offset 1216 */
    uint8_t pad2[PYTM_ARENA_HEADER_SIZE - 1280];
};
static_assert(sizeof(struct pytm_arena_header) == PYTM_ARENA_HEADER_SIZE,
              "header size");
static_assert(offsetof(struct pytm_arena_header, layout_version) == 8, "");
static_assert(offsetof(struct pytm_arena_header, arena_size) == 24, "");
static_assert(offsetof(struct pytm_arena_header, pid) == 32, "");
static_assert(offsetof(struct pytm_arena_header, sample_interval) == 64, "");
static_assert(offsetof(struct pytm_arena_header, threads) == 80, "");
static_assert(offsetof(struct pytm_arena_header, tracebacks) == 144, "");
static_assert(offsetof(struct pytm_arena_header, cmdline) == 160, "");
static_assert(offsetof(struct pytm_arena_header, tree_root_pid) == 672, "");
static_assert(offsetof(struct pytm_arena_header, parent_pid) == 680, "");
static_assert(offsetof(struct pytm_arena_header, tree_root_start_ticks)
                  == 688, "");
static_assert(offsetof(struct pytm_arena_header, thread_ids) == 696, "");
static_assert(offsetof(struct pytm_arena_header, state)
                  == PYTM_ARENA_IDENTITY_SIZE, "identity ends where state begins");
static_assert(offsetof(struct pytm_arena_header, state) == 1024, "");
static_assert(offsetof(struct pytm_arena_header, counters) == 1088, "");
static_assert(offsetof(struct pytm_arena_header, published) == 1216, "");

/* thread slot state */
enum pytm_arena_thread_state {
    PYTM_THREAD_FREE = 0,  /* never used or released */
    PYTM_THREAD_LIVE = 1,  /* owned by a running thread */
};

/* One per tracing thread. Claimed by CAS FREE->LIVE, then written only
 * by its owner (plain relaxed atomic stores, no RMW needed), released at
 * thread exit by a release store of FREE after the final flush.
 * Counters are cumulative for the slot's current owner. */
struct pytm_arena_thread {
    _Atomic uint32_t state;     /* enum pytm_arena_thread_state */
    int32_t tid;                /* gettid() of the owner */
    _Atomic uint64_t n_allocs;  /* allocations made, counted or estimated
                                   like the header's (flushed at samples) */
    _Atomic uint64_t n_samples; /* samples recorded by this thread */
    _Atomic uint64_t n_dropped; /* samples this thread had to drop */
    _Atomic uint64_t alloc_bytes_est; /* estimated bytes allocated */
    char name[16];              /* pthread name, NUL-terminated */
    uint64_t reserved[1];
};
static_assert(sizeof(struct pytm_arena_thread) == 64, "thread slot size");

/* One thread identity: which OS/Python thread a traceback's figures
 * belong to (tb.thread = index + 1). Append-only, unlike the reused
 * thread slots above: written by the writer under its intern lock, then
 * published by the release store of published.thread_ids_used. Every
 * field is immutable afterwards except py_name, which goes once from
 * PYTM_ARENA_NO_NAME to a string id when the thread's Python name
 * becomes known (a release store after the string is published; the
 * reader acquire-loads it before it loads strings_used). */
#define PYTM_ARENA_NO_NAME 0xffffffffu
/* Largest thread_ids.capacity: tb.thread is a uint16 holding index + 1. */
#define PYTM_ARENA_MAX_THREAD_IDS 65534u
struct pytm_arena_thread_id {
    int32_t tid;               /* gettid() of the thread */
    _Atomic uint32_t py_name;  /* string id of threading's name, or
                                  PYTM_ARENA_NO_NAME */
    uint64_t ident;            /* pthread_self(), i.e. what
                                  threading.get_ident() returns */
    char os_name[16];          /* pthread name when first seen, NUL-
                                  terminated */
};
static_assert(sizeof(struct pytm_arena_thread_id) == 32, "thread id size");
static_assert(offsetof(struct pytm_arena_thread_id, ident) == 8, "");
static_assert(offsetof(struct pytm_arena_thread_id, os_name) == 16, "");

/* String record in the pool: a string's id is the byte offset of its
 * record from strings.offset. Records are 4-byte aligned.
 *
 *   +--------+------------------+----+---------+
 *   | len:u32| bytes[len] UTF-8 | \0 | pad to 4|
 *   +--------+------------------+----+---------+
 *   e.g. "a.py" at id 0: 04 00 00 00 'a' '.' 'p' 'y' 00 00 00 00 -> next id 12
 */
struct pytm_arena_string {
    uint32_t len;
    char bytes[]; /* len bytes, then NUL */
};
static_assert(sizeof(struct pytm_arena_string) == 4, "string header");
#define PYTM_ARENA_STRING_RECORD_SIZE(len) \
    ((uint64_t)(((uint64_t)(len) + 4u + 1u + 3u) & ~(uint64_t)3u))

/* A frame: interned (filename, line). Immutable once published. */
struct pytm_arena_frame {
    uint32_t filename; /* string id */
    uint32_t lineno;   /* 0 when unknown */
};
static_assert(sizeof(struct pytm_arena_frame) == 8, "frame size");

/* A traceback and its live aggregates. One cache line.
 * frames: frame_ids[frames_at .. frames_at+nframe), most recent first.
 * nframe == 0 means "no Python frame" (shown as <unknown>:0).
 * Aggregates are updated on every recorded alloc/free of this
 * traceback by relaxed atomic RMW; readers load them relaxed. */
struct pytm_arena_tb {
    /* immutable once published (but `thread`, see below) */
    uint32_t frames_at;
    uint16_t nframe;
    _Atomic uint16_t thread; /* thread_ids index + 1; 0 = unknown (always
                              0 without PYTM_ARENA_FLAG_THREADS). A
                              traceback's key is (frames, total_nframe,
                              thread): one stack may have one tb per
                              thread. May change once, from k to 0,
                              when the stack is folded (the split
                              budget is spent, docs/arena.md
                              "Threads"): writer under its lock,
                              relaxed; readers load it relaxed and
                              accept either value. */
    uint32_t total_nframe; /* depth of the stack when it was captured */
    uint32_t hash;
    /* live aggregates */
    _Atomic int64_t size;          /* estimated live bytes */
    _Atomic int64_t count;         /* estimated live blocks */
    _Atomic int64_t samples;       /* recorded blocks alive */
    _Atomic uint64_t alloc_size;   /* estimated bytes ever allocated */
    _Atomic uint64_t alloc_count;  /* estimated blocks ever allocated */
    _Atomic uint64_t alloc_samples;/* recorded blocks ever allocated */
};
static_assert(sizeof(struct pytm_arena_tb) == 64, "tb size");
static_assert(offsetof(struct pytm_arena_tb, size) == 16, "");
static_assert(offsetof(struct pytm_arena_tb, thread) == 6, "");

#endif /* PYTM_ARENA_LAYOUT_H */
