/* recorder/core/hooks: PEP 445 hooks -- thin trampolines over one generic
 * alloc / free / realloc path (see hooks.h).
 *
 * CONCURRENCY DESIGN
 *
 * Who calls us. MEM and OBJ hooks always run with the GIL held (PEP 445
 * requires it). RAW hooks may run with or without the GIL and even
 * without a thread state (thread bootstrap/teardown, code between
 * Py_BEGIN/END_ALLOW_THREADS). Any hook may re-enter another one on the
 * same thread: pymalloc serves large requests with PyMem_RawMalloc().
 *
 * What is shared, and what protects it.
 *   - Per-thread state (sampler countdown, unflushed counters, the
 *     reentrancy guard): TLS, owner thread only (threads.h). The sampled
 *     fast path touches nothing else: one decrement-and-test.
 *   - MEM/OBJ trace table, frame cache, raw-traceback cache, the main
 *     filter, the capture buffers: the GIL. Single writer.
 *   - Arena aggregates and the traced_current/peak/n_samples/n_frees/
 *     live_samples counters: the GIL, through the *_serial arena
 *     functions (plain load + store, no lock prefix). Nobody updates them
 *     without the GIL: RAW events that arrive without it are queued
 *     (rawside.h) and applied by the next GIL holder, in order.
 *   - arena n_allocs/n_dropped and thread slots: atomic RMW
 *     (pytm_arena_count) or owner-only stores; never touched by the
 *     serial functions, so the two kinds cannot lose each other's
 *     updates.
 *   - RAW trace table, RAW filter, pending queue, thread registry: the
 *     RAW lock, a spinlock held for a few hundred nanoseconds at most and
 *     never across a call into an allocator or into Python. Lock order:
 *     GIL -> RAW lock, so a RAW hook without the GIL can never deadlock
 *     with a GIL holder waiting for it.
 *   - Session fields (active, gen, arena pointers, mode): written by
 *     start/stop with both the GIL and the RAW lock held, so a GIL holder
 *     or a RAW-lock holder reads them stable. A RAW hook without the GIL
 *     reads them only under the RAW lock, after checking `active`; that
 *     is also how stop() knows nobody still writes into the arena it is
 *     about to unmap.
 *
 * Reentry. Any hook may re-enter another on the same thread (pymalloc
 * serves large requests with PyMem_RawMalloc(); the recorder's public-API
 * frame fallback creates frame objects). Such an inner call must be
 * neither counted by the sampler nor recorded twice (tracemalloc ignores
 * it too). Sampled mode parks the thread's countdown around any code
 * that may re-enter (threads.h, PARKING), so inner calls see a countdown
 * that cannot cross and take the unsampled path; its fast path reads no
 * guard. Exact mode sets the TLS guard for the whole time a hook runs its
 * own code, the underlying allocator included, and a hook entered with
 * it set passes straight through. Frees and the removal half of realloc
 * are never skipped: a record must be forgotten whoever frees it.
 *
 * Frees. The free of an unsampled block is the hottest path. In sampled
 * mode a byte counter per address bucket (tables.h) proves most blocks
 * unrecorded with one load from a static array; only non-zero buckets
 * reach the table. Exact mode records everything, so it goes straight to
 * the table. RAW frees always test the RAW filter first: most RAW frees
 * are pymalloc's own re-entrant releases of blocks the OBJ hook owns.
 * A RAW record is removed BEFORE the underlying free/realloc: once the
 * block is released another thread may get the same address and record
 * it, and a late removal would then delete the wrong record.
 *
 * Sub-interpreters (3.12+). PEP 684 lets an interpreter own its GIL, so
 * "the GIL" above would name several locks and "GIL => single writer"
 * would break for the tables and the serial arena updates. We trace the
 * main interpreter only, and "the GIL" above always means its GIL:
 *   - MEM/OBJ hooks of another interpreter pass through. The record
 *     functions check pytm_frames_in_main_interp() (the calling thread's
 *     attached thread state names its interpreter) before they touch the
 *     session, and return; the sampler countdown is TLS, so skipping
 *     only resets it. Such an interpreter's obmalloc state is its own,
 *     so its blocks are never ours to forget.
 *   - Its RAW hooks are RAW hooks of a thread without *the* GIL
 *     (pytm_frames_has_gil() is false for it): recorded under the RAW
 *     lock with the no-frame traceback and queued, as above.
 *   - The sampled free filter is a static byte array that such a thread
 *     may read while the main interpreter writes it; the value only
 *     decides whether to call the record function, which then refuses.
 * Interpreters that share the main GIL (the legacy kind) are skipped
 * too, so that the rule does not depend on how one was created. On 3.11
 * every interpreter shares the one GIL and all of them are traced.
 * start() refuses to run outside the main interpreter.
 * tests/python/test_versions.py drives both kinds of sub-interpreter.
 */
