/* recorder/tables: trace table and sampled-block filters (see tables.h).
 *
 * Trace table: linear probing over 2^k inline 40-byte records, home slot
 * = Fibonacci hash of (ptr >> 4). Deletion is backward shift: after
 * emptying slot i, every following entry of the same cluster whose home
 * is not in (i, j] moves back into the hole, so no tombstones ever
 * accumulate and a lookup stops at the first empty slot.
 */
#include "tables.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pytm_error.h"

/* pytm_filter_main: GIL. pytm_filter_raw: written under the RAW lock. */
/* Page-aligned so that clearing can hand the pages back (madvise). */
uint8_t pytm_filter_main[1u << PYTM_FILTER_MAIN_BITS]
    __attribute__((aligned(4096)));
_Atomic uint8_t pytm_filter_raw[1u << PYTM_FILTER_RAW_BITS]
    __attribute__((aligned(4096)));

#define FIB64 UINT64_C(0x9E3779B97F4A7C15)
#define MAX_BITS 40u
#define MIN_BITS 4u

static size_t
page_round(size_t bytes)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (bytes + pg - 1) & ~(pg - 1);
}

void *
pytm_tables_map(size_t bytes)
{
    if (bytes == 0)
        return NULL;
    void *p = mmap(NULL, page_round(bytes), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void
pytm_tables_unmap(void *p, size_t bytes)
{
    if (p != NULL && bytes != 0)
        munmap(p, page_round(bytes));
}

static inline size_t
home(const struct pytm_traces *t, uintptr_t ptr)
{
    return (size_t)(((uint64_t)(ptr >> 4) * FIB64) >> t->shift);
}

static size_t
table_bytes(size_t cap)
{
    return cap * sizeof(struct pytm_trace_rec);
}

static int
traces_alloc(struct pytm_traces *t, unsigned bits)
{
    if (bits < MIN_BITS)
        bits = MIN_BITS;
    if (bits > MAX_BITS)
        return PYTM_E_NOMEM;
    size_t cap = (size_t)1 << bits;
    struct pytm_trace_rec *s = pytm_tables_map(table_bytes(cap));
    if (s == NULL)
        return PYTM_E_NOMEM;
    t->slots = s;
    t->mask = cap - 1;
    t->count = 0;
    t->grow_at = cap / 10 * 7;
    t->shift = 64u - bits;
    return 0;
}

int
pytm_traces_init(struct pytm_traces *t, unsigned bits)
{
    memset(t, 0, sizeof(*t));
    return traces_alloc(t, bits);
}

void
pytm_traces_free(struct pytm_traces *t)
{
    if (t->slots != NULL)
        pytm_tables_unmap(t->slots, table_bytes(t->mask + 1));
    memset(t, 0, sizeof(*t));
}

int
pytm_traces_reset(struct pytm_traces *t, unsigned bits)
{
    if (t->slots != NULL && t->mask + 1 <= ((size_t)1 << bits)) {
        if (t->count != 0)
            memset(t->slots, 0, table_bytes(t->mask + 1));
        t->count = 0;
        return 0;
    }
    pytm_traces_free(t);
    return traces_alloc(t, bits);
}

/* Places rec into a table known to have room and no entry for rec->ptr. */
static void
insert_new(struct pytm_traces *t, const struct pytm_trace_rec *rec)
{
    size_t i = home(t, rec->ptr);
    while (t->slots[i].ptr != 0)
        i = (i + 1) & t->mask;
    t->slots[i] = *rec;
    t->count++;
}

static int
grow(struct pytm_traces *t)
{
    struct pytm_traces bigger;
    unsigned bits = 64u - t->shift + 1u;
    if (traces_alloc(&bigger, bits) < 0)
        return PYTM_E_NOMEM;
    for (size_t i = 0; i <= t->mask; i++) {
        if (t->slots[i].ptr != 0)
            insert_new(&bigger, &t->slots[i]);
    }
    pytm_tables_unmap(t->slots, table_bytes(t->mask + 1));
    *t = bigger;
    return 0;
}

int
pytm_traces_put(struct pytm_traces *t, const struct pytm_trace_rec *rec,
                struct pytm_trace_rec *old)
{
    if (t->slots == NULL)
        return PYTM_E_NOMEM;
    size_t i = home(t, rec->ptr);
    for (;;) {
        uintptr_t p = t->slots[i].ptr;
        if (p == rec->ptr) {
            *old = t->slots[i];
            t->slots[i] = *rec;
            return 1;
        }
        if (p == 0)
            break;
        i = (i + 1) & t->mask;
    }
    if (t->count + 1 > t->grow_at) {
        if (grow(t) < 0) {
            /* Keep working while there is physical room: a full table
             * would make probing loop forever, so stop at 7/8. */
            if (t->count + 1 > (t->mask + 1) / 8 * 7)
                return PYTM_E_NOMEM;
        }
        else {
            insert_new(t, rec);
            return 0;
        }
    }
    t->slots[i] = *rec;
    t->count++;
    return 0;
}

bool
pytm_traces_pop(struct pytm_traces *t, uintptr_t ptr,
                struct pytm_trace_rec *out)
{
    if (t->slots == NULL || ptr == 0)
        return false;
    size_t i = home(t, ptr);
    for (;;) {
        uintptr_t p = t->slots[i].ptr;
        if (p == ptr)
            break;
        if (p == 0)
            return false;
        i = (i + 1) & t->mask;
    }
    *out = t->slots[i];
    /* Backward-shift deletion. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & t->mask;
        uintptr_t p = t->slots[j].ptr;
        if (p == 0)
            break;
        size_t k = home(t, p);
        /* Entry j may move to i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].ptr = 0;
    t->count--;
    return true;
}

const struct pytm_trace_rec *
pytm_traces_get(const struct pytm_traces *t, uintptr_t ptr)
{
    if (t->slots == NULL || ptr == 0)
        return NULL;
    size_t i = home(t, ptr);
    for (;;) {
        uintptr_t p = t->slots[i].ptr;
        if (p == ptr)
            return &t->slots[i];
        if (p == 0)
            return NULL;
        i = (i + 1) & t->mask;
    }
}

size_t
pytm_traces_memory(const struct pytm_traces *t)
{
    return t->slots ? page_round(table_bytes(t->mask + 1)) : 0;
}

/* Zeroes a page-aligned .bss array: MADV_DONTNEED on private anonymous
 * memory makes the pages read back as zero and frees them; memset is
 * the fallback. */
static void
zero_pages(void *p, size_t bytes)
{
    if (madvise(p, bytes, MADV_DONTNEED) != 0)
        memset(p, 0, bytes);
}

void
pytm_filter_main_clear(void)
{
    zero_pages(pytm_filter_main, sizeof(pytm_filter_main));
}

void
pytm_filter_raw_clear(void)
{
    zero_pages((void *)pytm_filter_raw, sizeof(pytm_filter_raw));
}

double
pytm_filter_main_load(void)
{
    size_t nz = 0;
    for (size_t i = 0; i < (1u << PYTM_FILTER_MAIN_BITS); i++)
        nz += pytm_filter_main[i] != 0;
    return (double)nz / (double)(1u << PYTM_FILTER_MAIN_BITS);
}
