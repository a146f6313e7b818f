/* shm/arena_intern.c: interning strings, frames and tracebacks.
 *
 * Each kind has a private dedupe table (arena_internal.h: open
 * addressing, linear probing, malloc'd, never Python memory since this
 * runs under the allocation hooks) and an append-only arena section.
 * Everything here runs under a->lock. A miss:
 *   1. makes sure the dedupe table has room (grows it first, so a failed
 *      growth publishes nothing),
 *   2. checks the section has room and that the bytes it will write are
 *      allocated, taking a 64 KiB step if not (arena_backing.h; one
 *      compare when they are): no room or a step that fails is
 *      PYTM_E_FULL, nothing written,
 *   3. writes the entry past the published end,
 *   4. release-stores the section's published counter.
 * Release stores here pair with the acquire loads in reader_snap.c
 * load_published(), which loads in the reverse order of dependency
 * (tracebacks, thread_ids and their py_name, frame_ids, frames,
 * strings) so every id it copies refers to an entry it also copies.
 * Thread identities (intern_thread) are appended, never deduplicated;
 * a traceback of thread k+1 is interned after identity k is published.
 *
 * A table that cannot grow (malloc failed) also yields PYTM_E_FULL: the
 * counters comment calls that "private table full", and the caller
 * counts a drop exactly as for a full section.
 */
#include "arena.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arena_internal.h"
#include "pytm_error.h"

#define TABLE_INITIAL 1024u

static uint32_t
mix64(uint64_t x)
{
    /* splitmix64 finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (uint32_t)x;
}

static uint32_t
hash_bytes(const void *p, size_t len, uint64_t seed)
{
    /* FNV-1a 64, then mixed: cheap and good enough on the miss path. */
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return mix64(h);
}

static int
table_init(struct arena_table *t)
{
    t->slots = calloc(TABLE_INITIAL, sizeof *t->slots);
    if (!t->slots)
        return PYTM_E_NOMEM;
    t->mask = TABLE_INITIAL - 1;
    t->used = 0;
    return 0;
}

static uint64_t
table_bytes(const struct arena_table *t)
{
    return t->slots ? ((uint64_t)t->mask + 1) * sizeof *t->slots : 0;
}

static void
update_private_bytes(struct pytm_arena *a)
{
    uint64_t n = sizeof *a + table_bytes(&a->str_tab)
                 + table_bytes(&a->frame_tab) + table_bytes(&a->tb_tab)
                 + table_bytes(&a->stack_tab);
    atomic_store_explicit(&a->private_bytes, n, memory_order_relaxed);
}

/* Mirrors pytm_arena_memory_usage() into counters.tracemalloc_memory
 * for readers. Called under a->lock after every intern call, so the
 * stores are ordered between writers; relaxed for readers. */
static void
refresh_memory(struct pytm_arena *a)
{
    atomic_store_explicit(&a->h->counters.tracemalloc_memory,
                          pytm_arena_memory_usage(a), memory_order_relaxed);
}

int
pytm_arena_tables_init_(struct pytm_arena *a)
{
    if (table_init(&a->str_tab) || table_init(&a->frame_tab)
        || table_init(&a->tb_tab) || table_init(&a->stack_tab)) {
        pytm_arena_tables_done_(a);
        return PYTM_E_NOMEM;
    }
    update_private_bytes(a);
    return 0;
}

void
pytm_arena_tables_done_(struct pytm_arena *a)
{
    free(a->str_tab.slots);
    free(a->frame_tab.slots);
    free(a->tb_tab.slots);
    free(a->stack_tab.slots);
    memset(&a->stack_tab, 0, sizeof a->stack_tab);
    memset(&a->str_tab, 0, sizeof a->str_tab);
    memset(&a->frame_tab, 0, sizeof a->frame_tab);
    memset(&a->tb_tab, 0, sizeof a->tb_tab);
}

static void
table_put(struct arena_table *t, uint32_t hash, uint32_t id)
{
    uint32_t i = hash & t->mask;
    while (t->slots[i].id1 != 0)
        i = (i + 1) & t->mask;
    t->slots[i].hash = hash;
    t->slots[i].id1 = id + 1;
    t->used++;
}