#include <Python.h>

#include "hooks.h"

#include "policy.h"
#include "pytm_error.h"
#include "record.h"
#include "tables.h"
#include "threads.h"

/* One per domain. `prev` and `session` are written at install (GIL
 * held, before the hooks go live, so PyMem_SetAllocator's store
 * publishes them) and read by the trampolines; `installed` says our
 * functions are somewhere in the domain's chain (GIL). The trampolines'
 * ctx is not this struct but prev.ctx itself (see TRAMPOLINES). */
struct hook_domain {
    PyMemAllocatorDomain domain;
    bool installed;
    PyMemAllocatorEx prev;
    struct pytm_session *session;
};

static struct hook_domain dom_raw = {.domain = PYMEM_DOMAIN_RAW};
static struct hook_domain dom_mem = {.domain = PYMEM_DOMAIN_MEM};
static struct hook_domain dom_obj = {.domain = PYMEM_DOMAIN_OBJ};

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* ---- generic paths ---------------------------------------------------- */

/* Sampled mode has no reentrancy guard on its fast path: the countdown
 * alone decides, and code that may re-enter a hook parks it first
 * (threads.h, PARKING). An unsampled MEM/OBJ request of at most
 * NO_REENTRY_MAX bytes cannot make the allocator below re-enter a hook
 * with the block itself (pymalloc serves requests above 512 bytes with
 * PyMem_RawMalloc()), and the RAW allocator below (libc) never calls back
 * into Python, so those are plain tail calls. 448 leaves room for the
 * debug hooks' padding (PYTHONMALLOC=debug adds 4 * sizeof(size_t) before
 * handing the request to pymalloc). The one RAW call pymalloc may make
 * for a small request (growing its arena vector with PyMem_RawRealloc)
 * is then sampled like any RAW request -- it is real memory the program
 * caused. Larger unsampled requests park the countdown around the call.
 * Exact mode keeps the guard, so that it ignores all reentrant calls, as
 * tracemalloc does. */
#define NO_REENTRY_MAX 448u

/* ctx is the trampoline's own argument, which is d->prev.ctx (see
 * TRAMPOLINES): passing it on leaves %rdi alone in a tail call. */
static ALWAYS_INLINE void *
call_alloc(struct hook_domain *d, void *ctx, bool zeroed, size_t nelem,
           size_t elsize)
{
    return zeroed ? d->prev.calloc(ctx, nelem, elsize)
                  : d->prev.malloc(ctx, elsize);
}

/* End of a slow path (pytm_slow_enter) whose allocation returned p:
 * record the block (the policy decides, with the weights), or redraw
 * the countdown when the allocation failed. */
static ALWAYS_INLINE void
record_and_leave(struct hook_domain *d, bool raw, struct pytm_tls *t,
                 void *p, size_t size)
{
    if (p == NULL)
        pytm_policy_skip(t);
    else if (raw)
        pytm_record_alloc_raw(d->session, t, p, size);
    else
        pytm_record_alloc_main(d->session, t, p, size);
    pytm_slow_leave(t);
}

/* The rest of an allocation once the fast path has decided it needs more
 * than a tail call: the block is to be recorded (`sample`: a crossing, or
 * exact mode), or the allocator below may re-enter a hook with it. Out of
 * line (one noinline copy per trampoline, see TRAMPOLINES), so that the
 * fast path needs no stack frame: it ends in a tail jump either way. */
static ALWAYS_INLINE void *
gen_alloc_slow(struct hook_domain *d, bool raw, bool zeroed, bool sample,
               size_t nelem, size_t elsize, size_t size)
{
    struct pytm_tls *t = &pytm_tls;
    /* A crossing inside a slow path: start() zeroed this thread's parked
     * countdown from another thread (pytm_threads_reset_all_locked) while
     * it was recording. Pass through: recording now would re-enter the
     * tables mid-update. slow_leave puts back the zero, so the next
     * allocation joins the new session. */
    sample = sample && LIKELY(!t->guard);
    if (!sample) {
        int64_t was = pytm_park(t);
        void *p = call_alloc(d, d->prev.ctx, zeroed, nelem, elsize);
        pytm_unpark(t, was);
        return p;
    }
    pytm_slow_enter(t);
    void *p = call_alloc(d, d->prev.ctx, zeroed, nelem, elsize);
    record_and_leave(d, raw, t, p, size);
    return p;
}

