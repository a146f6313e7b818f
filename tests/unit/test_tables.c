/* Unit tests of recorder/tables: trace table, frame cache, raw-traceback
 * cache and the sampled-block filters (plain C, no Python). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pytm_error.h"
#include "tables.h"

#define N_MODEL 4096u

struct fixture {
    struct pytm_traces traces;
    struct pytm_fcache fcache;
    struct pytm_tbcache tbcache;
    /* Reference model for the churn test: model[i] != 0 when address
     * key(i) is in the table, with that size. */
    uint64_t model[N_MODEL];
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    if (pytm_traces_init(&f->traces, 4) != 0 ||
        pytm_fcache_init(&f->fcache, 4) != 0 ||
        pytm_tbcache_init(&f->tbcache, 4) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    pytm_traces_free(&f->traces);
    pytm_fcache_free(&f->fcache);
    pytm_tbcache_free(&f->tbcache);
    free(f);
    return 0;
}

/* Addresses like real blocks: 16-byte aligned, spread over pages. */
static uintptr_t
key(size_t i)
{
    return (uintptr_t)0x7f0000000000ull + (uintptr_t)i * 48u;
}

static struct pytm_trace_rec
rec_for(uintptr_t ptr, uint64_t size, uint32_t tb)
{
    struct pytm_trace_rec r = {.ptr = ptr, .size = size,
                               .est_size = (int64_t)size * 2,
                               .est_count = 3, .tb = tb, .domain = 0};
    return r;
}

static void
traces_put_get_pop(void **state)
{
    struct fixture *f = *state;
    struct pytm_trace_rec old, r = rec_for(key(1), 100, 7);
    assert_int_equal(pytm_traces_put(&f->traces, &r, &old), 0);
    struct pytm_trace_rec g;
    assert_true(pytm_traces_get(&f->traces, key(1), &g));
    assert_int_equal(g.ptr, key(1));
    assert_int_equal(g.size, 100);
    assert_int_equal(g.est_size, 200);
    assert_int_equal(g.est_count, 3);
    assert_int_equal(g.tb, 7);
    assert_false(pytm_traces_get(&f->traces, key(2), &g));
    /* The dense record is in snapshot layout. */
    const struct pytm_snap_trace *d = pytm_traces_records(&f->traces);
    assert_int_equal(d[0].size, 100);
    assert_int_equal(d[0].est_size, 200);
    assert_int_equal(d[0].est_count, 3);
    assert_int_equal(d[0].tb, 7);

    /* Same address again: replaced, old value handed back. */
    struct pytm_trace_rec r2 = rec_for(key(1), 55, 9);
    assert_int_equal(pytm_traces_put(&f->traces, &r2, &old), 1);
    assert_int_equal(old.size, 100);
    assert_int_equal(old.tb, 7);
    assert_int_equal(f->traces.count, 1);

    struct pytm_trace_rec out;
    assert_true(pytm_traces_pop(&f->traces, key(1), &out));
    assert_int_equal(out.size, 55);
    assert_int_equal(out.tb, 9);
    assert_false(pytm_traces_pop(&f->traces, key(1), &out));
    assert_int_equal(f->traces.count, 0);
}

static void
traces_grow_and_reset_shrinks(void **state)
{
    struct fixture *f = *state;
    size_t small = pytm_traces_memory(&f->traces);
    struct pytm_trace_rec old;
    for (size_t i = 1; i <= 20000; i++) {
        struct pytm_trace_rec r = rec_for(key(i), i, (uint32_t)i);
        assert_int_equal(pytm_traces_put(&f->traces, &r, &old), 0);
    }
    assert_int_equal(f->traces.count, 20000);
    /* Load factor stays at or below 70%. */
    assert_true(f->traces.count * 10 <= pytm_traces_capacity(&f->traces) * 7);
    for (size_t i = 1; i <= 20000; i++) {
        struct pytm_trace_rec g;
        assert_true(pytm_traces_get(&f->traces, key(i), &g));
        assert_int_equal(g.size, i);
        assert_int_equal(g.tb, i);
    }
    /* Insertion order is kept while nothing is popped: recs[k] is the
     * (k+1)-th put, across every rehash. */
    const struct pytm_snap_trace *d = pytm_traces_records(&f->traces);
    for (size_t k = 0; k < 20000; k++)
        assert_int_equal(d[k].size, k + 1);
    size_t big = pytm_traces_memory(&f->traces);
    assert_true(big > small);
    assert_int_equal(pytm_traces_reset(&f->traces, 4), 0);
    assert_int_equal(f->traces.count, 0);
    assert_true(pytm_traces_memory(&f->traces) < big);
    struct pytm_trace_rec g;
    assert_false(pytm_traces_get(&f->traces, key(5), &g));
    /* Usable again after the reset. */
    struct pytm_trace_rec r = rec_for(key(5), 5, 5);
    assert_int_equal(pytm_traces_put(&f->traces, &r, &old), 0);
    assert_true(pytm_traces_get(&f->traces, key(5), &g));
    assert_int_equal(g.size, 5);
    assert_int_equal(pytm_traces_records(&f->traces)[0].size, 5);
}

