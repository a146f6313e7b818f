/* dump/le: explicit little-endian and varint byte helpers for the dump
 * format. Header-only, no state.
 *
 * Fixed-width fields are assembled byte by byte, so the code is correct
 * on any host byte order and never performs an unaligned access; gcc
 * and clang fold each helper into a single load/store on x86-64.
 *
 * VARINT (unsigned LEB128, at most PYTM_DUMP_VARINT_MAX = 10 bytes):
 * seven value bits per byte, least significant group first; bit 7 set
 * means "another byte follows".
 *
 *   value 300 = 0b10_0101100  ->  bytes AC 02
 *                                 (0x2C|0x80, then 0x02)
 *
 * ZIGZAG maps signed to unsigned so small magnitudes stay short:
 *   0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, ... (n << 1) ^ (n >> 63).
 */
#ifndef PYTM_SHM_LE_H
#define PYTM_SHM_LE_H

#include <stddef.h>
#include <stdint.h>

static inline void
pytm_le_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void
pytm_le_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void
pytm_le_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t
pytm_le_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
pytm_le_get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t
pytm_le_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t
pytm_le_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t
pytm_le_unzigzag(uint64_t v)
{
    return (int64_t)((v >> 1) ^ (~(v & 1) + 1));
}

/* Writes v as a varint at p (room for PYTM_DUMP_VARINT_MAX bytes
 * required). Returns the number of bytes written (1..10). */
static inline size_t
pytm_le_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads a varint from [*pp, end). On success stores it in *v, advances
 * *pp and returns 0. Returns -1 (and leaves *pp) when the input ends
 * inside the varint or the value does not fit in 64 bits. Never reads
 * at or past end. */
static inline int
pytm_le_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) { /* fast path: one byte */
        *v = *p;
        *pp = p + 1;
        return 0;
    }
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return -1;
        uint8_t b = *p++;
        if (shift == 63 && b > 1)
            return -1; /* more than 64 bits */
        r |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *v = r;
            *pp = p;
            return 0;
        }
    }
    return -1; /* a tenth byte with the continuation bit */
}

#endif /* PYTM_SHM_LE_H */
