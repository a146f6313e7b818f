/* test_reader, hostile arenas: each case copies the fixture's arena,
 * breaks one thing in the copy, and checks that attach or snapshot
 * fails with the expected code (and no crash). Case "intact" is the
 * control: the unmodified copy must pass, so every other failure is the
 * mutation's doing.
 *
 * Fixture contents (test_reader.h): strings at pool offsets 0 "main.py"
 * (record 12 bytes), 12 "lib/util.py" (16), 28 "" (8): strings_used 36;
 * frames_used 3; frame_ids_used 3 (t0: 1 id, t1: 2, t2: 0); 3 tbs.
 */
#include "test_reader.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define H(m) ((struct pytm_arena_header *)(m))
#define POOL(m) ((m) + H(m)->strings.offset)
#define FRAMES(m) ((struct pytm_arena_frame *)((m) + H(m)->frames.offset))
#define IDS(m) ((uint32_t *)((m) + H(m)->frame_ids.offset))
#define TBS(m) ((struct pytm_arena_tb *)((m) + H(m)->tracebacks.offset))
#define PUB(m) (&H(m)->published)

struct mutation {
    const char *name;
    int rc;
    void (*fn)(uint8_t *m);
};

static void intact(uint8_t *m) { (void)m; }
static void magic_flip(uint8_t *m) { m[3] ^= 0x20; }
static void magic_zero(uint8_t *m) { memset(m, 0, PYTM_ARENA_MAGIC_SIZE); }
static void endian_swap(uint8_t *m)
{
    H(m)->endian_tag = __builtin_bswap32(PYTM_ARENA_ENDIAN_TAG);
}
static void endian_junk(uint8_t *m) { H(m)->endian_tag = 0xdeadbeef; }
static void version_2(uint8_t *m) { H(m)->layout_version = 2; }
static void header_size(uint8_t *m) { H(m)->header_size = 2048; }
static void size_past_file(uint8_t *m) { H(m)->arena_size += 4096; }
static void size_tiny(uint8_t *m) { H(m)->arena_size = 100; }
static void pid_zero(uint8_t *m) { H(m)->pid = 0; }
static void pid_negative(uint8_t *m) { H(m)->pid = -5; }
static void nframe_huge(uint8_t *m) { H(m)->nframe = 70000; }
static void cmdline_no_nul(uint8_t *m)
{
    memset(H(m)->cmdline, 'x', PYTM_ARENA_CMDLINE_MAX);
}
/* process tree fields (PYTM_ARENA_FLAG_TREE), see check_tree in reader.c */
static void tree(uint8_t *m, int64_t root, int64_t parent)
{
    H(m)->flags |= PYTM_ARENA_FLAG_TREE;
    H(m)->tree_root_pid = root;
    H(m)->parent_pid = parent;
    H(m)->tree_root_start_ticks = 42;
}
static void tree_root_ok(uint8_t *m) { tree(m, H(m)->pid, 0); }
static void tree_child_ok(uint8_t *m) { tree(m, H(m)->pid + 1, H(m)->pid + 1); }
static void tree_no_flag(uint8_t *m) { H(m)->parent_pid = 5; }
static void tree_ticks_no_flag(uint8_t *m) { H(m)->tree_root_start_ticks = 5; }
static void tree_child_no_parent(uint8_t *m) { tree(m, H(m)->pid + 1, 0); }
static void tree_root_with_parent(uint8_t *m) { tree(m, H(m)->pid, 7); }
static void tree_root_zero(uint8_t *m) { tree(m, 0, 7); }
static void tree_root_huge(uint8_t *m) { tree(m, (int64_t)INT32_MAX + 1, 7); }
static void tree_parent_negative(uint8_t *m) { tree(m, H(m)->pid + 1, -1); }
static void state_creating(uint8_t *m)
{
    atomic_store(&H(m)->state, PYTM_ARENA_CREATING);
}
static void state_junk(uint8_t *m) { atomic_store(&H(m)->state, 9); }
static void sec_misaligned(uint8_t *m) { H(m)->strings.offset += 4; }
static void sec_in_header(uint8_t *m) { H(m)->threads.offset = 0; }
static void sec_past_end(uint8_t *m) { H(m)->tracebacks.capacity += 1u << 20; }
static void sec_overflow(uint8_t *m) { H(m)->frames.capacity = UINT64_MAX / 4; }
static void sec_overlap(uint8_t *m) { H(m)->frames.offset = H(m)->strings.offset; }
static void sec_at_end(uint8_t *m) { H(m)->frame_ids.offset = H(m)->arena_size; }
static void strings_over_cap(uint8_t *m)
{
    atomic_store(&PUB(m)->strings_used, H(m)->strings.capacity + 4);
}
static void strings_unaligned(uint8_t *m) { atomic_store(&PUB(m)->strings_used, 38); }
static void strings_cut_record(uint8_t *m) { atomic_store(&PUB(m)->strings_used, 8); }
static void strings_drop_tail(uint8_t *m)
{
    atomic_store(&PUB(m)->strings_used, 12); /* frame 1 names offset 12 */
}
static void tbs_over_cap(uint8_t *m)
{
    atomic_store(&PUB(m)->tracebacks_used, H(m)->tracebacks.capacity + 1);
}
static void frames_over_cap(uint8_t *m)
{
    atomic_store(&PUB(m)->frames_used, H(m)->frames.capacity + 1);
}
static void ids_over_cap(uint8_t *m)
{
    atomic_store(&PUB(m)->frame_ids_used, H(m)->frame_ids.capacity + 1);
}
static void len_past_pool(uint8_t *m)
{
    uint32_t len = 100000;
    memcpy(POOL(m), &len, 4);
}
static void len_max(uint8_t *m) { memset(POOL(m), 0xFF, 4); }
static void missing_nul(uint8_t *m) { POOL(m)[4 + 7] = 'X'; }
static void filename_mid_record(uint8_t *m) { FRAMES(m)[1].filename = 4; }
static void filename_past_used(uint8_t *m) { FRAMES(m)[1].filename = 36; }
static void frame_id_past_used(uint8_t *m) { IDS(m)[0] = 3; }
static void tb_frames_at(uint8_t *m) { TBS(m)[1].frames_at = 3; }
static void tb_nframe(uint8_t *m) { TBS(m)[1].nframe = 0xFFFF; }

