/* recorder/core/tracebacks: see tracebacks.h. */
#include "tracebacks.h"

#include <stdbool.h>
#include <string.h>

#include "arena.h"
#include "frames.h"
#include "pytm_error.h"
#include "session.h"
#include "tables.h"
#include "threads.h"

/* Scratch for non-ASCII filenames (GIL). */
static char fname_scratch[4096];

/* Frame id of captured frame f; interns it on a cache miss. *cached
 * tells whether the frame cache now holds (and references) its code. */
static int
frame_id(struct pytm_session *s, const struct pytm_rawframe *f, uint32_t *fid,
         bool *cached)
{
    if (pytm_fcache_get(&s->fcache, f->code, f->lasti, fid)) {
        *cached = true;
        return 0;
    }
    size_t len;
    const char *name = pytm_frames_filename(f->code, &len, fname_scratch,
                                            sizeof(fname_scratch));
    uint32_t sid;
    int rc = pytm_arena_intern_string(s->arena, name, len, &sid);
    if (rc < 0)
        return rc;
    rc = pytm_arena_intern_frame(s->arena, sid, pytm_frames_lineno(f), fid);
    if (rc < 0)
        return rc;
    *cached = pytm_fcache_put(&s->fcache, f->code, f->lasti, *fid) == 0;
    if (*cached)
        pytm_frames_code_incref(f->code);
    return 0;
}

/* (tb, thread) -> the same stack's tb for that thread, for stacks the
 * raw traceback cache maps to another thread's tb. Open addressing,
 * mmap'd (pytm_tables_map: never Python memory), grown at 50% load.
 * GIL; emptied with the other caches and whenever the session changes
 * (the arena's ids are per session). */
struct retag_ent {
    uint32_t base1; /* base tb + 1, 0 = empty */
    uint32_t thread;
    uint32_t tb;
};
static struct {
    struct retag_ent *slots;
    size_t mask, count;
    uint32_t gen;
} retag; /* GIL */

#define RETAG_INITIAL 1024u

static size_t
retag_index(uint32_t base, uint32_t thread)
{
    uint64_t h = ((uint64_t)base << 16 | thread) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 20);
}

static void
retag_put(struct retag_ent *slots, size_t mask, uint32_t base,
          uint32_t thread, uint32_t tb)
{
    size_t i = retag_index(base, thread) & mask;
    while (slots[i].base1 != 0)
        i = (i + 1) & mask;
    slots[i] = (struct retag_ent){base + 1, thread, tb};
}

static void
retag_clear(void)
{
    if (retag.slots)
        pytm_tables_unmap(retag.slots, (retag.mask + 1) * sizeof *retag.slots);
    retag.slots = NULL;
    retag.mask = retag.count = 0;
}

/* Room for one more entry; false when it cannot grow (then the caller
 * asks the arena every time, which deduplicates too). */
static bool
retag_reserve(void)
{
    size_t n = retag.slots ? retag.mask + 1 : 0;
    if (n && (retag.count + 1) * 2 <= n)
        return true;
    size_t m = n ? n * 2 : RETAG_INITIAL;
    struct retag_ent *g = pytm_tables_map(m * sizeof *g);
    if (!g)
        return false;
    memset(g, 0, m * sizeof *g);
    for (size_t i = 0; i < n; i++)
        if (retag.slots[i].base1)
            retag_put(g, m - 1, retag.slots[i].base1 - 1,
                      retag.slots[i].thread, retag.slots[i].tb);
    size_t count = retag.count;
    retag_clear();
    retag.slots = g;
    retag.mask = m - 1;
    retag.count = count;
    return true;
}