/* Every index slot and every dense record agree with the model: the
 * dense arrays hold exactly the live keys once each, each with its own
 * record, and each key's slot points at its position. */
static void
check_against_model(struct fixture *f)
{
    const struct pytm_traces *t = &f->traces;
    size_t live = 0;
    for (size_t i = 0; i < N_MODEL; i++)
        live += f->model[i] != 0;
    assert_int_equal(t->count, live);
    static uint8_t seen[N_MODEL];
    memset(seen, 0, sizeof(seen));
    for (size_t k = 0; k < t->count; k++) {
        uintptr_t p = t->keys[k];
        size_t i = (size_t)(p - key(0)) / 48u;
        assert_true(i < N_MODEL && key(i) == p);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        assert_int_equal(t->recs[k].size, f->model[i]);
        assert_int_equal(t->recs[k].tb, (uint32_t)i);
    }
    size_t used = 0;
    for (size_t j = 0; j < pytm_traces_capacity(t); j++) {
        if (t->slots[j].ptr == 0)
            continue;
        used++;
        assert_true(t->slots[j].at < t->count);
        assert_int_equal(t->keys[t->slots[j].at], t->slots[j].ptr);
    }
    assert_true(t->n_stage <= PYTM_TRACES_STAGE);
    for (unsigned j = 0; j < t->n_stage; j++) {
        assert_true(t->stage[j].at < t->count);
        assert_int_equal(t->keys[t->stage[j].at], t->stage[j].ptr);
    }
    assert_int_equal(used + t->n_stage, t->count);
    for (size_t i = 0; i < N_MODEL; i++) {
        struct pytm_trace_rec g;
        if (f->model[i] == 0) {
            assert_false(pytm_traces_get(t, key(i), &g));
        }
        else {
            assert_true(pytm_traces_get(t, key(i), &g));
            assert_int_equal(g.ptr, key(i));
            assert_int_equal(g.size, f->model[i]);
        }
    }
}

/* Random inserts, replacements and deletes against a reference model:
 * backward-shift deletion and swap-remove must never lose, duplicate or
 * resurrect an entry, nor leave a slot pointing at a moved record. */
static void
traces_churn_matches_model(void **state)
{
    struct fixture *f = *state;
    uint64_t x = 88172645463325252ull;
    struct pytm_trace_rec old, out;
    for (int step = 0; step < 200000; step++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t i = (size_t)(x % N_MODEL);
        uint64_t size = (x >> 20) % 1000 + 1;
        struct pytm_trace_rec r = rec_for(key(i), size, (uint32_t)i);
        if (f->model[i] == 0) {
            assert_int_equal(pytm_traces_put(&f->traces, &r, &old), 0);
            f->model[i] = size;
        }
        else if ((x >> 40) % 4 == 0) {
            /* Same address put again: replaced in place. */
            assert_int_equal(pytm_traces_put(&f->traces, &r, &old), 1);
            assert_int_equal(old.size, f->model[i]);
            assert_int_equal(old.ptr, key(i));
            f->model[i] = size;
        }
        else {
            assert_true(pytm_traces_pop(&f->traces, key(i), &out));
            assert_int_equal(out.size, f->model[i]);
            assert_int_equal(out.tb, (uint32_t)i);
            assert_int_equal(out.ptr, key(i));
            f->model[i] = 0;
        }
        if (step % 20011 == 0)
            check_against_model(f);
    }
    check_against_model(f);
    /* Drain in address order (not dense order): every pop moves some
     * other record. */
    for (size_t i = 0; i < N_MODEL; i++) {
        if (f->model[i] != 0) {
            assert_true(pytm_traces_pop(&f->traces, key(i), &out));
            assert_int_equal(out.size, f->model[i]);
            f->model[i] = 0;
        }
        if (i % 1024 == 0)
            check_against_model(f);
    }
    check_against_model(f);
    assert_int_equal(f->traces.count, 0);
}

