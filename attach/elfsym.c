/* attach/elfsym: bounds-checked .dynsym lookup (see elfsym.h). */
#include "elfsym.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach_error.h"

static int
say(int err, char *msg, size_t msg_len, const char *fmt, ...)
{
    if (msg && msg_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msg_len, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* 0 when [off, off + len) lies inside a file of size size. */
static int
in_file(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off ? 0 : -1;
}

static int
read_at(int fd, void *buf, uint64_t len, uint64_t off)
{
    unsigned char *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (uint64_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int
read_headers(int fd, uint64_t size, const char *path, struct pytm_elfsym *e,
             Elf64_Shdr *dynsym, Elf64_Shdr *dynstr, char *msg, size_t msg_len)
{
    Elf64_Ehdr eh;
    if (size < sizeof eh || read_at(fd, &eh, sizeof eh, 0))
        return say(PYTM_ATTACH_E_ELF, msg, msg_len, "%s: too short for an ELF header", path);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return say(PYTM_ATTACH_E_ELF, msg, msg_len, "%s: not an ELF file", path);
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return say(PYTM_ATTACH_E_ARCH, msg, msg_len,
                   "%s: not a 64-bit little-endian ELF file", path);
    e->machine = eh.e_machine;
    e->type = eh.e_type;

    /* program headers: the PT_LOAD that maps file offset 0 */
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0
        || in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), size))
        return say(PYTM_ATTACH_E_ELF, msg, msg_len, "%s: bad program header table", path);
    int found = 0;
    for (unsigned i = 0; i < eh.e_phnum && !found; i++) {
        Elf64_Phdr ph;
        if (read_at(fd, &ph, sizeof ph, eh.e_phoff + (uint64_t)i * sizeof ph))
            return say(PYTM_ATTACH_E_IO, msg, msg_len, "%s: read failed", path);
        if (ph.p_type == PT_LOAD && (ph.p_offset & ~(uint64_t)0xfff) == 0) {
            e->load0_vaddr = ph.p_vaddr & ~(uint64_t)0xfff;
            found = 1;
        }
    }
    if (!found)
        return say(PYTM_ATTACH_E_ELF, msg, msg_len,
                   "%s: no PT_LOAD segment maps file offset 0", path);

    /* section headers: SHT_DYNSYM and the string table it links to */
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0
        || in_file(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), size))
        return say(PYTM_ATTACH_E_ELF, msg, msg_len, "%s: bad section header table", path);
    found = 0;
    for (unsigned i = 0; i < eh.e_shnum && !found; i++) {
        if (read_at(fd, dynsym, sizeof *dynsym, eh.e_shoff + (uint64_t)i * sizeof *dynsym))
            return say(PYTM_ATTACH_E_IO, msg, msg_len, "%s: read failed", path);
        found = dynsym->sh_type == SHT_DYNSYM;
    }
    if (!found)
        return say(PYTM_ATTACH_E_NOSYM, msg, msg_len, "%s: no .dynsym section", path);
    if (dynsym->sh_link == 0 || dynsym->sh_link >= eh.e_shnum
        || read_at(fd, dynstr, sizeof *dynstr,
                   eh.e_shoff + (uint64_t)dynsym->sh_link * sizeof *dynstr))
        return say(PYTM_ATTACH_E_ELF, msg, msg_len, "%s: bad .dynsym sh_link", path);
    if (dynsym->sh_entsize != sizeof(Elf64_Sym) || dynsym->sh_size % sizeof(Elf64_Sym)
        || dynsym->sh_size / sizeof(Elf64_Sym) > PYTM_ELFSYM_MAX_SYMS
        || in_file(dynsym->sh_offset, dynsym->sh_size, size))
        return say(PYTM_ATTACH_E_ELF, msg, msg_len, "%s: bad .dynsym size or offset", path);
    if (dynstr->sh_type != SHT_STRTAB || dynstr->sh_size == 0
        || dynstr->sh_size > PYTM_ELFSYM_MAX_STRTAB
        || in_file(dynstr->sh_offset, dynstr->sh_size, size))
        return say(PYTM_ATTACH_E_ELF, msg, msg_len, "%s: bad .dynstr size or offset", path);
    return 0;
}

int
pytm_elfsym_open(const char *path, struct pytm_elfsym *e, char *msg, size_t msg_len)
{
    memset(e, 0, sizeof *e);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return say(PYTM_ATTACH_E_IO, msg, msg_len,
                   "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    Elf64_Shdr dynsym, dynstr;
    int err;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = say(PYTM_ATTACH_E_IO, msg, msg_len, "%s: not a regular file", path);
        goto out;
    }
    err = read_headers(fd, (uint64_t)st.st_size, path, e, &dynsym, &dynstr, msg, msg_len);
    if (err)
        goto out;
    e->syms = malloc(dynsym.sh_size ? dynsym.sh_size : 1);
    e->strtab = malloc(dynstr.sh_size);
    if (!e->syms || !e->strtab) {
        err = say(PYTM_ATTACH_E_NOMEM, msg, msg_len, "%s: out of memory", path);
        goto out;
    }
    if (read_at(fd, e->syms, dynsym.sh_size, dynsym.sh_offset)
        || read_at(fd, e->strtab, dynstr.sh_size, dynstr.sh_offset)) {
        err = say(PYTM_ATTACH_E_IO, msg, msg_len, "%s: read failed", path);
        goto out;
    }
    e->n_syms = dynsym.sh_size / sizeof(Elf64_Sym);
    e->strtab_size = dynstr.sh_size;
out:
    close(fd);
    if (err)
        pytm_elfsym_close(e);
    return err;
}

int
pytm_elfsym_lookup(const struct pytm_elfsym *e, const char *name, uint64_t *value,
                   uint64_t *size)
{
    size_t len = strlen(name);
    for (uint64_t i = 0; i < e->n_syms; i++) {
        Elf64_Sym s;
        memcpy(&s, e->syms + i * sizeof s, sizeof s);
        if (s.st_shndx == SHN_UNDEF || s.st_name >= e->strtab_size)
            continue;
        /* the name must end inside the table: strtab is not trusted to
         * end with a NUL */
        if (e->strtab_size - s.st_name < len + 1)
            continue;
        const char *n = e->strtab + s.st_name;
        if (memcmp(n, name, len) == 0 && n[len] == '\0') {
            *value = s.st_value;
            *size = s.st_size;
            return 0;
        }
    }
    return PYTM_ATTACH_E_NOSYM;
}

void
pytm_elfsym_close(struct pytm_elfsym *e)
{
    free(e->syms);
    free(e->strtab);
    memset(e, 0, sizeof *e);
}
