/* attach/elfsym: find a dynamic symbol in a 64-bit ELF file on disk.
 *
 * The file belongs to the process we attach to, so it is untrusted:
 * every offset, size and index read from it is checked against the file
 * size before use, and a malformed file gives PYTM_ATTACH_E_ELF with the
 * field that was wrong, never a crash. Only the parts needed are read
 * (pread: the headers, .dynsym and its string table), not the whole
 * file. Symbols come from the section named by SHT_DYNSYM, which strip
 * keeps (it is what the dynamic linker uses).
 */
#ifndef PYTM_ATTACH_ELFSYM_H
#define PYTM_ATTACH_ELFSYM_H

#include <stddef.h>
#include <stdint.h>

/* Caps on what we read: far above any real libpython (about 2,000
 * symbols, 60 KiB of names), low enough to refuse a hostile size. */
#define PYTM_ELFSYM_MAX_SYMS (1u << 20)
#define PYTM_ELFSYM_MAX_STRTAB (64u << 20)

struct pytm_elfsym {
    uint16_t machine;      /* e_machine (EM_X86_64 = 62) */
    uint16_t type;         /* e_type: ET_EXEC 2, ET_DYN 3 */
    uint64_t load0_vaddr;  /* page-aligned p_vaddr of the PT_LOAD that maps
                              file offset 0: the load bias of a mapping at
                              address A with offset 0 is A - load0_vaddr */
    unsigned char *syms;   /* .dynsym, n_syms entries of 24 bytes (owned) */
    uint64_t n_syms;
    char *strtab;          /* its string table, strtab_size bytes (owned) */
    uint64_t strtab_size;
};

/* Reads the ELF header, the program headers and .dynsym of path into e.
 * Returns 0, PYTM_ATTACH_E_IO (cannot open/read; msg has errno's text),
 * PYTM_ATTACH_E_ELF (not a 64-bit little-endian ELF, or a field out of
 * bounds; msg names it) or PYTM_ATTACH_E_NOMEM. On failure e owns
 * nothing (pytm_elfsym_close is still allowed). */
int pytm_elfsym_open(const char *path, struct pytm_elfsym *e, char *msg,
                     size_t msg_len);

/* Looks name up among the defined (st_shndx != SHN_UNDEF) symbols of e.
 * Returns 0 with *value = st_value (a link-time address: add the load
 * bias) and *size = st_size, or PYTM_ATTACH_E_NOSYM. */
int pytm_elfsym_lookup(const struct pytm_elfsym *e, const char *name,
                       uint64_t *value, uint64_t *size);

/* Frees what open read; e is zeroed. */
void pytm_elfsym_close(struct pytm_elfsym *e);

#endif /* PYTM_ATTACH_ELFSYM_H */
