/* Unit tests of attach/: elfsym (a real libc and hostile copies of it),
 * procmaps, target (probe of a non-Python process), and inject (a real
 * injection into a forked child, whose blocking read must survive it). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "attach_error.h"
#include "elfsym.h"
#include "inject.h"
#include "procmaps.h"
#include "target.h"

struct fixture {
    struct pytm_procmaps maps;   /* our own */
    const struct pytm_procmaps_entry *libc; /* its mapping at offset 0 */
    char tmp[64];                /* a scratch file */
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char msg[256];
    if (!f || pytm_procmaps_read(0, &f->maps, msg, sizeof msg) != 0)
        return -1;
    for (size_t i = 0; i < f->maps.n && !f->libc; i++) {
        const char *b = strrchr(f->maps.v[i].path, '/');
        if (b && strncmp(b, "/libc.so", 8) == 0 && f->maps.v[i].offset == 0)
            f->libc = &f->maps.v[i];
    }
    snprintf(f->tmp, sizeof f->tmp, "/tmp/pytm-test-attach-%d", (int)getpid());
    *state = f;
    return f->libc ? 0 : -1;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->tmp);
    pytm_procmaps_free(&f->maps);
    free(f);
    return 0;
}

/* GIVEN our own libc WHEN looking symbols up in its file THEN load bias +
 * st_value is where the dynamic linker put them. */
static void
test_lookup_matches_dlsym(void **state)
{
    struct fixture *f = *state;
    struct pytm_elfsym e;
    char msg[256];
    assert_int_equal(pytm_elfsym_open(f->libc->path, &e, msg, sizeof msg), 0);
    assert_int_equal(e.machine, EM_X86_64);
    uint64_t bias = f->libc->start - e.load0_vaddr;
    /* from libc's own handle: a sanitizer's interceptors do not count */
    void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(h);
    static const char *names[] = {"getpid", "malloc", "write", "nanosleep"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        uint64_t v, sz;
        assert_int_equal(pytm_elfsym_lookup(&e, names[i], &v, &sz), 0);
        assert_true(sz > 0);
        assert_ptr_equal((void *)(uintptr_t)(bias + v), dlsym(h, names[i]));
    }
    uint64_t v, sz;
    assert_int_equal(pytm_elfsym_lookup(&e, "no_such_symbol_here", &v, &sz),
                     PYTM_ATTACH_E_NOSYM);
    assert_int_equal(pytm_elfsym_lookup(&e, "getpi", &v, &sz), PYTM_ATTACH_E_NOSYM);
    pytm_elfsym_close(&e);
    dlclose(h);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, fp), *len);
    fclose(fp);
    return b;
}

static void
spit(const char *path, const void *b, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, len, fp), len);
    fclose(fp);
}

static int
open_copy(struct fixture *f, const void *b, size_t len, char *msg, size_t n)
{
    spit(f->tmp, b, len);
    struct pytm_elfsym e;
    int err = pytm_elfsym_open(f->tmp, &e, msg, n);
    if (err == 0) {
        uint64_t v, sz;
        pytm_elfsym_lookup(&e, "malloc", &v, &sz); /* must not crash */
    }
    pytm_elfsym_close(&e);
    return err;
}

/* GIVEN copies of libc with one header field broken WHEN opened THEN each
 * is refused with PYTM_ATTACH_E_ELF (or found harmless), never a crash;
 * then truncations and random byte flips of the headers. */