/* Makes room for one more entry (load <= 1/2). 0 or PYTM_E_FULL. */
static int
table_reserve(struct pytm_arena *a, struct arena_table *t)
{
    uint64_t n = (uint64_t)t->mask + 1;
    if (((uint64_t)t->used + 1) * 2 <= n)
        return 0;
    if (n * 2 > ((uint64_t)1 << 32))
        return PYTM_E_FULL;
    struct arena_table g = {calloc(n * 2, sizeof *g.slots),
                            (uint32_t)(n * 2 - 1), 0};
    if (!g.slots)
        return PYTM_E_FULL;
    for (uint64_t i = 0; i < n; i++)
        if (t->slots[i].id1)
            table_put(&g, t->slots[i].hash, t->slots[i].id1 - 1);
    free(t->slots);
    *t = g;
    update_private_bytes(a);
    return 0;
}

/* Key comparisons against the arena entry an id names. */
static bool
string_equal(const struct pytm_arena *a, uint32_t sid, const char *s,
             size_t len)
{
    uint32_t rlen;
    memcpy(&rlen, a->strings + sid, sizeof rlen);
    return rlen == len && (len == 0 || memcmp(a->strings + sid + 4, s, len) == 0);
}

/* Looks sid up in the string table: true when it is a record start. */
static bool
string_is_record(const struct pytm_arena *a, uint32_t sid)
{
    if (sid % 4 != 0 || (uint64_t)sid + 4 > a->strings_used)
        return false;
    uint32_t len;
    memcpy(&len, a->strings + sid, sizeof len);
    if ((uint64_t)sid + PYTM_ARENA_STRING_RECORD_SIZE(len) > a->strings_used)
        return false;
    uint32_t hash = hash_bytes(a->strings + sid + 4, len, 0);
    const struct arena_table *t = &a->str_tab;
    for (uint32_t i = hash & t->mask; t->slots[i].id1; i = (i + 1) & t->mask)
        if (t->slots[i].id1 == sid + 1)
            return true;
    return false;
}

static int
intern_string_locked(struct pytm_arena *a, const char *s, size_t len,
                     uint32_t *sid)
{
    if (len > a->strings_cap)
        return PYTM_E_FULL;
    uint32_t hash = hash_bytes(s, len, 0);
    struct arena_table *t = &a->str_tab;
    for (uint32_t i = hash & t->mask; t->slots[i].id1; i = (i + 1) & t->mask) {
        if (t->slots[i].hash == hash
            && string_equal(a, t->slots[i].id1 - 1, s, len)) {
            *sid = t->slots[i].id1 - 1;
            return 0;
        }
    }
    uint64_t rs = PYTM_ARENA_STRING_RECORD_SIZE(len);
    uint64_t at = a->strings_used;
    if (rs > a->strings_cap - at
        || pytm_arena_backing_ensure(&a->strings_bk, at + rs) != 0)
        return PYTM_E_FULL;
    int rc = table_reserve(a, t);
    if (rc != 0)
        return rc;
    uint32_t len32 = (uint32_t)len;
    uint8_t *rec = a->strings + at;
    memcpy(rec, &len32, sizeof len32);
    if (len)
        memcpy(rec + 4, s, len);
    memset(rec + 4 + len, 0, rs - 4 - len); /* NUL and padding */
    a->strings_used = at + rs;
    table_put(t, hash, (uint32_t)at);
    struct pytm_arena_published *p = &a->h->published;
    atomic_store_explicit(&p->n_strings,
                          atomic_load_explicit(&p->n_strings,
                                               memory_order_relaxed) + 1,
                          memory_order_relaxed);
    /* Release: publishes the record above. Paired with the acquire of
     * strings_used in reader_snap.c load_published(). */
    atomic_store_explicit(&p->strings_used, a->strings_used,
                          memory_order_release);
    *sid = (uint32_t)at;
    return 0;
}

