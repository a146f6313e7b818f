/* recorder/core/record: the slow paths of the hooks -- recording a block
 * and forgetting it -- shared by every trampoline in hooks.c. Each takes
 * the session it records into.
 *
 * "main" functions handle MEM and OBJ blocks: GIL held (PEP 445
 * guarantees it for those domains), records in s->traces, arena
 * aggregates updated serially. "raw" functions handle RAW blocks: any
 * thread, GIL or not, records in pytm_raw.traces under the RAW lock;
 * aggregates are updated serially when the caller holds the GIL and
 * deferred through the pending queue otherwise (rawside.h).
 *
 * Whether a block is recorded, and with what weights, is the policy's
 * decision (policy.h), taken once per crossing inside these functions.
 * None of them fails the program's allocation: a record that cannot be
 * stored is dropped and counted (thread slot and arena n_dropped), and
 * the policy hears of it (a full arena makes sampled mode back off).
 */
#ifndef PYTM_RECORDER_RECORD_H
#define PYTM_RECORDER_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "tables.h"

struct pytm_session;
struct pytm_tls;

/* A MEM/OBJ allocation of `size` bytes at p (p != NULL) whose countdown
 * crossed (always, in exact mode): the policy decides, then the
 * traceback is captured and the block recorded. GIL held, guard set.
 * No-op (countdown redrawn) when s is not active. */
void pytm_record_alloc_main(struct pytm_session *s, struct pytm_tls *t,
                            void *p, uint64_t size);

/* Forgets the MEM/OBJ block p if it is recorded. GIL held. No-op when s
 * is not active or p is not recorded. */
void pytm_record_free_main(struct pytm_session *s, void *p);

/* A RAW allocation whose countdown crossed. Checks whether the calling
 * thread holds the GIL (frames are captured only then). Guard set. */
void pytm_record_alloc_raw(struct pytm_session *s, struct pytm_tls *t,
                           void *p, uint64_t size);

/* Forgets the RAW block p if it is recorded. Any thread. */
void pytm_record_free_raw(struct pytm_session *s, void *p);

/* RAW realloc support. Before reallocating p, take its record out of the
 * table (so that no other thread can see a stale record for an address
 * the allocator may hand out again): returns true and fills *old and
 * *epoch when p was recorded. Then, after the realloc, exactly one of
 *   - pytm_record_raw_untake(old, epoch)  when the realloc failed
 *     (p is still live: the record goes back), or
 *   - pytm_record_raw_account_free(old, epoch)  when it succeeded.
 * Both do nothing when a clear/stop/start happened in between. */
bool pytm_record_raw_take(struct pytm_session *s, void *p,
                          struct pytm_trace_rec *old, uint32_t *epoch);
void pytm_record_raw_untake(struct pytm_session *s,
                            const struct pytm_trace_rec *old, uint32_t epoch);
void pytm_record_raw_account_free(struct pytm_session *s,
                                  const struct pytm_trace_rec *old,
                                  uint32_t epoch);

#endif /* PYTM_RECORDER_RECORD_H */