static void
test_hostile_elf(void **state)
{
    struct fixture *f = *state;
    size_t len;
    unsigned char *orig = slurp(f->libc->path, &len);
    unsigned char *b = malloc(len);
    assert_non_null(b);
    char msg[256];
    Elf64_Ehdr eh;
    memcpy(&eh, orig, sizeof eh);

    memcpy(b, orig, len);
    b[0] = 0;
    assert_int_equal(open_copy(f, b, len, msg, sizeof msg), PYTM_ATTACH_E_ELF);
    assert_non_null(strstr(msg, "not an ELF"));

    memcpy(b, orig, len);
    b[EI_CLASS] = ELFCLASS32;
    assert_int_equal(open_copy(f, b, len, msg, sizeof msg), PYTM_ATTACH_E_ARCH);

    memcpy(b, orig, len);
    Elf64_Ehdr bad = eh;
    bad.e_shoff = UINT64_MAX - 10;
    memcpy(b, &bad, sizeof bad);
    assert_int_equal(open_copy(f, b, len, msg, sizeof msg), PYTM_ATTACH_E_ELF);
    assert_non_null(strstr(msg, "section header"));

    bad = eh;
    bad.e_phnum = 0xffff;
    memcpy(b, orig, len);
    memcpy(b, &bad, sizeof bad);
    assert_int_equal(open_copy(f, b, len, msg, sizeof msg), PYTM_ATTACH_E_ELF);

    /* .dynsym's size and link pointing out of the file */
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        memcpy(&sh, orig + eh.e_shoff + i * sizeof sh, sizeof sh);
        if (sh.sh_type != SHT_DYNSYM)
            continue;
        Elf64_Shdr s2 = sh;
        s2.sh_size = (uint64_t)1 << 62;
        memcpy(b, orig, len);
        memcpy(b + eh.e_shoff + i * sizeof sh, &s2, sizeof s2);
        assert_int_equal(open_copy(f, b, len, msg, sizeof msg), PYTM_ATTACH_E_ELF);
        s2 = sh;
        s2.sh_link = 0xffff;
        memcpy(b, orig, len);
        memcpy(b + eh.e_shoff + i * sizeof sh, &s2, sizeof s2);
        assert_int_equal(open_copy(f, b, len, msg, sizeof msg), PYTM_ATTACH_E_ELF);
    }

    /* truncations: the section headers are at the end of the file */
    static const size_t cuts[] = {0, 10, 63, 64, 1000};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++)
        assert_int_not_equal(open_copy(f, orig, cuts[i], msg, sizeof msg), 0);
    assert_int_not_equal(open_copy(f, orig, len - 1, msg, sizeof msg), 0);

    /* random flips in the ELF header and the section header table */
    srand(12345);
    for (int round = 0; round < 60; round++) {
        memcpy(b, orig, len);
        for (int k = 0; k < 4; k++) {
            size_t where = rand() % 2 ? (size_t)rand() % sizeof eh
                                      : eh.e_shoff + (size_t)rand() % (eh.e_shnum * sizeof(Elf64_Shdr));
            b[where] = (unsigned char)rand();
        }
        open_copy(f, b, len, msg, sizeof msg); /* any result but a crash */
    }
    free(b);
    free(orig);
}

static void
test_maps_lines(void **state)
{
    (void)state;
    struct pytm_procmaps_entry e;
    assert_int_equal(pytm_procmaps_parse_line(
        "7f00a000-7f00b000 r-xp 00001000 fd:01 1234  /usr/lib/a b (deleted)\n", &e), 0);
    assert_int_equal(e.start, 0x7f00a000);
    assert_int_equal(e.end, 0x7f00b000);
    assert_int_equal(e.offset, 0x1000);
    assert_string_equal(e.perms, "r-xp");
    assert_string_equal(e.path, "/usr/lib/a b (deleted)");
    assert_int_equal(pytm_procmaps_parse_line("1000-2000 rw-p 00000000 00:00 0\n", &e), 0);
    assert_string_equal(e.path, "");
    assert_int_equal(pytm_procmaps_parse_line("2000-1000 rw-p 0 00:00 0\n", &e), -1);
    assert_int_equal(pytm_procmaps_parse_line("garbage\n", &e), -1);
    assert_int_equal(pytm_procmaps_parse_line("", &e), -1);
    assert_true(pytm_target_is_libpython("/usr/lib/libpython3.11.so.1.0"));
    assert_false(pytm_target_is_libpython("/usr/bin/python3.11"));
    assert_false(pytm_target_is_libpython("/x/libpython3.11.a"));
}