static void
run_cases(struct fixture *f, const struct mutation *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char name[64], path[PATH_MAX];
        size_t size;
        snprintf(name, sizeof name, "case-%s", cases[i].name);
        uint8_t *m = test_reader_copy(f, name, path, &size);
        cases[i].fn(m);
        munmap(m, size);
        int rc = test_reader_try(path, &f->snap);
        if (rc != cases[i].rc)
            fail_msg("case %s: got %s, want %s", cases[i].name,
                     pytm_error_name(rc), pytm_error_name(cases[i].rc));
        unlink(path);
    }
}

#define CASE(fn, rc) {#fn, rc, fn}

void
test_corrupt_header(void **state)
{
    static const struct mutation cases[] = {
        CASE(intact, 0),
        CASE(magic_flip, PYTM_E_MAGIC),
        CASE(magic_zero, PYTM_E_NOTREADY),
        CASE(endian_swap, PYTM_E_ENDIAN),
        CASE(endian_junk, PYTM_E_CORRUPT),
        CASE(version_2, PYTM_E_VERSION),
        CASE(header_size, PYTM_E_CORRUPT),
        CASE(size_past_file, PYTM_E_CORRUPT),
        CASE(size_tiny, PYTM_E_CORRUPT),
        CASE(pid_zero, PYTM_E_CORRUPT),
        CASE(pid_negative, PYTM_E_CORRUPT),
        CASE(nframe_huge, PYTM_E_CORRUPT),
        CASE(cmdline_no_nul, PYTM_E_CORRUPT),
        CASE(tree_root_ok, 0),
        CASE(tree_child_ok, 0),
        CASE(tree_no_flag, PYTM_E_CORRUPT),
        CASE(tree_ticks_no_flag, PYTM_E_CORRUPT),
        CASE(tree_child_no_parent, PYTM_E_CORRUPT),
        CASE(tree_root_with_parent, PYTM_E_CORRUPT),
        CASE(tree_root_zero, PYTM_E_CORRUPT),
        CASE(tree_root_huge, PYTM_E_CORRUPT),
        CASE(tree_parent_negative, PYTM_E_CORRUPT),
        CASE(state_creating, PYTM_E_NOTREADY),
        CASE(state_junk, PYTM_E_CORRUPT),
        CASE(sec_misaligned, PYTM_E_CORRUPT),
        CASE(sec_in_header, PYTM_E_CORRUPT),
        CASE(sec_past_end, PYTM_E_CORRUPT),
        CASE(sec_overflow, PYTM_E_CORRUPT),
        CASE(sec_overlap, PYTM_E_CORRUPT),
        CASE(sec_at_end, PYTM_E_CORRUPT),
    };
    run_cases(*state, cases, sizeof cases / sizeof cases[0]);
}

void
test_corrupt_tables(void **state)
{
    static const struct mutation cases[] = {
        CASE(intact, 0),
        CASE(strings_over_cap, PYTM_E_CORRUPT),
        CASE(strings_unaligned, PYTM_E_CORRUPT),
        CASE(strings_cut_record, PYTM_E_CORRUPT),
        CASE(strings_drop_tail, PYTM_E_CORRUPT),
        CASE(tbs_over_cap, PYTM_E_CORRUPT),
        CASE(frames_over_cap, PYTM_E_CORRUPT),
        CASE(ids_over_cap, PYTM_E_CORRUPT),
        CASE(len_past_pool, PYTM_E_CORRUPT),
        CASE(len_max, PYTM_E_CORRUPT),
        CASE(missing_nul, PYTM_E_CORRUPT),
        CASE(filename_mid_record, PYTM_E_CORRUPT),
        CASE(filename_past_used, PYTM_E_CORRUPT),
        CASE(frame_id_past_used, PYTM_E_CORRUPT),
        CASE(tb_frames_at, PYTM_E_CORRUPT),
        CASE(tb_nframe, PYTM_E_CORRUPT),
    };
    run_cases(*state, cases, sizeof cases / sizeof cases[0]);
}

void
test_truncated_after_attach(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX];
    size_t size;
    uint8_t *m = test_reader_copy(f, "pytm-888888", path, &size);
    munmap(m, size);
    struct pytm_reader *r;
    assert_int_equal(pytm_reader_open_path(path, &r), 0);
    assert_int_equal(pytm_reader_snap(r, &f->snap), 0);
    assert_int_equal(f->snap.n_tbs, 3);
    const off_t sizes[2] = {8192, 0};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(truncate(path, sizes[i]), 0);
        assert_int_equal(pytm_reader_snap(r, &f->snap), PYTM_E_TRUNCATED);
        assert_int_equal(f->snap.n_tbs, 0); /* left empty */
        assert_null(f->snap.str_pool);
        /* the header is unreadable; its pid (ours) is alive */
        assert_int_equal(pytm_reader_liveness(r), PYTM_LIVE_STOPPED);
    }
    pytm_reader_close(r);
}