/* Addresses 2^(FILTER_BITS + 4) apart share a filter counter: the
 * counter saturates (sticky at 255), lookups then fall through to the
 * stage and the index, and absent addresses still miss. */
static void
traces_filter_aliasing(void **state)
{
    struct fixture *f = *state;
    const uintptr_t step = (uintptr_t)1 << (PYTM_TRACES_FILTER_BITS + 4);
    const uintptr_t base = (uintptr_t)0x100000000ull;
    struct pytm_trace_rec old, out, g;
    for (uint32_t i = 0; i < 300; i++) {
        struct pytm_trace_rec r = rec_for(base + i * step, i + 1, i);
        assert_int_equal(pytm_traces_put(&f->traces, &r, &old), 0);
    }
    /* Aliased but never inserted: a miss, no change. */
    assert_false(pytm_traces_get(&f->traces, base + 300 * step, &g));
    assert_false(pytm_traces_pop(&f->traces, base + 300 * step, &out));
    /* A replacement is found through the saturated counter. */
    struct pytm_trace_rec r = rec_for(base + 7 * step, 999, 7);
    assert_int_equal(pytm_traces_put(&f->traces, &r, &old), 1);
    assert_int_equal(old.size, 8);
    for (uint32_t i = 0; i < 300; i++) {
        assert_true(pytm_traces_pop(&f->traces, base + i * step, &out));
        assert_int_equal(out.size, i == 7 ? 999 : i + 1);
    }
    assert_int_equal(f->traces.count, 0);
    assert_false(pytm_traces_get(&f->traces, base, &g));
    /* A neighbour granule of an address just popped: a miss too. */
    assert_false(pytm_traces_get(&f->traces, base + 16, &g));
}

/* A put right after a pop of the same address (the allocator reusing a
 * block at once) and pops of staged records in every stage position. */
static void
traces_stage_reuse(void **state)
{
    struct fixture *f = *state;
    struct pytm_trace_rec old, out, g;
    for (uint32_t round = 0; round < 3 * PYTM_TRACES_STAGE; round++) {
        for (uint32_t i = 0; i < round % PYTM_TRACES_STAGE + 1; i++) {
            struct pytm_trace_rec r = rec_for(key(i), round * 100 + i, i);
            assert_int_equal(pytm_traces_put(&f->traces, &r, &old), 0);
        }
        /* Pop from the middle first, then the rest. */
        uint32_t n = round % PYTM_TRACES_STAGE + 1;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = (k + n / 2) % n;
            assert_true(pytm_traces_pop(&f->traces, key(i), &out));
            assert_int_equal(out.size, round * 100 + i);
            assert_false(pytm_traces_get(&f->traces, key(i), &g));
        }
        assert_int_equal(f->traces.count, 0);
    }
}

static int released;

static void
count_release(const void *code, void *arg)
{
    (void)code;
    released += *(int *)arg;
}

static void
fcache_put_get_clear(void **state)
{
    struct fixture *f = *state;
    static char codes[600];
    uint32_t id;
    for (int i = 0; i < 600; i++) {
        assert_false(pytm_fcache_get(&f->fcache, &codes[i], i, &id));
        assert_int_equal(pytm_fcache_put(&f->fcache, &codes[i], i,
                                         (uint32_t)(1000 + i)), 0);
    }
    for (int i = 0; i < 600; i++) {
        assert_true(pytm_fcache_get(&f->fcache, &codes[i], i, &id));
        assert_int_equal(id, 1000 + i);
        /* Same code, another instruction: a different key. */
        assert_false(pytm_fcache_get(&f->fcache, &codes[i], i + 1, &id));
    }
    int one = 1;
    released = 0;
    pytm_fcache_clear(&f->fcache, count_release, &one);
    assert_int_equal(released, 600);
    assert_int_equal(f->fcache.count, 0);
    assert_false(pytm_fcache_get(&f->fcache, &codes[3], 3, &id));
}

#define NOT_CACHED UINT32_MAX

