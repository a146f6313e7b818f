/* recorder/threads: per-thread state lifecycle (see threads.h). */
#define _GNU_SOURCE
#include "threads.h"

#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "pytm_error.h"
#include "rawside.h"
#include "session.h"

__thread struct pytm_tls pytm_tls __attribute__((tls_model("initial-exec")));

/* Written once by pytm_threads_global_init (GIL), read-only afterwards. */
static pthread_key_t tls_key;
static bool tls_key_ok;

static void
registry_link_locked(struct pytm_tls *t)
{
    t->prev = NULL;
    t->next = pytm_raw.threads;
    if (pytm_raw.threads != NULL)
        pytm_raw.threads->prev = t;
    pytm_raw.threads = t;
    t->registered = 1;
}

static void
registry_unlink_locked(struct pytm_tls *t)
{
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        pytm_raw.threads = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
    t->registered = 0;
}

/* Thread exit (pthread key destructor): flushes the counters into the
 * arena and releases the slot when the state belongs to the running
 * session, then leaves the registry. Runs without the GIL, possibly after
 * the interpreter forgot the thread, so everything happens under the RAW
 * lock, where `active` and `gen` are stable. */
static void
thread_exit(void *arg)
{
    struct pytm_tls *t = arg;
    pytm_raw_lock();
    if (atomic_load_explicit(&pytm_g.active, memory_order_relaxed) &&
        t->gen == pytm_g.gen) {
        pytm_threads_flush(t);
        if (t->slot >= 0)
            pytm_arena_thread_release(pytm_g.arena, t->slot);
    }
    t->slot = -1;
    t->gen = 0;
    if (t->registered == 1)
        registry_unlink_locked(t);
    /* Late allocations by other destructors must not register (and
     * re-arm) again: the TLS block is freed right after. */
    t->registered = 2;
    pytm_raw_unlock();
}

int
pytm_threads_global_init(void)
{
    if (tls_key_ok)
        return 0;
    if (pthread_key_create(&tls_key, thread_exit) != 0)
        return PYTM_E_NOMEM;
    tls_key_ok = true;
    return 0;
}

static uint64_t
thread_seed(struct pytm_tls *t)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)syscall(SYS_gettid) * UINT64_C(0x9E3779B97F4A7C15) ^
           (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
           (uint64_t)(uintptr_t)t;
}

bool
pytm_threads_ensure_slow(struct pytm_tls *t, bool raw_locked)
{
    pytm_sampler_init(&t->sampler, pytm_g.interval, thread_seed(t));
    t->n_allocs = t->n_samples = 0;
    t->bytes_est = 0;
    t->n_dropped = 0;

    if (t->registered == 2) { /* exiting thread: no slot, no registry */
        t->slot = -1;
        t->gen = pytm_g.gen;
        return true;
    }
    char name[16] = {0};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    t->slot = pytm_arena_thread_claim(pytm_g.arena,
                                      (int32_t)syscall(SYS_gettid), name);

    if (t->registered == 0) {
        if (!raw_locked)
            pytm_raw_lock();
        registry_link_locked(t);
        if (!raw_locked)
            pytm_raw_unlock();
        /* Arms the destructor; the value only has to be non-NULL. */
        if (tls_key_ok)
            pthread_setspecific(tls_key, t);
    }
    t->gen = pytm_g.gen;
    return true;
}

void
pytm_threads_flush(struct pytm_tls *t)
{
    if (t->n_allocs == 0 && t->n_samples == 0 && t->n_dropped == 0)
        return;
    if (t->slot >= 0)
        pytm_arena_thread_add(pytm_g.arena, t->slot, t->n_allocs, t->n_samples,
                              t->n_dropped, (uint64_t)t->bytes_est);
    pytm_arena_count(pytm_g.arena, t->n_allocs, 0, t->n_dropped);
    t->n_allocs = t->n_samples = 0;
    t->bytes_est = 0;
    t->n_dropped = 0;
}

void
pytm_threads_reset_all_locked(void)
{
    for (struct pytm_tls *t = pytm_raw.threads; t != NULL; t = t->next) {
        /* Another thread's TLS: no hook is installed, so its owner is not
         * touching it; the next hook call sees left <= 0 and gen stale. */
        t->sampler.left = 0;
    }
}