int
pytm_arena_intern_string(struct pytm_arena *a, const char *s, size_t len,
                         uint32_t *sid)
{
    if (!a || !sid || (!s && len))
        return PYTM_E_INVAL;
    pthread_mutex_lock(&a->lock);
    int rc = intern_string_locked(a, s ? s : "", len, sid);
    refresh_memory(a);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

static int
intern_frame_locked(struct pytm_arena *a, uint32_t filename, uint32_t lineno,
                    uint32_t *frame_id)
{
    if (!string_is_record(a, filename))
        return PYTM_E_INVAL;
    uint32_t hash = mix64(((uint64_t)filename << 32) | lineno);
    struct arena_table *t = &a->frame_tab;
    for (uint32_t i = hash & t->mask; t->slots[i].id1; i = (i + 1) & t->mask) {
        const struct pytm_arena_frame *f = &a->frames[t->slots[i].id1 - 1];
        if (t->slots[i].hash == hash && f->filename == filename
            && f->lineno == lineno) {
            *frame_id = t->slots[i].id1 - 1;
            return 0;
        }
    }
    if (a->frames_used >= a->frames_cap
        || pytm_arena_backing_ensure(&a->frames_bk, (a->frames_used + 1)
                                                        * sizeof *a->frames)
               != 0)
        return PYTM_E_FULL;
    int rc = table_reserve(a, t);
    if (rc != 0)
        return rc;
    uint32_t id = (uint32_t)a->frames_used;
    a->frames[id].filename = filename;
    a->frames[id].lineno = lineno;
    a->frames_used++;
    table_put(t, hash, id);
    /* Release: publishes frames[id]. Paired with the acquire of
     * frames_used in reader_snap.c load_published(). */
    atomic_store_explicit(&a->h->published.frames_used, a->frames_used,
                          memory_order_release);
    *frame_id = id;
    return 0;
}

int
pytm_arena_intern_frame(struct pytm_arena *a, uint32_t filename_sid,
                        uint32_t lineno, uint32_t *frame_id)
{
    if (!a || !frame_id)
        return PYTM_E_INVAL;
    pthread_mutex_lock(&a->lock);
    int rc = intern_frame_locked(a, filename_sid, lineno, frame_id);
    refresh_memory(a);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

static uint32_t
hash_tb(const uint32_t *ids, uint32_t nframe, uint32_t total, uint32_t thread)
{
    /* thread 0 hashes as before threads were part of the key */
    return hash_bytes(ids, (size_t)nframe * sizeof *ids,
                      (((uint64_t)nframe << 32) | total)
                          ^ ((uint64_t)thread * 0x9e3779b97f4a7c15ull));
}

/* Whether tb holds the stack (ids, nframe, total), whatever its thread. */
static bool
tb_has_stack(const struct pytm_arena *a, const struct pytm_arena_tb *tb,
             const uint32_t *ids, uint32_t nframe, uint32_t total)
{
    return tb->nframe == nframe && tb->total_nframe == total
           && (nframe == 0
               || memcmp(&a->frame_ids[tb->frames_at], ids,
                         (size_t)nframe * sizeof *ids) == 0);
}

/* The tb of key (ids, nframe, total, thread) in the dedupe table, or -1. */
static int64_t
tb_lookup(const struct pytm_arena *a, uint32_t hash, const uint32_t *ids,
          uint32_t nframe, uint32_t total, uint32_t thread)
{
    const struct arena_table *t = &a->tb_tab;
    for (uint32_t i = hash & t->mask; t->slots[i].id1; i = (i + 1) & t->mask) {
        const struct pytm_arena_tb *tb = &a->tbs[t->slots[i].id1 - 1];
        if (t->slots[i].hash == hash
            && atomic_load_explicit(&tb->thread, memory_order_relaxed)
                   == thread
            && tb_has_stack(a, tb, ids, nframe, total))
            return t->slots[i].id1 - 1;
    }
    return -1;
}

/* The stack's first tb (its "base", any thread) from stack_tab, or -1. */
static int64_t
stack_lookup(const struct pytm_arena *a, uint32_t shash, const uint32_t *ids,
             uint32_t nframe, uint32_t total)
{
    const struct arena_table *t = &a->stack_tab;
    for (uint32_t i = shash & t->mask; t->slots[i].id1; i = (i + 1) & t->mask)
        if (t->slots[i].hash == shash
            && tb_has_stack(a, &a->tbs[t->slots[i].id1 - 1], ids, nframe,
                            total))
            return t->slots[i].id1 - 1;
    return -1;
}

/* Writes and publishes tbs[tbs_used] (frame list already in place at
 * frames_at). Room in the section and the table is checked by the
 * caller. */
static uint32_t
tb_append_locked(struct pytm_arena *a, uint32_t hash, uint32_t frames_at,
                 uint32_t nframe, uint32_t total, uint32_t thread)
{
    uint32_t id = (uint32_t)a->tbs_used;
    struct pytm_arena_tb *tb = &a->tbs[id];
    tb->frames_at = frames_at;
    tb->nframe = (uint16_t)nframe;
    atomic_store_explicit(&tb->thread, (uint16_t)thread,
                          memory_order_relaxed);
    tb->total_nframe = total;
    tb->hash = hash;
    atomic_store_explicit(&tb->size, 0, memory_order_relaxed);
    atomic_store_explicit(&tb->count, 0, memory_order_relaxed);
    atomic_store_explicit(&tb->samples, 0, memory_order_relaxed);
    atomic_store_explicit(&tb->alloc_size, 0, memory_order_relaxed);
    atomic_store_explicit(&tb->alloc_count, 0, memory_order_relaxed);
    atomic_store_explicit(&tb->alloc_samples, 0, memory_order_relaxed);
    a->tbs_used++;
    table_put(&a->tb_tab, hash, id);
    /* Release: publishes tbs[id] (and, transitively, the frames,
     * strings and thread identity it names). Paired with the acquire of
     * tracebacks_used in reader_snap.c load_published() and in
     * pytm_arena_tb_count(). */
    atomic_store_explicit(&a->h->published.tracebacks_used, a->tbs_used,
                          memory_order_release);
    return id;
}

/* Allocates the entry tbs[tbs_used] (the caller checked tbs_used <
 * tbs_cap) and mirrors the allocated entry count for the lock-free
 * guard of record_alloc/record_free. 0 or PYTM_E_FULL. */
static int
back_next_tb(struct pytm_arena *a)
{
    uint64_t need = (a->tbs_used + 1) * sizeof *a->tbs;
    if (need <= a->tbs_bk.backed)
        return 0; /* the steady state: one compare */
    int rc = pytm_arena_backing_grow(&a->tbs_bk, need);
    if (rc == 0)
        /* Release: the step above happened before. Paired with the
         * acquire in arena_record.c record_alloc/record_free. */
        atomic_store_explicit(&a->tbs_backed,
                              a->tbs_bk.backed / sizeof *a->tbs,
                              memory_order_release);
    return rc;
}

/* Per-thread split budget: tbs beyond the first of their stack (the
 * "splits") may use at most this many of the section's entries. */
static uint64_t
split_budget(const struct pytm_arena *a)
{
    return a->tbs_cap / PYTM_ARENA_SPLIT_SHARE;
}

/* Thread `thread`'s tb of the stack whose first tb is `base`: base
 * itself when it is that thread's, else a new tb sharing base's frame
 * list while the split budget lasts. Once it is spent the stack is
 * folded: base goes to thread 0 (counted once in stacks_folded) and
 * every thread without its own tb of the stack shares base, so no
 * figure is ever given to the wrong thread and a split never takes an
 * entry past the budget. Returns 0 or a PYTM_E_* from the table. */
static int
split_locked(struct pytm_arena *a, uint32_t base, uint32_t hash,
             uint32_t thread, uint32_t *tb_id)
{
    struct pytm_arena_tb *b = &a->tbs[base];
    uint32_t bt = atomic_load_explicit(&b->thread, memory_order_relaxed);
    if (bt == thread) {
        *tb_id = base;
        return 0;
    }
    uint64_t splits = a->tbs_used - a->stack_tab.used;
    /* A step that cannot be allocated is a full section: fold too. */
    if (splits >= split_budget(a) || a->tbs_used >= a->tbs_cap
        || back_next_tb(a) != 0) {
        if (bt != 0) {
            /* Relaxed: a reader may see k or 0 for a while; both are
             * valid (docs/arena.md "Threads"). */
            atomic_store_explicit(&b->thread, 0, memory_order_relaxed);
            _Atomic uint64_t *c = &a->h->counters.stacks_folded;
            atomic_store_explicit(
                c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                memory_order_relaxed);
        }
        *tb_id = base; /* folded: thread 0 */
        return 0;
    }
    int rc = table_reserve(a, &a->tb_tab);
    if (rc != 0)
        return rc;
    *tb_id = tb_append_locked(a, hash, b->frames_at, b->nframe,
                              b->total_nframe, thread);
    return 0;
}

static int
intern_tb_locked(struct pytm_arena *a, const uint32_t *ids, uint32_t nframe,
                 uint32_t total, uint32_t thread, uint32_t *tb_id)
{
    for (uint32_t k = 0; k < nframe; k++)
        if (ids[k] >= a->frames_used)
            return PYTM_E_INVAL;
    if (thread > a->tids_used)
        return PYTM_E_INVAL;
    uint32_t hash = hash_tb(ids, nframe, total, thread);
    int64_t found = tb_lookup(a, hash, ids, nframe, total, thread);
    if (found >= 0) {
        *tb_id = (uint32_t)found;
        return 0;
    }
    uint32_t shash = hash_tb(ids, nframe, total, 0);
    int64_t base = stack_lookup(a, shash, ids, nframe, total);
    if (base >= 0) /* the stack is known: no second frame list */
        return split_locked(a, (uint32_t)base, hash, thread, tb_id);
    if (a->tbs_used >= a->tbs_cap
        || nframe > a->frame_ids_cap - a->frame_ids_used
        || pytm_arena_backing_ensure(&a->frame_ids_bk,
                                     (a->frame_ids_used + nframe)
                                         * sizeof *a->frame_ids)
               != 0
        || back_next_tb(a) != 0)
        return PYTM_E_FULL;
    int rc = table_reserve(a, &a->tb_tab);
    if (rc == 0)
        rc = table_reserve(a, &a->stack_tab);
    if (rc != 0)
        return rc;
    struct pytm_arena_published *p = &a->h->published;
    uint32_t at = (uint32_t)a->frame_ids_used;
    if (nframe) {
        memcpy(&a->frame_ids[at], ids, (size_t)nframe * sizeof *ids);
        a->frame_ids_used += nframe;
        /* Release: publishes the frame list. Paired with the acquire of
         * frame_ids_used in reader_snap.c load_published(). */
        atomic_store_explicit(&p->frame_ids_used, a->frame_ids_used,
                              memory_order_release);
    }
    *tb_id = tb_append_locked(a, hash, at, nframe, total, thread);
    table_put(&a->stack_tab, shash, *tb_id);
    return 0;
}

int
pytm_arena_intern_thread(struct pytm_arena *a, int32_t tid, uint64_t ident,
                         const char *os_name, uint32_t py_name,
                         uint32_t *thread)
{
    if (!a || !thread)
        return PYTM_E_INVAL;
    int rc = 0;
    pthread_mutex_lock(&a->lock);
    if (py_name != PYTM_ARENA_NO_NAME && !string_is_record(a, py_name))
        rc = PYTM_E_INVAL;
    else if (a->tids_used >= a->tids_cap
             || pytm_arena_backing_ensure(&a->tids_bk, (a->tids_used + 1)
                                                           * sizeof *a->tids)
                    != 0) {
        rc = PYTM_E_FULL;
        _Atomic uint64_t *c = &a->h->counters.threads_unknown;
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
                                     + 1,
                              memory_order_relaxed);
    }
    if (rc == 0) {
        struct pytm_arena_thread_id *e = &a->tids[a->tids_used];
        e->tid = tid;
        atomic_store_explicit(&e->py_name, py_name, memory_order_relaxed);
        e->ident = ident;
        memset(e->os_name, 0, sizeof e->os_name);
        if (os_name)
            strncpy(e->os_name, os_name, sizeof e->os_name - 1);
        a->tids_used++;
        *thread = (uint32_t)a->tids_used;
        /* Release: publishes the entry above. Paired with the acquire
         * of thread_ids_used in reader_snap.c load_published(). */
        atomic_store_explicit(&a->h->published.thread_ids_used, a->tids_used,
                              memory_order_release);
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

uint32_t
pytm_arena_thread_find(struct pytm_arena *a, uint64_t ident, int32_t tid)
{
    if (!a)
        return 0;
    uint32_t k = 0;
    pthread_mutex_lock(&a->lock);
    for (uint64_t i = a->tids_used; i > 0 && k == 0; i--)
        if (a->tids[i - 1].ident == ident && a->tids[i - 1].tid == tid)
            k = (uint32_t)i;
    pthread_mutex_unlock(&a->lock);
    return k;
}

int
pytm_arena_thread_set_name(struct pytm_arena *a, uint32_t thread,
                           uint32_t py_name)
{
    if (!a)
        return PYTM_E_INVAL;
    int rc = PYTM_E_INVAL;
    pthread_mutex_lock(&a->lock);
    if (thread >= 1 && thread <= a->tids_used && string_is_record(a, py_name)) {
        _Atomic uint32_t *f = &a->tids[thread - 1].py_name;
        if (atomic_load_explicit(f, memory_order_relaxed)
            == PYTM_ARENA_NO_NAME)
            /* Release: the string record (published before, under this
             * lock) is visible to a reader that acquire-loads py_name
             * in reader_snap.c read_thread_ids(). */
            atomic_store_explicit(f, py_name, memory_order_release);
        rc = 0;
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int
pytm_arena_intern_traceback(struct pytm_arena *a, const uint32_t *frame_ids,
                            uint32_t nframe, uint32_t total_nframe,
                            uint32_t *tb_id)
{
    return pytm_arena_intern_traceback_thread(a, frame_ids, nframe,
                                              total_nframe, 0, tb_id);
}

int
pytm_arena_intern_traceback_thread(struct pytm_arena *a,
                                   const uint32_t *frame_ids, uint32_t nframe,
                                   uint32_t total_nframe, uint32_t thread,
                                   uint32_t *tb_id)
{
    if (!a || !tb_id || nframe > UINT16_MAX || (nframe && !frame_ids))
        return PYTM_E_INVAL;
    pthread_mutex_lock(&a->lock);
    int rc = intern_tb_locked(a, frame_ids, nframe, total_nframe, thread,
                              tb_id);
    refresh_memory(a);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

uint32_t
pytm_arena_tb_count(struct pytm_arena *a)
{
    /* Acquire: paired with the release in tb_append_locked, so that the
     * caller may read every tb below the count. */
    return (uint32_t)atomic_load_explicit(&a->h->published.tracebacks_used,
                                          memory_order_acquire);
}

struct pytm_arena_tb *
pytm_arena_tbs(struct pytm_arena *a)
{
    return a->tbs;
}

uint64_t
pytm_arena_memory_usage(const struct pytm_arena *a)
{
    const struct pytm_arena_published *p = &a->h->published;
    uint64_t hwm = atomic_load_explicit(&p->threads_hwm, memory_order_relaxed);
    return atomic_load_explicit(&a->private_bytes, memory_order_relaxed)
           + sizeof(struct pytm_arena_header)
           + hwm * sizeof(struct pytm_arena_thread)
           + atomic_load_explicit(&p->strings_used, memory_order_relaxed)
           + atomic_load_explicit(&p->frames_used, memory_order_relaxed)
                 * sizeof(struct pytm_arena_frame)
           + atomic_load_explicit(&p->frame_ids_used, memory_order_relaxed)
                 * sizeof(uint32_t)
           + atomic_load_explicit(&p->tracebacks_used, memory_order_relaxed)
                 * sizeof(struct pytm_arena_tb)
           + atomic_load_explicit(&p->thread_ids_used, memory_order_relaxed)
                 * sizeof(struct pytm_arena_thread_id);
}