/* *tb (another thread's tb of this stack) becomes thread's own. */
static int
tb_retag(struct pytm_session *s, uint32_t thread, uint32_t *tb)
{
    if (retag.gen != s->gen) {
        retag_clear();
        retag.gen = s->gen;
    }
    uint32_t base = *tb;
    if (retag.slots)
        for (size_t i = retag_index(base, thread) & retag.mask;
             retag.slots[i].base1; i = (i + 1) & retag.mask)
            if (retag.slots[i].base1 == base + 1
                && retag.slots[i].thread == thread) {
                *tb = retag.slots[i].tb;
                return 0;
            }
    int rc = pytm_arena_retag_traceback(s->arena, base, thread, tb);
    if (rc < 0)
        return rc;
    if (retag_reserve()) {
        retag_put(retag.slots, retag.mask, base, thread, *tb);
        retag.count++;
    }
    return 0;
}

static int
tb_miss(struct pytm_session *s, uint64_t hash, uint32_t n, uint32_t total,
        uint32_t thread, uint32_t *tb)
{
    bool all_cached = true;
    for (uint32_t i = 0; i < n; i++) {
        bool cached;
        int rc = frame_id(s, &s->capbuf[i], &s->fidbuf[i], &cached);
        if (rc < 0)
            return rc;
        all_cached &= cached;
    }
    int rc = pytm_arena_intern_traceback_thread(s->arena, s->fidbuf, n,
                                                total, thread, tb);
    if (rc < 0)
        return rc;
    /* Only cache the raw key when every code object in it is referenced
     * by the frame cache: an unreferenced one could die and its address
     * be reused, and the raw key would then name the wrong code. */
    if (all_cached)
        (void)pytm_tbcache_put(&s->tbcache, hash, s->capbuf, n, total,
                               *tb);
    return 0;
}

int
pytm_tb_current(struct pytm_session *s, uint32_t *tb)
{
    uint32_t total;
    uint32_t n = pytm_frames_capture(s->capbuf, s->nframe, &total);
    if (n == 0) {
        *tb = s->tb_noframe;
        return 0;
    }
    /* The raw cache maps a stack to the tb of the first thread that
     * recorded it; other threads' tbs of it come from the retag table.
     * Frameless samples stay on tb_noframe (thread 0): they include the
     * GIL-less RAW ones, which cannot claim an identity. */
    uint32_t thread = pytm_threads_identity(s, &pytm_tls);
    uint64_t hash = pytm_tbcache_hash(s->capbuf, n, total);
    if (__builtin_expect(pytm_tbcache_get(&s->tbcache, hash, s->capbuf,
                                          n, total, tb),
                         1)) {
        if (__builtin_expect(atomic_load_explicit(&s->tbs[*tb].thread,
                                                  memory_order_relaxed)
                                 == thread,
                             1))
            return 0;
        return tb_retag(s, thread, tb);
    }
    return tb_miss(s, hash, n, total, thread, tb);
}

/* Code objects whose references are being dropped; gathered first so that
 * the caches are empty before any DECREF can run arbitrary code. */
void
pytm_tb_clear_caches(struct pytm_session *s)
{
    pytm_tbcache_clear(&s->tbcache);
    retag_clear();
    size_t n = s->fcache.count;
    if (n == 0)
        return;
    const void **codes = pytm_tables_map(n * sizeof(*codes));
    if (codes == NULL) {
        /* Cannot stage them: leak the references rather than DECREF while
         * iterating (a DECREF may re-enter the hooks, which may grow and
         * remap the cache under the loop). */
        pytm_fcache_clear(&s->fcache, NULL, NULL);
        return;
    }
    size_t k = 0;
    struct pytm_fcache *fc = &s->fcache;
    for (size_t i = 0; fc->slots && i <= fc->mask && k < n; i++) {
        if (fc->slots[i].code != NULL)
            codes[k++] = fc->slots[i].code;
    }
    pytm_fcache_clear(fc, NULL, NULL);
    for (size_t i = 0; i < k; i++)
        pytm_frames_code_decref(codes[i]);
    pytm_tables_unmap(codes, n * sizeof(*codes));
}
