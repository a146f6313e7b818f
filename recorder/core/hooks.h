/* recorder/core/hooks: PEP 445 allocator hooks on the RAW, MEM and OBJ
 * domains, chained to the allocators that were installed before them.
 * The concurrency design is written at the top of hooks.c.
 */
#ifndef PYTM_RECORDER_HOOKS_H
#define PYTM_RECORDER_HOOKS_H

#include <stdbool.h>

struct pytm_session;

enum pytm_hooks_mode {
    PYTM_HOOKS_SAMPLED = 0,     /* countdown + policy, filter on frees */
    PYTM_HOOKS_EXACT = 1,       /* every allocation recorded */
};

/* Installs the hooks of `mode` on the three domains, recording into
 * session s, saving the current allocators as the ones to chain to.
 * GIL held; s outlives the hooks (it is the process's session). If a domain's current
 * allocator is already ours (left installed because another hook was
 * stacked on top at the last uninstall, and since removed), the saved
 * allocator is kept and only the mode changes.
 * Returns 0, or PYTM_E_EXISTS when our previous hooks are still chained
 * below someone else's (installing again would make a cycle); then
 * nothing changed. */
int pytm_hooks_install(struct pytm_session *s, enum pytm_hooks_mode mode);

/* Restores, on every domain whose current allocator is ours, exactly the
 * allocator saved at install. A domain where someone stacked their own
 * hook on top of ours keeps ours underneath (they pass through once the
 * session is inactive) and is reported by returning false. GIL held --
 * or, in a fork child handler, the only thread. */
bool pytm_hooks_uninstall(void);

/* True while any of our hooks is the current allocator of a domain. */
bool pytm_hooks_current(void);

#endif /* PYTM_RECORDER_HOOKS_H */