typedef void *(*alloc_slow_fn)(struct hook_domain *d, bool sample,
                               size_t nelem, size_t elsize, size_t size);

/* malloc (nelem ignored, must be 1) and calloc. `raw` selects the RAW
 * table, `exact` skips the sampler; `slow` is this trampoline's copy of
 * gen_alloc_slow. All are compile-time constants in every trampoline, so
 * each one compiles to its own straight path. The sampled fast path is
 * the TLS offset load, `sub size, %fs:left; jle`, a size test for
 * MEM/OBJ, and the one-instruction tail call. Counted with callgrind on
 * bench/ir_overhead.py's workloads (self instructions over calls, CPython
 * 3.11, gcc 12 -O2): an unsampled OBJ malloc runs 6.0 instructions, a
 * MEM calloc 8.0 (the product nelem * elsize), a free 7.0 (the free
 * filter's load is 5 of them); a PEP 445 pass-through hook runs 4.0 for
 * each. The guarded design before it ran 18.0 and 10.0 (malloc, free). */
static ALWAYS_INLINE void *
gen_alloc(struct hook_domain *d, void *ctx, bool raw, bool exact, bool zeroed,
          size_t nelem, size_t elsize, alloc_slow_fn slow)
{
    struct pytm_tls *t = &pytm_tls;
    /* calloc overflow: the allocator returns NULL, size is then unused */
    size_t size = zeroed ? nelem * elsize : elsize;
    if (exact) {
        if (UNLIKELY(t->guard))
            return call_alloc(d, ctx, zeroed, nelem, elsize);
        return slow(d, true, nelem, elsize, size);
    }
    /* Three exits with a constant `sample` each, so that nothing but
     * the flags carries the decision (no setcc, no register shuffle). */
    if (UNLIKELY(pytm_policy_crossed(t, size)))
        return slow(d, true, nelem, elsize, size);
    if (LIKELY(raw || size <= NO_REENTRY_MAX))
        return call_alloc(d, ctx, zeroed, nelem, elsize);
    return slow(d, false, nelem, elsize, size);
}

/* A free that may concern a recorded block: forget it, then free. Out of
 * line like gen_alloc_slow. Frees are never skipped, parked or guarded:
 * a record must be forgotten whoever frees it. */
static ALWAYS_INLINE void
gen_free_recorded(struct hook_domain *d, bool raw, void *ptr)
{
    if (raw)
        pytm_record_free_raw(d->session, ptr);
    else
        pytm_record_free_main(d->session, ptr);
    d->prev.free(d->prev.ctx, ptr);
}

typedef void (*free_recorded_fn)(struct hook_domain *d, void *ptr);

static ALWAYS_INLINE void
gen_free(struct hook_domain *d, void *ctx, bool raw, bool exact, void *ptr,
         free_recorded_fn recorded)
{
    if (raw) {
        if (UNLIKELY(pytm_filter_raw_maybe(ptr)) && ptr != NULL)
            return recorded(d, ptr);
    }
    else if (exact) {
        if (ptr != NULL)
            return recorded(d, ptr);
    }
    else if (UNLIKELY(pytm_filter_main_maybe(ptr))) {
        return recorded(d, ptr);
    }
    d->prev.free(ctx, ptr);
}

/* realloc = free of the old block + allocation of the new one
 * (tracemalloc: remove the old trace, add a new one at the current
 * traceback). Everything but the sampled fast path, out of line: exact
 * mode, a crossing (`sample`), and a RAW block the filter may know. */