/* The tb cached for key (k, n, total, thread), or NOT_CACHED. */
static uint32_t
cached_tb(const struct pytm_tbcache *c, const struct pytm_rawframe *k,
          uint32_t n, uint32_t total, uint32_t thread)
{
    uint32_t tb;
    if (!pytm_tbcache_get(c, pytm_tbcache_hash(k, n, total, thread), k, n,
                          total, thread, &tb))
        return NOT_CACHED;
    return tb;
}

static void
tbcache_keys(void **state)
{
    struct fixture *f = *state;
    static char code_a, code_b;
    struct pytm_rawframe k1[1] = {{&code_a, 10, 0}};
    struct pytm_rawframe k3[3] = {{&code_a, 10, 0}, {&code_b, 4, 0},
                                  {&code_a, 2, 0}};
    uint32_t tb;
    uint64_t h1 = pytm_tbcache_hash(k1, 1, 1, 0);
    uint64_t h1deep = pytm_tbcache_hash(k1, 1, 5, 0);
    uint64_t h3 = pytm_tbcache_hash(k3, 3, 3, 0);
    assert_false(pytm_tbcache_get(&f->tbcache, h1, k1, 1, 1, 0, &tb));
    assert_int_equal(pytm_tbcache_put(&f->tbcache, h1, k1, 1, 1, 0, 11), 0);
    assert_int_equal(pytm_tbcache_put(&f->tbcache, h3, k3, 3, 3, 0, 33), 0);
    assert_true(pytm_tbcache_get(&f->tbcache, h1, k1, 1, 1, 0, &tb));
    assert_int_equal(tb, 11);
    assert_true(pytm_tbcache_get(&f->tbcache, h3, k3, 3, 3, 0, &tb));
    assert_int_equal(tb, 33);
    /* Same frames, another total depth: another traceback. */
    assert_false(pytm_tbcache_get(&f->tbcache, h1deep, k1, 1, 5, 0, &tb));
    /* Same first frame, different deeper frame: a miss. */
    struct pytm_rawframe k3b[3] = {{&code_a, 10, 0}, {&code_b, 5, 0},
                                   {&code_a, 2, 0}};
    assert_false(pytm_tbcache_get(&f->tbcache,
                                  pytm_tbcache_hash(k3b, 3, 3, 0), k3b, 3, 3,
                                  0, &tb));
    /* Same stack, another thread: another key, naming that thread's tb;
     * the thread is part of the match (thread 2 probing with thread 0's
     * hash lands on thread 0's entry and must not take it), not only of
     * the hash. */
    assert_int_equal(cached_tb(&f->tbcache, k3, 3, 3, 2), NOT_CACHED);
    assert_false(pytm_tbcache_get(&f->tbcache, h3, k3, 3, 3, 2, &tb));
    assert_int_equal(pytm_tbcache_put(&f->tbcache,
                                      pytm_tbcache_hash(k3, 3, 3, 2), k3, 3,
                                      3, 2, 44),
                     0);
    assert_int_equal(cached_tb(&f->tbcache, k3, 3, 3, 2), 44);
    assert_int_equal(cached_tb(&f->tbcache, k3, 3, 3, 0), 33);
    /* Growth keeps every key. */
    static char many[2000];
    for (int i = 0; i < 2000; i++) {
        struct pytm_rawframe k[2] = {{&many[i], i, 0}, {&code_b, 1, 0}};
        assert_int_equal(pytm_tbcache_put(&f->tbcache,
                                          pytm_tbcache_hash(k, 2, 9, i % 3u),
                                          k, 2, 9, i % 3u, (uint32_t)i),
                         0);
    }
    for (int i = 0; i < 2000; i++) {
        struct pytm_rawframe k[2] = {{&many[i], i, 0}, {&code_b, 1, 0}};
        assert_true(pytm_tbcache_get(&f->tbcache,
                                     pytm_tbcache_hash(k, 2, 9, i % 3u), k, 2,
                                     9, i % 3u, &tb));
        assert_int_equal(tb, i);
    }
    pytm_tbcache_clear(&f->tbcache);
    assert_false(pytm_tbcache_get(&f->tbcache, h3, k3, 3, 3, 0, &tb));
}

/* The per-table filter appears only once the index reaches
 * 2^PYTM_TRACES_FILTER_FROM slots, counting every key already in the
 * table (staged ones too), so no lookup after the switch misses. */
