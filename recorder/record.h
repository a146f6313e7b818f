/* recorder/record: the slow paths of the hooks -- recording a block and
 * forgetting it -- shared by every trampoline in hooks.c.
 *
 * "main" functions handle MEM and OBJ blocks: GIL held (PEP 445
 * guarantees it for those domains), records in pytm_g.traces, arena
 * aggregates updated serially. "raw" functions handle RAW blocks: any
 * thread, GIL or not, records in pytm_raw.traces under the RAW lock;
 * aggregates are updated serially when the caller holds the GIL and
 * deferred through the pending queue otherwise (rawside.h).
 *
 * None of them fails the program's allocation: a record that cannot be
 * stored is dropped and counted (thread slot and arena n_dropped). In
 * sampled mode, drops caused by a full arena also double the session's
 * interval (rate-limited; see adapt() in record.c); exact mode never
 * adapts. A thread joining a session draws its sampler with the interval
 * in force and, with PYTM_SEED, a seed derived from its ordinal.
 */
#ifndef PYTM_RECORDER_RECORD_H
#define PYTM_RECORDER_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "tables.h"

struct pytm_tls;

/* A MEM/OBJ allocation of `size` bytes at p (p != NULL) for which the
 * sampler said "sample" (always in exact mode). Re-decides when the
 * thread's sampler was stale (new session), computes the weights, gets
 * the traceback and records. GIL held, guard set. No-op when the
 * session is not active. */
void pytm_record_alloc_main(struct pytm_tls *t, void *p, uint64_t size);

/* Forgets the MEM/OBJ block p if it is recorded. GIL held. No-op when the
 * session is not active or p is not recorded. */
void pytm_record_free_main(void *p);

/* A RAW allocation that crossed the sampler. Checks whether the calling
 * thread holds the GIL (frames are captured only then). Guard set. */
void pytm_record_alloc_raw(struct pytm_tls *t, void *p, uint64_t size);

/* Forgets the RAW block p if it is recorded. Any thread. */
void pytm_record_free_raw(void *p);

/* RAW realloc support. Before reallocating p, take its record out of the
 * table (so that no other thread can see a stale record for an address
 * the allocator may hand out again): returns true and fills *old and
 * *epoch when p was recorded. Then, after the realloc, exactly one of
 *   - pytm_record_raw_untake(old, epoch)  when the realloc failed
 *     (p is still live: the record goes back), or
 *   - pytm_record_raw_account_free(old, epoch)  when it succeeded.
 * Both do nothing when a clear/stop/start happened in between. */
bool pytm_record_raw_take(void *p, struct pytm_trace_rec *old,
                          uint32_t *epoch);
void pytm_record_raw_untake(const struct pytm_trace_rec *old, uint32_t epoch);
void pytm_record_raw_account_free(const struct pytm_trace_rec *old,
                                  uint32_t epoch);

#endif /* PYTM_RECORDER_RECORD_H */
