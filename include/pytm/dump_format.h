/* pytm dump file format (.pytm), version 1.0: on-disk constants.
 *
 * The full specification, with layout tables and a worked example, is
 * docs/dump-format.md; this header is its machine-readable half. Both
 * the encoder (dump/dump_write.c) and the decoder (dump/dump_read.c) use
 * only these constants.
 *
 * A dump is portable: every multi-byte field is little-endian and is
 * written and read one field at a time through dump/le.h. No struct here
 * is ever written to a file as raw memory; the offsets below are byte
 * positions inside a serialised header, not C struct offsets.
 *
 * FILE LAYOUT
 *
 *   0                    file header           (header_size bytes, 48 in v1)
 *   header_size          section table         (n_sections * entry_size)
 *   section[i].offset    section i: one LZ4 frame (stored_size bytes)
 *
 * COMPATIBILITY WINDOW
 *   A reader accepts any file with the same major version. For a minor
 *   version <= its own it is strict (exact header/entry sizes, zero
 *   reserved fields, no trailing bytes in a known section). For a later
 *   minor it skips what it does not know: bytes past its header/entry
 *   size, trailing bytes of a known section, sections with an unknown
 *   id (unless flagged MUST_UNDERSTAND), and compatible header flags.
 */
#ifndef PYTM_DUMP_FORMAT_H
#define PYTM_DUMP_FORMAT_H

#include <assert.h>
#include <stdint.h>

#define PYTM_DUMP_MAGIC "PYTMDUMP" /* 8 bytes, no NUL */
#define PYTM_DUMP_MAGIC_SIZE 8u
/* Stored as a little-endian u32: bytes 04 03 02 01. A header written by
 * a native big-endian writer shows 01 02 03 04 here. */
#define PYTM_DUMP_ENDIAN_TAG 0x01020304u
#define PYTM_DUMP_ENDIAN_TAG_SWAPPED 0x04030201u
#define PYTM_DUMP_VERSION_MAJOR 1u
/* The writer puts minor 1 only in files with a `threads` section; a
 * file without one is a v1.0 file byte for byte. */
#define PYTM_DUMP_VERSION_MINOR 1u
#define PYTM_DUMP_MINOR_THREADS 1u /* first minor with section 8 */

/* ---- file header: byte offsets and sizes (all little-endian) ---- */
#define PYTM_DUMP_HDR_MAGIC 0u         /* char[8] "PYTMDUMP" */
#define PYTM_DUMP_HDR_ENDIAN 8u        /* u32 PYTM_DUMP_ENDIAN_TAG */
#define PYTM_DUMP_HDR_MAJOR 12u        /* u16 */
#define PYTM_DUMP_HDR_MINOR 14u        /* u16 */
#define PYTM_DUMP_HDR_HEADER_SIZE 16u  /* u32 bytes before the table */
#define PYTM_DUMP_HDR_FLAGS 20u        /* u32 PYTM_DUMP_FLAG_* */
#define PYTM_DUMP_HDR_FILE_SIZE 24u    /* u64 total bytes of the file */
#define PYTM_DUMP_HDR_N_SECTIONS 32u   /* u32 */
#define PYTM_DUMP_HDR_ENTRY_SIZE 36u   /* u32 bytes per table entry */
#define PYTM_DUMP_HDR_CRC 40u          /* u32 CRC-32 of header + table,
                                          computed with this field = 0 */
#define PYTM_DUMP_HDR_RESERVED 44u     /* u32, 0 */
#define PYTM_DUMP_HEADER_SIZE 48u      /* v1.0 header size */

/* Header flags. Bits 0-15 are incompatible: a reader rejects a file
 * with one it does not know. Bits 16-31 are compatible: ignored when
 * unknown. v1.0 defines none of either. */
#define PYTM_DUMP_FLAGS_INCOMPAT_MASK 0x0000ffffu
#define PYTM_DUMP_FLAGS_KNOWN 0u

/* ---- section table entry: byte offsets inside one entry ---- */
#define PYTM_DUMP_ENT_ID 0u           /* u32 PYTM_DUMP_SEC_* */
#define PYTM_DUMP_ENT_CODEC 4u        /* u16 PYTM_DUMP_CODEC_* */
#define PYTM_DUMP_ENT_FLAGS 6u        /* u16 PYTM_DUMP_SECFLAG_* */
#define PYTM_DUMP_ENT_OFFSET 8u       /* u64 from the start of the file */
#define PYTM_DUMP_ENT_STORED_SIZE 16u /* u64 bytes in the file */
#define PYTM_DUMP_ENT_RAW_SIZE 24u    /* u64 bytes once decompressed */
#define PYTM_DUMP_ENT_CRC 32u         /* u32 CRC-32 of the stored bytes */
#define PYTM_DUMP_ENT_RESERVED 36u    /* u32, 0 */
#define PYTM_DUMP_ENTRY_SIZE 40u      /* v1.0 entry size */

#define PYTM_DUMP_CODEC_LZ4F 1u /* one LZ4 frame (lz4_Frame_format.md) */
/* An unknown section carrying this flag may not be skipped. */
#define PYTM_DUMP_SECFLAG_MUST_UNDERSTAND 0x1u

/* Section ids: ITEM(NAME, id, "name", required). One table gives the
 * enum, the names used in error messages and the required set. TRACES
 * is required exactly when META.flags has PYTM_SNAP_HAS_TRACES. */
