/* attach/inject: borrow one thread for one call (see inject.h). */
#define _GNU_SOURCE
#include "inject.h"

#include <stdio.h>
#include <string.h>

#include "attach_error.h"

#if defined(__x86_64__) && defined(__linux__)

#include <elf.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define EFLAGS_TF 0x100
#define EFLAGS_DF 0x400
#define MAX_NOTED 16
#define XSTATE_MAX (64u << 10)

/* The one borrowed thread and what we must give back. Owned by the
 * calling thread (ptrace requests must come from the thread that
 * seized). */
struct held {
    pid_t tid;
    struct user_regs_struct saved;
    unsigned char *xstate;          /* NT_X86_XSTATE image, or NULL */
    size_t xstate_len;
    struct user_fpregs_struct fp;   /* fallback when XSTATE is refused */
    int have_fp;
    int saved_ok;                   /* saved holds the thread's registers */
    int noted[MAX_NOTED];           /* signals that arrived while held */
    int n_noted;
    char *msg;
    size_t msg_len;
};

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
say(struct held *h, int err, const char *what)
{
    snprintf(h->msg, h->msg_len, "%s (thread %d): %s", what, (int)h->tid,
             errno ? strerror(errno) : pytm_attach_strerror(err));
    return err;
}

static void
note(struct held *h, int sig)
{
    if (h->n_noted < MAX_NOTED)
        h->noted[h->n_noted++] = sig;
}

/* Waits for the next stop of h->tid. 0 with *status; PYTM_ATTACH_E_NOPROC
 * when it exited; PYTM_ATTACH_E_TIMEOUT. Polls: spinning (yielding) for
 * the first ~2000 rounds keeps the short waits short. */
