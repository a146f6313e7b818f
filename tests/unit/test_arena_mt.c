/* test_arena, threaded cases: interning, aggregates and thread slots
 * from 4 threads at once. Worker threads never call cmocka assertions
 * (cmocka is not thread-safe): they record what they saw, and the main
 * thread checks it after join.
 */
#include "test_arena.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define NT 4
#define NI 2000

struct intern_job {
    struct pytm_arena *a;
    pthread_barrier_t *go;
    int t;
    int errors;
    uint32_t sh_str[NI], un_str[NI];   /* shared / per-thread strings */
    uint32_t sh_fr[NI], un_fr[NI];     /* frames on them */
    uint32_t sh_tb[NI], un_tb[NI];     /* tracebacks */
};

static void *
intern_worker(void *arg)
{
    struct intern_job *j = arg;
    char buf[64];
    pthread_barrier_wait(j->go);
    for (int i = 0; i < NI; i++) {
        int n = snprintf(buf, sizeof buf, "shared/%d.py", i);
        j->errors += pytm_arena_intern_string(j->a, buf, (size_t)n,
                                              &j->sh_str[i]) != 0;
        n = snprintf(buf, sizeof buf, "t%d/%d.py", j->t, i);
        j->errors += pytm_arena_intern_string(j->a, buf, (size_t)n,
                                              &j->un_str[i]) != 0;
        j->errors += pytm_arena_intern_frame(j->a, j->sh_str[i], (uint32_t)i,
                                             &j->sh_fr[i]) != 0;
        j->errors += pytm_arena_intern_frame(j->a, j->un_str[i], (uint32_t)i,
                                             &j->un_fr[i]) != 0;
        j->errors += pytm_arena_intern_traceback(j->a, &j->sh_fr[i], 1, 1,
                                                 &j->sh_tb[i]) != 0;
        uint32_t two[2] = {j->un_fr[i], j->sh_fr[i]};
        j->errors += pytm_arena_intern_traceback(j->a, two, 2, 3,
                                                 &j->un_tb[i]) != 0;
    }
    return NULL;
}

/* The string at id `sid` in the writer's pool, NUL-terminated. */
static const char *
pool_string(const struct pytm_arena_header *h, uint32_t sid)
{
    return (const char *)h + h->strings.offset + sid + 4;
}

void
test_intern_threads(void **state)
{
    struct fixture *f = *state;
    struct intern_job *jobs = test_calloc(NT, sizeof *jobs);
    pthread_t th[NT];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, NT);
    for (int t = 0; t < NT; t++) {
        jobs[t] = (struct intern_job){.a = f->a, .go = &go, .t = t};
        assert_int_equal(pthread_create(&th[t], NULL, intern_worker, &jobs[t]),
                         0);
    }
    for (int t = 0; t < NT; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&go);

    const struct pytm_arena_header *h = f->h;
    const struct pytm_arena_frame *fr =
        (const void *)((const uint8_t *)h + h->frames.offset);
    const struct pytm_arena_tb *tb = pytm_arena_tbs(f->a);
    const uint32_t *ids = (const void *)((const uint8_t *)h + h->frame_ids.offset);
    char buf[64];
    for (int t = 0; t < NT; t++) {
        struct intern_job *j = &jobs[t];
        assert_int_equal(j->errors, 0);
        for (int i = 0; i < NI; i++) {
            /* shared keys: the same id in every thread */
            assert_int_equal(j->sh_str[i], jobs[0].sh_str[i]);
            assert_int_equal(j->sh_fr[i], jobs[0].sh_fr[i]);
            assert_int_equal(j->sh_tb[i], jobs[0].sh_tb[i]);
            /* every id names what was asked for (so ids are unique) */
            snprintf(buf, sizeof buf, "shared/%d.py", i);
            assert_string_equal(pool_string(h, j->sh_str[i]), buf);
            snprintf(buf, sizeof buf, "t%d/%d.py", t, i);
            assert_string_equal(pool_string(h, j->un_str[i]), buf);
            assert_int_equal(fr[j->un_fr[i]].filename, j->un_str[i]);
            assert_int_equal(fr[j->un_fr[i]].lineno, i);
            assert_int_equal(fr[j->sh_fr[i]].filename, j->sh_str[i]);
            const struct pytm_arena_tb *u = &tb[j->un_tb[i]];
            assert_int_equal(u->nframe, 2);
            assert_int_equal(u->total_nframe, 3);
            assert_int_equal(ids[u->frames_at], j->un_fr[i]);
            assert_int_equal(ids[u->frames_at + 1], j->sh_fr[i]);
            assert_int_equal(ids[tb[j->sh_tb[i]].frames_at], j->sh_fr[i]);
        }
    }
    const uint64_t n = (uint64_t)NI * (NT + 1);
    const struct pytm_arena_published *p = &h->published;
    assert_int_equal(atomic_load(&p->n_strings), n);
    assert_int_equal(atomic_load(&p->frames_used), n);
    assert_int_equal(atomic_load(&p->tracebacks_used), n);
    assert_int_equal(atomic_load(&p->frame_ids_used), (uint64_t)NI * (1 + 2 * NT));
    test_free(jobs);
}

