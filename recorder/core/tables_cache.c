/* recorder/core/tables_cache: the frame cache and the raw-traceback cache
 * (see tables.h). Both are insert-only open-addressing tables with
 * linear probing; they are emptied as a whole by clear_traces()/stop().
 *
 * Why two levels: a repeat allocation site is recognised by the raw
 * traceback cache alone (one hash of the captured (code, lasti) pairs
 * and, normally, one probe). Only a new raw traceback goes to the frame
 * cache, which turns each (code, lasti) into an interned arena frame;
 * only a new (code, lasti) pays for a line-number computation.
 */
#include "tables.h"

#include <string.h>

#include "pytm_error.h"

#define FIB64 UINT64_C(0x9E3779B97F4A7C15)
#define MIN_BITS 4u
#define MAX_BITS 32u

static inline uint64_t
mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xFF51AFD7ED558CCD);
    x ^= x >> 33;
    x *= UINT64_C(0xC4CEB9FE1A85EC53);
    x ^= x >> 33;
    return x;
}

/* ---- frame cache ------------------------------------------------------ */

static inline size_t
fc_home(const struct pytm_fcache *c, const void *code, int32_t lasti)
{
    uint64_t h = ((uint64_t)(uintptr_t)code >> 4) ^
                 ((uint64_t)(uint32_t)lasti << 40);
    return (size_t)((h * FIB64) >> c->shift);
}

/* Both caches are open-addressing arrays of 2^bits slots growing at 70%
 * load, with the same geometry fields (slots, mask, count, grow_at,
 * shift). CACHE_ALLOC(c, bits) maps c's zeroed slot array and fills its
 * geometry; 0, or PYTM_E_NOMEM with c unchanged. */
#define CACHE_ALLOC(c, bits)                                                \
    map_slots((void **)&(c)->slots, sizeof(*(c)->slots), (bits),            \
              &(c)->mask, &(c)->count, &(c)->grow_at, &(c)->shift)

static int
map_slots(void **slots, size_t ent_size, unsigned bits, size_t *mask,
          size_t *count, size_t *grow_at, unsigned *shift)
{
    if (bits < MIN_BITS)
        bits = MIN_BITS;
    if (bits > MAX_BITS)
        return PYTM_E_NOMEM;
    size_t cap = (size_t)1 << bits;
    void *s = pytm_tables_map(cap * ent_size);
    if (s == NULL)
        return PYTM_E_NOMEM;
    *slots = s;
    *mask = cap - 1;
    *count = 0;
    *grow_at = cap / 10 * 7;
    *shift = 64u - bits;
    return 0;
}

int
pytm_fcache_init(struct pytm_fcache *c, unsigned bits)
{
    memset(c, 0, sizeof(*c));
    return CACHE_ALLOC(c, bits);
}

void
pytm_fcache_free(struct pytm_fcache *c)
{
    if (c->slots != NULL)
        pytm_tables_unmap(c->slots, (c->mask + 1) * sizeof(*c->slots));
    memset(c, 0, sizeof(*c));
}

bool
pytm_fcache_get(const struct pytm_fcache *c, const void *code, int32_t lasti,
                uint32_t *frame)
{
    if (c->slots == NULL)
        return false;
    size_t i = fc_home(c, code, lasti);
    for (;;) {
        const struct pytm_fcache_ent *e = &c->slots[i];
        if (e->code == code && e->lasti == lasti) {
            *frame = e->frame;
            return true;
        }
        if (e->code == NULL)
            return false;
        i = (i + 1) & c->mask;
    }
}

static void
fc_insert(struct pytm_fcache *c, const void *code, int32_t lasti,
          uint32_t frame)
{
    size_t i = fc_home(c, code, lasti);
    while (c->slots[i].code != NULL)
        i = (i + 1) & c->mask;
    c->slots[i].code = code;
    c->slots[i].lasti = lasti;
    c->slots[i].frame = frame;
    c->count++;
}

int
pytm_fcache_put(struct pytm_fcache *c, const void *code, int32_t lasti,
                uint32_t frame)
{
    if (c->slots == NULL)
        return PYTM_E_NOMEM;
    if (c->count + 1 > c->grow_at) {
        struct pytm_fcache bigger;
        if (CACHE_ALLOC(&bigger, 64u - c->shift + 1u) < 0)
            return PYTM_E_NOMEM;
        for (size_t i = 0; i <= c->mask; i++) {
            const struct pytm_fcache_ent *e = &c->slots[i];
            if (e->code != NULL)
                fc_insert(&bigger, e->code, e->lasti, e->frame);
        }
        pytm_tables_unmap(c->slots, (c->mask + 1) * sizeof(*c->slots));
        *c = bigger;
    }
    fc_insert(c, code, lasti, frame);
    return 0;
}

void
pytm_fcache_clear(struct pytm_fcache *c,
                  void (*release)(const void *code, void *arg), void *arg)
{
    if (c->slots == NULL)
        return;
    if (c->count != 0) {
        for (size_t i = 0; i <= c->mask; i++) {
            if (c->slots[i].code != NULL && release != NULL)
                release(c->slots[i].code, arg);
        }
        memset(c->slots, 0, (c->mask + 1) * sizeof(*c->slots));
    }
    c->count = 0;
}

size_t
pytm_fcache_memory(const struct pytm_fcache *c)
{
    return c->slots ? (c->mask + 1) * sizeof(*c->slots) : 0;
}

/* ---- raw traceback cache ---------------------------------------------- */


int
pytm_tbcache_init(struct pytm_tbcache *c, unsigned bits)
{
    memset(c, 0, sizeof(*c));
    return CACHE_ALLOC(c, bits);
}

