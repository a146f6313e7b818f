/* recorder/core/rawside: the RAW lock's pending queue (see rawside.h). */
#include "rawside.h"

#include "arena.h"
#include "pytm_error.h"
#include "session.h"

struct pytm_rawside pytm_raw;

int
pytm_raw_push(uint32_t tb, int32_t sign, int64_t est_size, int64_t est_count)
{
    uint32_t n = atomic_load_explicit(&pytm_raw.n_pending, memory_order_relaxed);
    if (n >= PYTM_PENDING_CAP)
        return PYTM_E_FULL;
    pytm_raw.pending[n] = (struct pytm_pending_ev){
        .tb = tb, .sign = sign, .est_size = est_size, .est_count = est_count};
    atomic_store_explicit(&pytm_raw.n_pending, n + 1, memory_order_relaxed);
    return 0;
}

void
pytm_raw_drain_locked(struct pytm_session *s)
{
    uint32_t n = atomic_load_explicit(&pytm_raw.n_pending, memory_order_relaxed);
    struct pytm_arena_header *h = s->hdr;
    struct pytm_arena_tb *tbs = s->tbs;
    for (uint32_t i = 0; i < n; i++) {
        const struct pytm_pending_ev *ev = &pytm_raw.pending[i];
        if (ev->sign > 0)
            pytm_arena_record_alloc_serial(h, &tbs[ev->tb], ev->est_size,
                                           ev->est_count);
        else
            pytm_arena_record_free_serial(h, &tbs[ev->tb], ev->est_size,
                                          ev->est_count);
    }
    atomic_store_explicit(&pytm_raw.n_pending, 0, memory_order_relaxed);
}

void
pytm_raw_discard_locked(void)
{
    atomic_store_explicit(&pytm_raw.n_pending, 0, memory_order_relaxed);
}
