/* recorder/core/tracebacks: the calling thread's current traceback as an arena
 * traceback id, through the two private caches (tables.h).
 *
 * Hit path: capture (code, lasti) pairs, one hash, one probe of the raw
 * traceback cache, keyed by (stack, thread identity) so that a hit is
 * the calling thread's own tb (docs/arena.md §15). Miss path: each
 * (code, lasti) goes through the frame cache; a frame seen for the first
 * time has its line computed and is interned in the arena together with
 * its filename; the traceback is interned for the thread (the arena may
 * answer with the stack's folded thread-0 tb) and that answer cached. A
 * cached code object is kept alive by a strong reference held by the
 * frame cache, so its address cannot be reused by another code object
 * while any cache entry names it.
 */
#ifndef PYTM_RECORDER_TRACEBACKS_H
#define PYTM_RECORDER_TRACEBACKS_H

#include <stdint.h>

struct pytm_session;

/* Stores the calling thread's current traceback as an id of session s's
 * arena in *tb (s->tb_noframe when the thread runs no Python code),
 * through s's caches. Preconditions: GIL held, s active, the reentrancy
 * guard set. Returns 0, or PYTM_E_FULL
 * (arena full) / PYTM_E_NOMEM (a cache could not grow) when nothing
 * could be recorded: the caller drops the sample. */
int pytm_tb_current(struct pytm_session *s, uint32_t *tb);

/* Releases every cached code reference of s and empties both caches. GIL
 * held. Must run while no hook can use the caches concurrently (i.e.
 * from the GIL holder) -- the DECREFs may run arbitrary code, which may
 * allocate and re-enter the hooks: by then the caches are consistent
 * (empty). */
void pytm_tb_clear_caches(struct pytm_session *s);

#endif /* PYTM_RECORDER_TRACEBACKS_H */
