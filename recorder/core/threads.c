/* recorder/core/threads: per-thread state lifecycle (see threads.h). */
#define _GNU_SOURCE
#include "threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arena.h"
#include "pytm_error.h"
#include "rawside.h"
#include "session.h"

__thread struct pytm_tls pytm_tls __attribute__((tls_model("initial-exec")));

/* Written once by pytm_threads_global_init (GIL), read-only afterwards. */
static pthread_key_t tls_key;
static bool tls_key_ok;
static struct pytm_session *exit_session; /* the session thread_exit
                                             flushes into */

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
    struct pytm_session *s = exit_session;
    pytm_raw_lock();
    if (atomic_load_explicit(&s->active, memory_order_relaxed) &&
        t->gen == s->gen) {
        pytm_threads_flush(s, t);
        if (t->slot >= 0)
            pytm_arena_thread_release(s->arena, t->slot);
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
pytm_threads_global_init(struct pytm_session *s)
{
    if (tls_key_ok)
        return 0;
    exit_session = s;
    if (pthread_key_create(&tls_key, thread_exit) != 0)
        return PYTM_E_NOMEM;
    tls_key_ok = true;
    return 0;
}

void
pytm_threads_join(struct pytm_session *s, struct pytm_tls *t, bool raw_locked)
{
    t->n_allocs = t->n_samples = 0;
    t->bytes_est = 0;
    t->n_dropped = 0;
    t->gen = s->gen;
    t->thread = 0; /* identities are per session: claimed again */
    if (t->registered == 2) { /* exiting thread: no slot, no registry */
        t->slot = -1;
        return;
    }
    char name[16] = {0};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    t->slot = pytm_arena_thread_claim(s->arena, (int32_t)syscall(SYS_gettid),
                                      name);
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
}

void
pytm_threads_flush(struct pytm_session *s, struct pytm_tls *t)
{
    if (t->n_allocs == 0 && t->n_samples == 0 && t->n_dropped == 0)
        return;
    if (t->slot >= 0)
        pytm_arena_thread_add(s->arena, t->slot, t->n_allocs, t->n_samples,
                              t->n_dropped, (uint64_t)t->bytes_est);
    pytm_arena_count(s->arena, t->n_allocs, 0, t->n_dropped);
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
        t->resume = 0;
    }
}

/* Python names given before their thread claimed an identity, keyed by
 * (ident, tid); when full the oldest entry goes (a thread named but
 * never allocating must not keep later ones out). GIL. */
#define PENDING_MAX 256u
static struct {
    uint64_t ident;
    int32_t tid;
    uint32_t sid;
} pending[PENDING_MAX];
static uint32_t n_pending; /* GIL */
static uint32_t pending_gen; /* GIL: session the entries belong to */

static void
pending_drop(uint32_t i)
{
    memmove(&pending[i], &pending[i + 1],
            (size_t)(n_pending - i - 1) * sizeof pending[0]);
    n_pending--;
}

static uint32_t
pending_take(struct pytm_session *s, uint64_t ident, int32_t tid)
{
    if (pending_gen != s->gen)
        return PYTM_ARENA_NO_NAME;
    for (uint32_t i = 0; i < n_pending; i++)
        if (pending[i].ident == ident && pending[i].tid == tid) {
            uint32_t sid = pending[i].sid;
            pending_drop(i);
            return sid;
        }
    return PYTM_ARENA_NO_NAME;
}

uint32_t
pytm_threads_identity(struct pytm_session *s, struct pytm_tls *t)
{
    if (t->gen != s->gen)
        return 0;
    if (t->thread == 0) {
        char name[16] = {0};
        pthread_getname_np(pthread_self(), name, sizeof(name));
        uint64_t ident = (uint64_t)pthread_self();
        int32_t tid = (int32_t)syscall(SYS_gettid);
        uint32_t k;
        if (pytm_arena_intern_thread(s->arena, tid, ident, name,
                                     pending_take(s, ident, tid), &k)
            == 0)
            t->thread = (uint16_t)k;
        else
            t->thread = PYTM_TLS_NO_THREAD;
    }
    return t->thread == PYTM_TLS_NO_THREAD ? 0 : t->thread;
}

/* Bytes of thread names interned in session name_gen (GIL): names may
 * take at most 1/PYTM_NAME_SHARE of the string pool, so that thread
 * churn (10,000 threads, 10,000 "Thread-N (work)") never takes the room
 * of filenames, which main would have had. */
#define PYTM_NAME_SHARE 16u
#define PYTM_NAME_MAX 64u /* bytes kept of one name */
static uint64_t name_bytes;
static uint32_t name_gen;

static bool
name_fits(struct pytm_session *s, size_t len)
{
    const struct pytm_arena_header *h = pytm_arena_header(s->arena);
    if (name_gen != s->gen) {
        name_gen = s->gen;
        name_bytes = 0;
    }
    /* no identity left to name: the thread will be "unknown" */
    if (atomic_load_explicit(&h->published.thread_ids_used,
                             memory_order_relaxed)
        >= h->thread_ids.capacity)
        return false;
    uint64_t rec = PYTM_ARENA_STRING_RECORD_SIZE(len);
    if (name_bytes + rec > h->strings.capacity / PYTM_NAME_SHARE)
        return false;
    name_bytes += rec;
    return true;
}

int
pytm_threads_set_name(struct pytm_session *s, uint64_t ident, int32_t tid,
                      const char *name, size_t len)
{
    if (len > PYTM_NAME_MAX) {
        len = PYTM_NAME_MAX; /* not inside a UTF-8 sequence */
        while (len > 0 && ((unsigned char)name[len] & 0xC0) == 0x80)
            len--;
    }
    if (!name_fits(s, len))
        return PYTM_E_FULL;
    uint32_t sid;
    int rc = pytm_arena_intern_string(s->arena, name, len, &sid);
    if (rc < 0)
        return rc;
    /* GIL: the thread cannot claim its identity between the look-up and
     * the pending entry (claims run under the GIL too). */
    uint32_t k = pytm_arena_thread_find(s->arena, ident, tid);
    if (k != 0)
        return pytm_arena_thread_set_name(s->arena, k, sid);
    if (pending_gen != s->gen) {
        pending_gen = s->gen;
        n_pending = 0;
    }
    for (uint32_t i = 0; i < n_pending; i++)
        if (pending[i].ident == ident && pending[i].tid == tid)
            return 0; /* the first name given stays */
    if (n_pending == PENDING_MAX)
        pending_drop(0);
    pending[n_pending].ident = ident;
    pending[n_pending].tid = tid;
    pending[n_pending].sid = sid;
    n_pending++;
    return 0;
}