static ALWAYS_INLINE void *
gen_realloc_slow(struct hook_domain *d, bool raw, bool exact, void *ptr,
                 size_t size, bool sample)
{
    struct pytm_tls *t = &pytm_tls;
    struct pytm_trace_rec old;
    uint32_t epoch = 0;
    bool took = false;

    /* RAW: take the old record out first (see "Frees" above). */
    if (raw && ptr != NULL && UNLIKELY(pytm_filter_raw_maybe(ptr)))
        took = pytm_record_raw_take(d->session, ptr, &old, &epoch);

    bool reentrant = exact && UNLIKELY(t->guard);
    if (!exact)
        sample = sample && LIKELY(!t->guard); /* see gen_alloc_slow */
    int64_t was = 0;
    if (sample && !reentrant)
        pytm_slow_enter(t);
    else if (!exact)
        was = pytm_park(t);
    void *p2 = d->prev.realloc(d->prev.ctx, ptr, size);

    if (raw) {
        if (took) {
            if (p2 != NULL)
                pytm_record_raw_account_free(d->session, &old, epoch);
            else
                pytm_record_raw_untake(d->session, &old, epoch);
        }
    }
    else if (p2 != NULL && ptr != NULL &&
             (exact || UNLIKELY(pytm_filter_main_maybe(ptr)))) {
        pytm_record_free_main(d->session, ptr);
    }
    if (reentrant)
        return p2;
    if (!sample) {
        pytm_unpark(t, was);
        return p2;
    }
    record_and_leave(d, raw, t, p2, size);
    return p2;
}

typedef void *(*realloc_slow_fn)(struct hook_domain *d, void *ptr,
                                 size_t size, bool sample);

/* Sampled mode: an unsampled RAW realloc of a block the RAW filter does
 * not know is a tail call. An unsampled MEM/OBJ realloc parks the
 * countdown around the call, since pymalloc re-enters the RAW hooks for a
 * large old or new block and the old block's size is not known here. */
static ALWAYS_INLINE void *
gen_realloc(struct hook_domain *d, void *ctx, bool raw, bool exact, void *ptr,
            size_t size, realloc_slow_fn slow)
{
    struct pytm_tls *t = &pytm_tls;
    if (exact)
        return slow(d, ptr, size, true);
    if (raw) {
        bool known = ptr != NULL && UNLIKELY(pytm_filter_raw_maybe(ptr));
        bool sample = pytm_policy_crossed(t, size);
        if (LIKELY(!sample) && LIKELY(!known))
            return d->prev.realloc(ctx, ptr, size);
        return slow(d, ptr, size, sample);
    }
    if (UNLIKELY(pytm_policy_crossed(t, size)))
        return slow(d, ptr, size, true);
    int64_t was = pytm_park(t);
    void *p2 = d->prev.realloc(d->prev.ctx, ptr, size);
    if (p2 != NULL && ptr != NULL && UNLIKELY(pytm_filter_main_maybe(ptr)))
        pytm_record_free_main(d->session, ptr);
    pytm_unpark(t, was);
    return p2;
}

/* ---- trampolines ------------------------------------------------------ */

#define NOINLINE __attribute__((noinline))