#define NR 20000

struct record_job {
    struct pytm_arena *a;
    pthread_barrier_t *go;
    uint32_t tb;
};

static void *
record_worker(void *arg)
{
    struct record_job *j = arg;
    pthread_barrier_wait(j->go);
    for (int i = 0; i < NR; i++) {
        pytm_arena_record_alloc(j->a, j->tb, 8, 1);
        if (i % 2 == 0)
            pytm_arena_record_free(j->a, j->tb, 8, 1);
    }
    return NULL;
}

void
test_record_threads(void **state)
{
    struct fixture *f = *state;
    uint32_t tbs[2];
    assert_int_equal(pytm_arena_intern_traceback(f->a, NULL, 0, 0, &tbs[0]), 0);
    assert_int_equal(pytm_arena_intern_traceback(f->a, NULL, 0, 1, &tbs[1]), 0);
    pthread_t th[NT];
    struct record_job jobs[NT];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, NT);
    for (int t = 0; t < NT; t++) {
        jobs[t] = (struct record_job){f->a, &go, tbs[t % 2]};
        assert_int_equal(pthread_create(&th[t], NULL, record_worker, &jobs[t]),
                         0);
    }
    for (int t = 0; t < NT; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&go);
    const int64_t alive = NT * (NR / 2);
    const struct pytm_arena_counters *c = &f->h->counters;
    const struct pytm_arena_tb *tb = pytm_arena_tbs(f->a);
    assert_int_equal(atomic_load(&c->traced_current), alive * 8);
    assert_int_equal(atomic_load(&c->live_samples), alive);
    assert_int_equal(atomic_load(&c->n_samples), NT * NR);
    assert_int_equal(atomic_load(&c->n_frees), NT * NR / 2);
    int64_t peak = atomic_load(&c->traced_peak);
    assert_true(peak >= alive * 8);
    assert_true(peak <= alive * 8 + NT * 8); /* one transient per thread */
    for (int k = 0; k < 2; k++) {
        assert_int_equal(atomic_load(&tb[tbs[k]].size), alive / 2 * 8);
        assert_int_equal(atomic_load(&tb[tbs[k]].samples), alive / 2);
        assert_int_equal(atomic_load(&tb[tbs[k]].alloc_samples), NT / 2 * NR);
    }
}