static void
traces_filter_attaches_when_large(void **state)
{
    struct fixture *f = *state;
    struct pytm_trace_rec old, g;
    const size_t n = ((size_t)1 << PYTM_TRACES_FILTER_FROM) / 10 * 7 + 100;
    assert_null(f->traces.filter);
    size_t i = 1;
    for (; pytm_traces_capacity(&f->traces) <
               ((size_t)1 << PYTM_TRACES_FILTER_FROM);
         i++) {
        struct pytm_trace_rec r = rec_for(key(i), i, (uint32_t)i);
        assert_int_equal(pytm_traces_put(&f->traces, &r, &old), 0);
        if (pytm_traces_capacity(&f->traces) <
            ((size_t)1 << PYTM_TRACES_FILTER_FROM))
            assert_null(f->traces.filter);
    }
    assert_non_null(f->traces.filter);
    for (; i <= n; i++) {
        struct pytm_trace_rec r = rec_for(key(i), i, (uint32_t)i);
        assert_int_equal(pytm_traces_put(&f->traces, &r, &old), 0);
    }
    for (size_t k = 1; k <= n; k++) {
        assert_true(pytm_traces_get(&f->traces, key(k), &g));
        assert_int_equal(g.size, k);
    }
    for (size_t k = 1; k <= n; k += 2)
        assert_true(pytm_traces_pop(&f->traces, key(k), &g));
    for (size_t k = 1; k <= n; k++)
        assert_int_equal(pytm_traces_get(&f->traces, key(k), &g), k % 2 == 0);
    assert_false(pytm_traces_get(&f->traces, key(n + 1), &g));
}

/* Resident memory: every filter page a sampled block lands in stays
 * dirty, so the pages a heap span dirties set the filter's RSS (issue
 * 13). Blocks 256 KiB apart over 8 MiB of heap: at most one page per
 * 512 KiB of span. */
static void
filter_page_covers_half_a_mib(void **state)
{
    (void)state;
    uintptr_t base = 0x7f0000000000ull, pages[64];
    size_t n = 0;
    for (uintptr_t off = 0; off < ((uintptr_t)8 << 20); off += 256u << 10) {
        uintptr_t page =
            (uintptr_t)&pytm_filter_main[pytm_filter_main_index(base + off)]
            >> 12;
        bool seen = false;
        for (size_t i = 0; i < n; i++)
            seen = seen || pages[i] == page;
        if (!seen)
            pages[n++] = page;
    }
    assert_true(n <= 16);
}

static void
filter_counts_and_saturates(void **state)
{
    (void)state;
    pytm_filter_main_clear();
    const uintptr_t granule = (uintptr_t)1 << PYTM_FILTER_SHIFT;
    uintptr_t a = 0x7f0000001200ull, b = a + granule;
    assert_false(pytm_filter_main_maybe((void *)a));
    pytm_filter_main_inc(a);
    assert_true(pytm_filter_main_maybe((void *)a));
    /* Blocks in the same granule share its counter... */
    assert_true(pytm_filter_main_maybe((void *)(a + granule - 16)));
    /* ...the next granule has its own. */
    assert_false(pytm_filter_main_maybe((void *)b));
    /* An address 2^(bits+shift) away aliases: a false positive, never a
     * false negative. */
    uintptr_t alias =
        a + ((uintptr_t)1 << (PYTM_FILTER_MAIN_BITS + PYTM_FILTER_SHIFT));
    assert_true(pytm_filter_main_maybe((void *)alias));
    pytm_filter_main_dec(a);
    assert_false(pytm_filter_main_maybe((void *)a));
    /* Saturation at 255 is sticky: decrements no longer clear it. */
    for (int i = 0; i < 300; i++)
        pytm_filter_main_inc(a);
    for (int i = 0; i < 300; i++)
        pytm_filter_main_dec(a);
    assert_true(pytm_filter_main_maybe((void *)a));
    pytm_filter_main_clear();
    assert_false(pytm_filter_main_maybe((void *)a));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(traces_put_get_pop, setup, teardown),
        cmocka_unit_test_setup_teardown(traces_filter_attaches_when_large,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(traces_grow_and_reset_shrinks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(traces_churn_matches_model, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(traces_filter_aliasing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(traces_stage_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(fcache_put_get_clear, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(tbcache_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(filter_counts_and_saturates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(filter_page_covers_half_a_mib, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
