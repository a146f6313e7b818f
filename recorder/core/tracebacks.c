/* recorder/core/tracebacks: see tracebacks.h. */
#include "tracebacks.h"

#include <stdbool.h>

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

/* The key (capbuf[0..n), total, thread) is not cached: intern its
 * frames and ask the arena for the thread's tb of the stack. The answer
 * is cached as it is, for that thread: its own tb (the stack's first or
 * a split sharing its frame list), or, once the arena's split budget is
 * spent, the stack's first tb folded into thread 0 -- so a folded stack
 * is asked of the arena once per thread, not once per sample. */
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
                               thread, *tb);
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
    /* The raw cache is keyed by (stack, thread): one probe gives this
     * thread's tb. Frameless samples stay on tb_noframe (thread 0): they
     * include the GIL-less RAW ones, which cannot claim an identity. */
    uint32_t thread = pytm_threads_identity(s, &pytm_tls);
    uint64_t hash = pytm_tbcache_hash(s->capbuf, n, total, thread);
    if (__builtin_expect(pytm_tbcache_get(&s->tbcache, hash, s->capbuf,
                                          n, total, thread, tb),
                         1))
        return 0;
    return tb_miss(s, hash, n, total, thread, tb);
}

/* Code objects whose references are being dropped; gathered first so that
 * the caches are empty before any DECREF can run arbitrary code. */
void
pytm_tb_clear_caches(struct pytm_session *s)
{
    pytm_tbcache_clear(&s->tbcache);
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