#define TRAMPOLINES(tag, DOM, RAW, EXACT)                                   \
    static NOINLINE void *tag##_malloc_slow(                                \
        struct hook_domain *d, bool sample, size_t nelem, size_t elsize,    \
        size_t size)                                                        \
    {                                                                       \
        return gen_alloc_slow(d, RAW, false, sample, nelem, elsize, size);  \
    }                                                                       \
    static NOINLINE void *tag##_calloc_slow(                                \
        struct hook_domain *d, bool sample, size_t nelem, size_t elsize,    \
        size_t size)                                                        \
    {                                                                       \
        return gen_alloc_slow(d, RAW, true, sample, nelem, elsize, size);   \
    }                                                                       \
    static NOINLINE void tag##_free_recorded(struct hook_domain *d,         \
                                             void *ptr)                     \
    {                                                                       \
        gen_free_recorded(d, RAW, ptr);                                     \
    }                                                                       \
    static void *tag##_malloc(void *ctx, size_t size)                       \
    {                                                                       \
        return gen_alloc(&DOM, ctx, RAW, EXACT, false, 1, size,              \
                         tag##_malloc_slow);                                \
    }                                                                       \
    static void *tag##_calloc(void *ctx, size_t nelem, size_t elsize)       \
    {                                                                       \
        return gen_alloc(&DOM, ctx, RAW, EXACT, true, nelem, elsize,         \
                         tag##_calloc_slow);                                \
    }                                                                       \
    static NOINLINE void *tag##_realloc_slow(                               \
        struct hook_domain *d, void *ptr, size_t size, bool sample)         \
    {                                                                       \
        return gen_realloc_slow(d, RAW, EXACT, ptr, size, sample);          \
    }                                                                       \
    static void *tag##_realloc(void *ctx, void *ptr, size_t size)           \
    {                                                                       \
        return gen_realloc(&DOM, ctx, RAW, EXACT, ptr, size,                 \
                           tag##_realloc_slow);                             \
    }                                                                       \
    static void tag##_free(void *ctx, void *ptr)                            \
    {                                                                       \
        gen_free(&DOM, ctx, RAW, EXACT, ptr, tag##_free_recorded);           \
    }

/* One set per domain and mode. Each names its domain's struct as a
 * constant instead of reading the ctx argument, and is installed with
 * the ctx of the allocator below (prev.ctx) as its own: PEP 445 hands
 * every call the ctx it was installed with, so %rdi already holds what
 * the allocator below wants and the tail call is the one instruction
 * `jmp *dom.prev.fn(%rip)`, where a ctx-driven hook (PEP 445's own
 * pass-through pattern, bench/hook) needs four and a &dom ctx two. That
 * instruction per call, on every domain, was 0.35 points of threads4's
 * overhead and 0.2 of alloc_small's (bench/ir_overhead.py). is_current()
 * therefore tells our hooks by their functions, not by their ctx. */
TRAMPOLINES(s_raw, dom_raw, true, false)
TRAMPOLINES(s_mem, dom_mem, false, false)
TRAMPOLINES(s_obj, dom_obj, false, false)
TRAMPOLINES(x_raw, dom_raw, true, true)
TRAMPOLINES(x_mem, dom_mem, false, true)
TRAMPOLINES(x_obj, dom_obj, false, true)

/* ---- install / uninstall ---------------------------------------------- */

#define OURS(tag) \
    {.malloc = tag##_malloc, .calloc = tag##_calloc, \
     .realloc = tag##_realloc, .free = tag##_free}

/* [exact][domain]: the trampolines of each domain (ctx set by ours_for) */
static const PyMemAllocatorEx ours_table[2][3] = {
    {OURS(s_raw), OURS(s_mem), OURS(s_obj)},
    {OURS(x_raw), OURS(x_mem), OURS(x_obj)},
};

static PyMemAllocatorEx
ours_for(struct hook_domain *d, enum pytm_hooks_mode mode)
{
    int k = d == &dom_raw ? 0 : d == &dom_mem ? 1 : 2;
    PyMemAllocatorEx a = ours_table[mode == PYTM_HOOKS_EXACT][k];
    a.ctx = d->prev.ctx; /* see TRAMPOLINES */
    return a;
}

static struct hook_domain *const domains[] = {&dom_raw, &dom_mem, &dom_obj};
#define N_DOMAINS (sizeof(domains) / sizeof(domains[0]))

/* Our trampolines of d's domain, in either mode, are the domain's
 * allocator: nobody installed a hook over them. */
static bool
is_current(struct hook_domain *d)
{
    PyMemAllocatorEx cur;
    PyMem_GetAllocator(d->domain, &cur);
    int k = d == &dom_raw ? 0 : d == &dom_mem ? 1 : 2;
    return cur.malloc == ours_table[0][k].malloc ||
           cur.malloc == ours_table[1][k].malloc;
}

int
pytm_hooks_install(struct pytm_session *s, enum pytm_hooks_mode mode)
{
    for (size_t i = 0; i < N_DOMAINS; i++) {
        if (domains[i]->installed && !is_current(domains[i]))
            return PYTM_E_EXISTS;
    }
    for (size_t i = 0; i < N_DOMAINS; i++) {
        struct hook_domain *d = domains[i];
        if (!d->installed)
            PyMem_GetAllocator(d->domain, &d->prev);
        d->session = s;
    }
    /* Everything saved before anything goes live. */
    for (size_t i = 0; i < N_DOMAINS; i++) {
        struct hook_domain *d = domains[i];
        PyMemAllocatorEx a = ours_for(d, mode);
        PyMem_SetAllocator(d->domain, &a);
        d->installed = true;
    }
    return 0;
}

bool
pytm_hooks_uninstall(void)
{
    bool all = true;
    for (size_t i = 0; i < N_DOMAINS; i++) {
        struct hook_domain *d = domains[i];
        if (!d->installed)
            continue;
        if (is_current(d)) {
            PyMem_SetAllocator(d->domain, &d->prev);
            d->installed = false;
        }
        else {
            all = false;
        }
    }
    return all;
}

bool
pytm_hooks_current(void)
{
    for (size_t i = 0; i < N_DOMAINS; i++) {
        if (is_current(domains[i]))
            return true;
    }
    return false;
}