#define PYTM_DUMP_SECTIONS(ITEM)                 \
    ITEM(META, 1, "meta", 1)                     \
    ITEM(TOTALS, 2, "totals", 1)                 \
    ITEM(STRINGS, 3, "strings", 1)               \
    ITEM(FRAMES, 4, "frames", 1)                 \
    ITEM(FRAME_IDS, 5, "frame_ids", 1)           \
    ITEM(TRACEBACKS, 6, "tracebacks", 1)         \
    ITEM(TRACES, 7, "traces", 0)                 \
    ITEM(THREADS, 8, "threads", 0)

enum pytm_dump_section_id {
#define PYTM_DUMP_SEC_ENUM(name, id, str, req) PYTM_DUMP_SEC_##name = id,
    PYTM_DUMP_SECTIONS(PYTM_DUMP_SEC_ENUM)
#undef PYTM_DUMP_SEC_ENUM
};
#define PYTM_DUMP_SEC_MAX_KNOWN 8u

/* ---- META payload: fixed little-endian fields, then the cmdline ---- */
#define PYTM_DUMP_META_PID 0u           /* i64 */
#define PYTM_DUMP_META_START_NS 8u      /* u64 */
#define PYTM_DUMP_META_TAKEN_NS 16u     /* u64 */
#define PYTM_DUMP_META_INTERVAL 24u     /* u64 */
#define PYTM_DUMP_META_NFRAME 32u       /* u32 */
#define PYTM_DUMP_META_FLAGS 36u        /* u32 PYTM_SNAP_* */
#define PYTM_DUMP_META_CMDLINE_LEN 40u  /* u32 */
#define PYTM_DUMP_META_CMDLINE 44u      /* bytes, no NUL */
#define PYTM_DUMP_META_FIXED_SIZE 44u

/* ---- TOTALS payload: eight 64-bit fields in struct pytm_snap_totals
 * order (traced_current, traced_peak: i64; the rest u64) ---- */
#define PYTM_DUMP_TOTALS_FIELDS 8u
#define PYTM_DUMP_TOTALS_SIZE 64u

/* Columns per entry of the varint sections (each entry costs at least
 * one byte per column: the decoder's count-vs-bytes bound). */
#define PYTM_DUMP_FRAMES_COLUMNS 2u     /* filename, lineno */
#define PYTM_DUMP_TB_COLUMNS 9u
#define PYTM_DUMP_TRACES_COLUMNS 5u     /* size, est_size, est_count, tb,
                                           domain */
/* THREADS (v1.1): the identity table, then the per-thread splits */
#define PYTM_DUMP_THREAD_COLUMNS 4u     /* tid, ident, py_name, os_len */
#define PYTM_DUMP_SPLIT_COLUMNS 8u      /* tb, thread, size, count,
                                           samples, alloc_size,
                                           alloc_count, alloc_samples */
#define PYTM_DUMP_MAX_OS_NAME 15u       /* bytes of a pthread name */
#define PYTM_DUMP_VARINT_MAX 10u        /* bytes of a LEB128 u64 */

/* ---- hard caps: the decoder rejects larger values with TOOBIG, the
 * encoder refuses to write them. ---- */
#define PYTM_DUMP_MAX_SECTIONS 64u
#define PYTM_DUMP_MAX_HEADER_SIZE 4096u
#define PYTM_DUMP_MAX_ENTRY_SIZE 256u
#define PYTM_DUMP_MAX_FILE_SIZE (UINT64_C(1) << 36)    /* 64 GiB */
#define PYTM_DUMP_MAX_RAW_SIZE (UINT64_C(1) << 32)     /* per section */
/* LZ4 cannot expand more than ~255x (one extra byte per 255 bytes of
 * match); a section whose raw size exceeds this multiple of its stored
 * size (plus a small allowance) is lying. */
#define PYTM_DUMP_MAX_RATIO 256u
#define PYTM_DUMP_RATIO_SLACK 1024u
#define PYTM_DUMP_MAX_CMDLINE (UINT32_C(1) << 20)
#define PYTM_DUMP_MAX_STRINGS (UINT32_C(1) << 26)
#define PYTM_DUMP_MAX_STRING_LEN (UINT32_C(1) << 24)
#define PYTM_DUMP_MAX_FRAMES (UINT32_C(1) << 26)
#define PYTM_DUMP_MAX_FRAME_IDS (UINT32_C(1) << 28)
#define PYTM_DUMP_MAX_TBS (UINT32_C(1) << 26)
#define PYTM_DUMP_MAX_TRACES (UINT64_C(1) << 28)
#define PYTM_DUMP_MAX_THREADS 65534u    /* tb.thread is a uint16 index+1 */
#define PYTM_DUMP_MAX_SPLITS (UINT64_C(1) << 28)

/* The offsets above tile their records exactly (no struct is defined,
 * so these are the layout checks). */
static_assert(PYTM_DUMP_HDR_RESERVED + 4u == PYTM_DUMP_HEADER_SIZE,
              "header fields tile the v1 header");
static_assert(PYTM_DUMP_ENT_RESERVED + 4u == PYTM_DUMP_ENTRY_SIZE,
              "entry fields tile the v1 entry");
static_assert(PYTM_DUMP_META_CMDLINE_LEN + 4u == PYTM_DUMP_META_FIXED_SIZE,
              "meta fixed part");
static_assert(PYTM_DUMP_TOTALS_FIELDS * 8u == PYTM_DUMP_TOTALS_SIZE, "totals");
static_assert(sizeof(PYTM_DUMP_MAGIC) - 1u == PYTM_DUMP_MAGIC_SIZE, "magic");
static_assert(PYTM_DUMP_MAX_SECTIONS * PYTM_DUMP_MAX_ENTRY_SIZE +
                      PYTM_DUMP_MAX_HEADER_SIZE <= (1u << 15),
              "header + table stays small");

#endif /* PYTM_DUMP_FORMAT_H */