void
pytm_tbcache_free(struct pytm_tbcache *c)
{
    if (c->slots != NULL)
        pytm_tables_unmap(c->slots, (c->mask + 1) * sizeof(*c->slots));
    if (c->pool != NULL)
        pytm_tables_unmap(c->pool, c->pool_cap * sizeof(*c->pool));
    memset(c, 0, sizeof(*c));
}

uint64_t
pytm_tbcache_hash(const struct pytm_rawframe *f, uint32_t nframe,
                  uint32_t total_nframe, uint32_t thread)
{
    uint64_t h = (((uint64_t)nframe << 32) ^ total_nframe) +
                 (uint64_t)thread * FIB64;
    for (uint32_t i = 0; i < nframe; i++) {
        h = mix64(h ^ (uint64_t)(uintptr_t)f[i].code);
        h ^= (uint64_t)(uint32_t)f[i].lasti * FIB64;
    }
    return mix64(h);
}

static inline bool
tc_match(const struct pytm_tbcache *c, const struct pytm_tbcache_ent *e,
         uint64_t hash, const struct pytm_rawframe *f, uint32_t nframe,
         uint32_t total_nframe, uint32_t thread)
{
    if (e->hash != hash || e->nframe != nframe ||
        e->total_nframe != total_nframe || e->thread != thread ||
        e->code0 != f[0].code || e->lasti0 != f[0].lasti)
        return false;
    if (nframe == 1)
        return true;
    return memcmp(&c->pool[e->pool_at + 1], &f[1],
                  (size_t)(nframe - 1) * sizeof(*f)) == 0;
}

bool
pytm_tbcache_get(const struct pytm_tbcache *c, uint64_t hash,
                 const struct pytm_rawframe *f, uint32_t nframe,
                 uint32_t total_nframe, uint32_t thread, uint32_t *tb)
{
    if (c->slots == NULL)
        return false;
    size_t i = (size_t)((hash * FIB64) >> c->shift);
    for (;;) {
        const struct pytm_tbcache_ent *e = &c->slots[i];
        if (e->nframe == 0)
            return false;
        if (tc_match(c, e, hash, f, nframe, total_nframe, thread)) {
            *tb = e->tb;
            return true;
        }
        i = (i + 1) & c->mask;
    }
}

static void
tc_insert(struct pytm_tbcache *c, const struct pytm_tbcache_ent *ent)
{
    size_t i = (size_t)((ent->hash * FIB64) >> c->shift);
    while (c->slots[i].nframe != 0)
        i = (i + 1) & c->mask;
    c->slots[i] = *ent;
    c->count++;
}

/* Makes room for n more frames in the pool (whose indices fit the
 * entries' 32-bit pool_at). */
static int
pool_reserve(struct pytm_tbcache *c, size_t n)
{
    if (c->pool_used + n <= c->pool_cap)
        return 0;
    if (c->pool_used + n > UINT32_MAX)
        return PYTM_E_NOMEM;
    size_t cap = c->pool_cap ? c->pool_cap : 1024;
    while (cap < c->pool_used + n)
        cap *= 2;
    struct pytm_rawframe *p = pytm_tables_map(cap * sizeof(*p));
    if (p == NULL)
        return PYTM_E_NOMEM;
    if (c->pool != NULL) {
        memcpy(p, c->pool, c->pool_used * sizeof(*p));
        pytm_tables_unmap(c->pool, c->pool_cap * sizeof(*p));
    }
    c->pool = p;
    c->pool_cap = cap;
    return 0;
}

int
pytm_tbcache_put(struct pytm_tbcache *c, uint64_t hash,
                 const struct pytm_rawframe *f, uint32_t nframe,
                 uint32_t total_nframe, uint32_t thread, uint32_t tb)
{
    if (c->slots == NULL || nframe == 0)
        return PYTM_E_NOMEM;
    if (c->count + 1 > c->grow_at) {
        struct pytm_tbcache bigger = *c;
        if (CACHE_ALLOC(&bigger, 64u - c->shift + 1u) < 0)
            return PYTM_E_NOMEM;
        for (size_t i = 0; i <= c->mask; i++) {
            if (c->slots[i].nframe != 0)
                tc_insert(&bigger, &c->slots[i]);
        }
        pytm_tables_unmap(c->slots, (c->mask + 1) * sizeof(*c->slots));
        *c = bigger; /* keeps the pool */
    }
    struct pytm_tbcache_ent ent = {
        .hash = hash,
        .code0 = f[0].code,
        .lasti0 = f[0].lasti,
        .nframe = nframe,
        .total_nframe = total_nframe,
        .tb = tb,
        .thread = thread,
        .pool_at = 0,
    };
    if (nframe > 1) {
        if (pool_reserve(c, nframe) < 0)
            return PYTM_E_NOMEM;
        ent.pool_at = (uint32_t)c->pool_used;
        memcpy(&c->pool[c->pool_used], f, (size_t)nframe * sizeof(*f));
        c->pool_used += nframe;
    }
    tc_insert(c, &ent);
    return 0;
}

void
pytm_tbcache_clear(struct pytm_tbcache *c)
{
    if (c->slots != NULL && c->count != 0)
        memset(c->slots, 0, (c->mask + 1) * sizeof(*c->slots));
    c->count = 0;
    c->pool_used = 0;
}

size_t
pytm_tbcache_memory(const struct pytm_tbcache *c)
{
    return (c->slots ? (c->mask + 1) * sizeof(*c->slots) : 0) +
           c->pool_cap * sizeof(*c->pool);
}