static int
wait_stop(struct held *h, int timeout_ms, int *status)
{
    uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (unsigned spins = 0;; spins++) {
        pid_t r = waitpid(h->tid, status, __WALL | WNOHANG);
        if (r == h->tid)
            return WIFSTOPPED(*status) ? 0 : PYTM_ATTACH_E_NOPROC;
        if (r < 0 && errno != EINTR)
            return PYTM_ATTACH_E_NOPROC;
        if (now_ns() > end)
            return PYTM_ATTACH_E_TIMEOUT;
        if (spins < 2000) {
            sched_yield();
        } else {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
}

/* Resumes the thread with req (PTRACE_CONT or PTRACE_SINGLESTEP) until it
 * stops with signal want. A leftover PTRACE_INTERRUPT stop is resumed; a
 * job-control stop gives PYTM_ATTACH_E_STOPPED; any other signal is
 * noted for later and suppressed now. */
static int
run_until(struct held *h, int req, int want, int timeout_ms)
{
    errno = 0;
    if (ptrace(req, h->tid, 0, 0) != 0)
        return say(h, PYTM_ATTACH_E_PTRACE, "ptrace resume");
    for (;;) {
        int st, err = wait_stop(h, timeout_ms, &st);
        if (err) {
            errno = 0;
            return say(h, err, "waiting for the borrowed thread");
        }
        int sig = WSTOPSIG(st), event = (unsigned)st >> 16;
        if (event == 0 && sig == want)
            return 0;
        if (event == PTRACE_EVENT_STOP && sig != SIGTRAP) {
            errno = 0;
            return say(h, PYTM_ATTACH_E_STOPPED, "job-control stop while held");
        }
        if (event == 0)
            note(h, sig);
        if (ptrace(req, h->tid, 0, 0) != 0)
            return say(h, PYTM_ATTACH_E_PTRACE, "ptrace resume");
    }
}

static int
set_regs(struct held *h, struct user_regs_struct *regs)
{
    errno = 0;
    return ptrace(PTRACE_SETREGS, h->tid, 0, regs) == 0
               ? 0 : say(h, PYTM_ATTACH_E_PTRACE, "PTRACE_SETREGS");
}

static void
save_fpu(struct held *h)
{
    h->xstate = malloc(XSTATE_MAX);
    if (h->xstate) {
        struct iovec iov = {h->xstate, XSTATE_MAX};
        if (ptrace(PTRACE_GETREGSET, h->tid, (void *)NT_X86_XSTATE, &iov) == 0) {
            h->xstate_len = iov.iov_len;
            return;
        }
        free(h->xstate);
        h->xstate = NULL;
    }
    h->have_fp = ptrace(PTRACE_GETFPREGS, h->tid, 0, &h->fp) == 0;
}

/* Gives the thread back its registers (the thread must be stopped). */
static int
restore(struct held *h)
{
    int err = set_regs(h, &h->saved);
    if (h->xstate) {
        struct iovec iov = {h->xstate, h->xstate_len};
        if (ptrace(PTRACE_SETREGSET, h->tid, (void *)NT_X86_XSTATE, &iov) != 0 && !err)
            err = say(h, PYTM_ATTACH_E_PTRACE, "PTRACE_SETREGSET NT_X86_XSTATE");
    } else if (h->have_fp) {
        if (ptrace(PTRACE_SETFPREGS, h->tid, 0, &h->fp) != 0 && !err)
            err = say(h, PYTM_ATTACH_E_PTRACE, "PTRACE_SETFPREGS");
    }
    return err;
}

/* After a failed step the thread may be running our code: stop it
 * again so that it can be given its registers back. */
static void
stop_again(struct held *h)
{
    if (ptrace(PTRACE_INTERRUPT, h->tid, 0, 0) != 0)
        return;
    int st;
    for (int i = 0; i < 8; i++) {
        if (wait_stop(h, 1000, &st) != 0)
            return;
        int event = (unsigned)st >> 16;
        if (event == PTRACE_EVENT_STOP || event == 0) {
            if (event == 0)
                note(h, WSTOPSIG(st));
            return;
        }
    }
}

static int
write_mem(struct held *h, uint64_t addr, const void *buf, size_t len)
{
    struct iovec local = {(void *)buf, len}, remote = {(void *)(uintptr_t)addr, len};
    if (process_vm_writev(h->tid, &local, 1, &remote, 1, 0) == (ssize_t)len)
        return 0;
    /* fallback: word by word through ptrace (len is padded by the caller) */
    for (size_t off = 0; off < len; off += sizeof(long)) {
        long word = 0;
        memcpy(&word, (const char *)buf + off, len - off < sizeof word ? len - off : sizeof word);
        if (ptrace(PTRACE_POKEDATA, h->tid, (void *)(uintptr_t)(addr + off), (void *)word) != 0)
            return say(h, PYTM_ATTACH_E_PTRACE, "writing the payload");
    }
    return 0;
}

/* Steps 2-4 of inject.h, the thread stopped and seized. */
static int
borrow(struct held *h, const struct pytm_inject_req *q, struct pytm_inject_result *r)
{
    errno = 0;
    if (ptrace(PTRACE_GETREGS, h->tid, 0, &h->saved) != 0)
        return say(h, PYTM_ATTACH_E_PTRACE, "PTRACE_GETREGS");
    h->saved_ok = 1;
    save_fpu(h);
    r->was_in_syscall = (long long)h->saved.orig_rax >= 0;

    /* step 3: mmap one page with the thread's own syscall instruction */
    struct user_regs_struct regs = h->saved;
    regs.rip = q->syscall_insn;
    regs.rax = SYS_mmap;
    regs.orig_rax = (unsigned long long)-1; /* no restart of the interrupted call */
    regs.rdi = 0;
    regs.rsi = PAGE;
    regs.rdx = PROT_READ | PROT_WRITE;
    regs.r10 = MAP_PRIVATE | MAP_ANONYMOUS;
    regs.r8 = (unsigned long long)-1;
    regs.r9 = 0;
    int err = set_regs(h, &regs);
    if (!err)
        err = run_until(h, PTRACE_SINGLESTEP, SIGTRAP, q->timeout_ms);
    if (err)
        return err;
    errno = 0;
    if (ptrace(PTRACE_GETREGS, h->tid, 0, &regs) != 0)
        return say(h, PYTM_ATTACH_E_PTRACE, "PTRACE_GETREGS");
    if (regs.rip != q->syscall_insn + 2) {
        snprintf(h->msg, h->msg_len, "single-step of the syscall at 0x%llx ended at 0x%llx",
                 (unsigned long long)q->syscall_insn, (unsigned long long)regs.rip);
        return PYTM_ATTACH_E_PTRACE;
    }
    if (regs.rax >= (unsigned long long)-4095) {
        errno = (int)-(long long)regs.rax;
        return say(h, PYTM_ATTACH_E_NOMEM, "mmap in the target");
    }
    r->page = regs.rax;
    unsigned char page[PAGE];
    memset(page, 0, sizeof page);
    memcpy(page, q->payload, q->payload_len);
    size_t len = (q->payload_len + 1 + 7) & ~(size_t)7; /* NUL-terminated, whole words */
    err = write_mem(h, r->page, page, len);
    if (err)
        return err;

    /* step 4: func(arg0, page) with return address 0 */
    regs = h->saved;
    unsigned long long sp = ((h->saved.rsp - 512) & ~15ull) - 8;
    errno = 0;
    if (ptrace(PTRACE_POKEDATA, h->tid, (void *)(uintptr_t)sp, (void *)0) != 0)
        return say(h, PYTM_ATTACH_E_PTRACE, "writing the return address");
    regs.rsp = sp;
    regs.rip = q->func;
    regs.rdi = q->arg0;
    regs.rsi = r->page;
    regs.rax = 0;
    regs.orig_rax = (unsigned long long)-1;
    regs.eflags &= ~(unsigned long long)(EFLAGS_DF | EFLAGS_TF);
    err = set_regs(h, &regs);
    if (!err)
        err = run_until(h, PTRACE_CONT, SIGSEGV, q->timeout_ms);
    if (err)
        return err;
    errno = 0;
    if (ptrace(PTRACE_GETREGS, h->tid, 0, &regs) != 0)
        return say(h, PYTM_ATTACH_E_PTRACE, "PTRACE_GETREGS");
    if (regs.rip != 0) {
        snprintf(h->msg, h->msg_len, "the injected call faulted at 0x%llx",
                 (unsigned long long)regs.rip);
        return PYTM_ATTACH_E_PTRACE;
    }
    r->ret = (int64_t)regs.rax;
    return 0;
}

int
pytm_inject_call(const struct pytm_inject_req *q, struct pytm_inject_result *r,
                 char *msg, size_t msg_len)
{
    memset(r, 0, sizeof *r);
    struct held h = {.tid = q->pid, .msg = msg, .msg_len = msg_len};
    msg[0] = '\0';
    if (q->payload_len >= PAGE) {
        snprintf(msg, msg_len, "payload of %zu bytes does not fit a page", q->payload_len);
        return PYTM_ATTACH_E_NOMEM;
    }
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &block, &old);

    int err = 0;
    errno = 0;
    if (ptrace(PTRACE_SEIZE, h.tid, 0, 0) != 0) {
        err = errno == ESRCH ? PYTM_ATTACH_E_NOPROC
            : errno == EPERM || errno == EACCES ? PYTM_ATTACH_E_PERM : PYTM_ATTACH_E_PTRACE;
        say(&h, err, "ptrace(PTRACE_SEIZE)");
        goto out_mask;
    }
    uint64_t t0 = now_ns();
    if (ptrace(PTRACE_INTERRUPT, h.tid, 0, 0) != 0) {
        err = say(&h, PYTM_ATTACH_E_PTRACE, "ptrace(PTRACE_INTERRUPT)");
        goto out_detach;
    }
    /* step 1: the first stop: our interrupt, or a signal that was on its
     * way (noted, delivered again later), or a job-control stop */
    for (;;) {
        int st;
        err = wait_stop(&h, q->timeout_ms, &st);
        if (err) {
            errno = 0;
            say(&h, err, "waiting for the thread to stop");
            goto out_detach;
        }
        int sig = WSTOPSIG(st), event = (unsigned)st >> 16;
        if (event == PTRACE_EVENT_STOP && sig != SIGTRAP) {
            errno = 0;
            err = say(&h, PYTM_ATTACH_E_STOPPED, "the process is stopped (job control)");
            goto out_detach;
        }
        if (event == 0)
            note(&h, sig);
        break;
    }
    err = borrow(&h, q, r);
    if (err) {
        char first[256];
        snprintf(first, sizeof first, "%s", msg);
        if (err == PYTM_ATTACH_E_TIMEOUT || err == PYTM_ATTACH_E_PTRACE)
            stop_again(&h);
        if (h.saved_ok)
            restore(&h);
        snprintf(msg, msg_len, "%s", first);
    } else {
        err = restore(&h);
    }
out_detach:
    ptrace(PTRACE_DETACH, h.tid, 0, 0);
    r->held_ns = now_ns() - t0;
    for (int i = 0; i < h.n_noted; i++)
        syscall(SYS_tgkill, q->pid, q->pid, h.noted[i]);
    r->resent_signals = h.n_noted;
    free(h.xstate);
out_mask:
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

#else /* not x86_64 Linux */

int
pytm_inject_call(const struct pytm_inject_req *q, struct pytm_inject_result *r,
                 char *msg, size_t msg_len)
{
    (void)q;
    memset(r, 0, sizeof *r);
    snprintf(msg, msg_len, "attach is implemented for x86_64 Linux only");
    return PYTM_ATTACH_E_ARCH;
}

#endif