void
test_thread_slots(void **state)
{
    struct fixture *f = *state;
    struct pytm_arena_config cfg = f->cfg;
    cfg.max_threads = 4;
    struct pytm_arena *b;
    assert_int_equal(pytm_arena_create(&cfg, &b), 0);
    struct pytm_arena_header *h = pytm_arena_header(b);
    struct pytm_arena_thread *slots =
        (void *)((uint8_t *)h + h->threads.offset);
    int s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = pytm_arena_thread_claim(b, 100 + i, "a-very-long-thread-name");
        assert_true(s[i] >= 0 && s[i] < 4);
        for (int k = 0; k < i; k++)
            assert_int_not_equal(s[i], s[k]);
        assert_int_equal(atomic_load(&slots[s[i]].state), PYTM_THREAD_LIVE);
        assert_int_equal(slots[s[i]].tid, 100 + i);
        assert_string_equal(slots[s[i]].name, "a-very-long-thr"); /* 15 */
    }
    assert_int_equal(pytm_arena_thread_claim(b, 999, "x"), -1);
    assert_int_equal(atomic_load(&h->published.threads_hwm), 4);
    pytm_arena_thread_add(b, s[2], 10, 2, 1, 4096);
    pytm_arena_thread_add(b, s[2], 1, 1, 0, 8);
    assert_int_equal(atomic_load(&slots[s[2]].n_allocs), 11);
    assert_int_equal(atomic_load(&slots[s[2]].n_samples), 3);
    assert_int_equal(atomic_load(&slots[s[2]].n_dropped), 1);
    assert_int_equal(atomic_load(&slots[s[2]].alloc_bytes_est), 4104);
    /* released slots are reused, with counters reset for the new owner */
    pytm_arena_thread_release(b, s[2]);
    assert_int_equal(atomic_load(&slots[s[2]].state), PYTM_THREAD_FREE);
    int again = pytm_arena_thread_claim(b, 555, NULL);
    assert_int_equal(again, s[2]);
    assert_int_equal(slots[again].tid, 555);
    assert_string_equal(slots[again].name, "");
    assert_int_equal(atomic_load(&slots[again].n_allocs), 0);
    pytm_arena_thread_add(b, -1, 1, 1, 1, 1); /* ignored, no crash */
    pytm_arena_close(b, false, false);
}

struct slot_job {
    struct pytm_arena *a;
    pthread_barrier_t *go;
    _Atomic int *owner; /* per slot: tid of the thread holding it */
    int tid;
    int failures;
};

static void *
slot_worker(void *arg)
{
    struct slot_job *j = arg;
    pthread_barrier_wait(j->go);
    for (int i = 0; i < 2000; i++) {
        int s = pytm_arena_thread_claim(j->a, j->tid, "w");
        if (s < 0 || s >= NT) {
            j->failures++;
            continue;
        }
        int expect = 0;
        if (!atomic_compare_exchange_strong(&j->owner[s], &expect, j->tid))
            j->failures++; /* two threads hold the same slot */
        atomic_store(&j->owner[s], 0);
        pytm_arena_thread_release(j->a, s);
    }
    return NULL;
}

void
test_thread_slots_threads(void **state)
{
    struct fixture *f = *state;
    struct pytm_arena_config cfg = f->cfg;
    cfg.max_threads = NT; /* exactly one slot per thread: claims never fail */
    struct pytm_arena *b;
    assert_int_equal(pytm_arena_create(&cfg, &b), 0);
    _Atomic int owner[NT] = {0};
    pthread_t th[NT];
    struct slot_job jobs[NT];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, NT);
    for (int t = 0; t < NT; t++) {
        jobs[t] = (struct slot_job){b, &go, owner, t + 1, 0};
        assert_int_equal(pthread_create(&th[t], NULL, slot_worker, &jobs[t]), 0);
    }
    for (int t = 0; t < NT; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&go);
    for (int t = 0; t < NT; t++)
        assert_int_equal(jobs[t].failures, 0);
    struct pytm_arena_header *h = pytm_arena_header(b);
    assert_true(atomic_load(&h->published.threads_hwm) <= NT);
    assert_true(atomic_load(&h->published.threads_hwm) >= 1);
    pytm_arena_close(b, false, false);
}
