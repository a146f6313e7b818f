/* dump/dump_crc: the format's CRC-32 and section names, shared by the
 * encoder and the decoder. */
#include "dump.h"

#include <stdint.h>

#include "pytm/dump_format.h"

/* CRC-32, four bits at a time (16-entry table; ~0.4 GB/s). */
static const uint32_t crc_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
    0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t
pytm_dump_crc32(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return ~crc;
}

const char *
pytm_dump_section_name(uint32_t id)
{
    switch (id) {
#define SEC_NAME(name, num, str, req) \
    case num:                         \
        return str;
        PYTM_DUMP_SECTIONS(SEC_NAME)
#undef SEC_NAME
    }
    return "unknown";
}