/* GIVEN this test (not a Python) WHEN probed THEN NOTPY; a PID that does
 * not exist: NOPROC. */
static void
test_probe_refuses(void **state)
{
    (void)state;
    struct pytm_target *t = malloc(sizeof *t);
    char msg[512];
    assert_int_equal(pytm_target_probe(getpid(), t, msg, sizeof msg), PYTM_ATTACH_E_NOTPY);
    assert_non_null(strstr(msg, "Py_AddPendingCall"));
    assert_int_equal(pytm_target_probe(0x3fffffff, t, msg, sizeof msg), PYTM_ATTACH_E_NOPROC);
    free(t);
}

/* The injected function, at the same address in the forked child. */
static int report_fd = -1;

static int
injected(void *arg0, void *page)
{
    char line[128];
    int n = snprintf(line, sizeof line, "%lu %s", (unsigned long)(uintptr_t)arg0,
                     (const char *)page);
    return write(report_fd, line, (size_t)n) == n ? 7 : -1;
}

static int
under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload");
}

/* GIVEN a child blocked in read() WHEN its main thread is borrowed to call
 * injected(42, "hello") THEN the call runs, returns 7 to us, and the
 * child's read restarts and gets its byte as if nothing happened (exit
 * 0). Twice, so that a second injection finds a sane thread. */
static void
test_inject_child(void **state)
{
    (void)state;
    if (under_valgrind())
        skip(); /* the child's code runs on valgrind's JIT, not at its addresses */
    int rep[2], go[2];
    assert_int_equal(pipe(rep), 0);
    assert_int_equal(pipe(go), 0);
    report_fd = rep[1];
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char c;
        ssize_t n = read(go[0], &c, 1);
        _exit(n == 1 && c == 'x' ? 0 : 3);
    }
    usleep(100000); /* let it block in read() */
    struct pytm_target *t = malloc(sizeof *t);
    char msg[512];
    /* the probe finds libc's syscall instruction even in a non-Python */
    assert_int_equal(pytm_target_probe(child, t, msg, sizeof msg), PYTM_ATTACH_E_NOTPY);
    struct pytm_procmaps m;
    assert_int_equal(pytm_procmaps_read(child, &m, msg, sizeof msg), 0);
    uint64_t sc = 0;
    unsigned char buf[4096];
    for (size_t i = 0; i < m.n && !sc; i++) {
        if (m.v[i].perms[2] != 'x' || !strstr(m.v[i].path, "libc"))
            continue;
        for (uint64_t a = m.v[i].start; a + sizeof buf <= m.v[i].end && !sc; a += sizeof buf - 1) {
            assert_int_equal(pytm_target_read(child, a, buf, sizeof buf), 0);
            unsigned char *hit = memmem(buf, sizeof buf, "\x0f\x05", 2);
            if (hit)
                sc = a + (uint64_t)(hit - buf);
        }
    }
    pytm_procmaps_free(&m);
    assert_true(sc != 0);
    for (int round = 0; round < 2; round++) {
        struct pytm_inject_req q = {.pid = child, .syscall_insn = sc,
                                    .func = (uint64_t)(uintptr_t)injected,
                                    .arg0 = 42, .payload = "hello", .payload_len = 5,
                                    .timeout_ms = 5000};
        struct pytm_inject_result r;
        int err = pytm_inject_call(&q, &r, msg, sizeof msg);
        if (err)
            print_error("inject: %s\n", msg);
        assert_int_equal(err, 0);
        assert_int_equal(r.ret, 7);
        assert_true(r.was_in_syscall);
        assert_true(r.page != 0);
        char got[64] = "";
        assert_int_equal(read(rep[0], got, sizeof got - 1), 8);
        assert_string_equal(got, "42 hello");
    }
    assert_int_equal(write(go[1], "x", 1), 1);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    free(t);
    close(rep[0]);
    close(rep[1]);
    close(go[0]);
    close(go[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lookup_matches_dlsym, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_elf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maps_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inject_child, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
