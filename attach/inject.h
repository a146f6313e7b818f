/* attach/inject: make one thread of another process call one function,
 * with ptrace, and leave it exactly as it was (x86_64 Linux only).
 *
 * What happens to the target's thread tid (the main thread, tid == pid):
 *   1. PTRACE_SEIZE + PTRACE_INTERRUPT: it stops wherever it is, in user
 *      code or in a system call (then the call was interrupted with an
 *      -ERESTART* code the kernel turns back into a restart when the
 *      thread resumes with its own registers).
 *   2. its general registers and its whole FPU/SSE/AVX state are saved
 *      (PTRACE_GETREGS, PTRACE_GETREGSET NT_X86_XSTATE).
 *   3. it executes one `syscall` instruction already present in its code
 *      (single-step) with the registers of mmap(NULL, 4096, RW,
 *      PRIVATE|ANONYMOUS): a fresh page, into which we copy the payload.
 *      orig_rax is set to -1 for this and the next step, so the kernel
 *      never applies the interrupted call's restart to our registers.
 *   4. it calls func(arg0, page) on its own stack, 512 bytes below its
 *      stack pointer (clear of the red zone), with return address 0: the
 *      return faults, and that SIGSEGV stops it for us (a traced thread's
 *      signal is reported to the tracer before any handler or core dump).
 *   5. its saved registers and FPU state are written back and we detach
 *      with signal 0: the thread goes on as if never stopped, and an
 *      interrupted system call restarts.
 * Other threads keep running throughout. A signal that arrives for the
 * thread while we hold it is noted and delivered again after we detach.
 * Our own SIGINT/SIGTERM/SIGHUP/SIGQUIT are blocked meanwhile, so that
 * Ctrl-C cannot make us exit (which would resume the thread with our
 * registers). The page stays mapped (the payload must outlive us).
 */
#ifndef PYTM_ATTACH_INJECT_H
#define PYTM_ATTACH_INJECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pytm_inject_req {
    pid_t pid;              /* the process; its main thread (tid == pid) is
                               the one borrowed */
    uint64_t syscall_insn;  /* address of a 0f 05 in the target */
    uint64_t func;          /* called as func(arg0, page) */
    uint64_t arg0;
    const void *payload;    /* copied into the page; at most 4096 bytes */
    size_t payload_len;
    int timeout_ms;         /* per step: the stop, the syscall, the call */
};

struct pytm_inject_result {
    uint64_t page;          /* where the payload is in the target */
    int64_t ret;            /* func's return value (rax) */
    uint64_t held_ns;       /* from PTRACE_INTERRUPT to PTRACE_DETACH */
    int was_in_syscall;     /* the thread was stopped inside a system call */
    int resent_signals;     /* signals noted while held and sent again */
};

/* Runs steps 1-5 above. Returns 0 (r filled); PYTM_ATTACH_E_NOPROC;
 * PYTM_ATTACH_E_PERM (ptrace refused: another user, Yama, no
 * CAP_SYS_PTRACE; msg says which errno); PYTM_ATTACH_E_STOPPED (the
 * process is in a job-control stop); PYTM_ATTACH_E_TIMEOUT (a step took
 * longer than timeout_ms: the thread is given its own registers back
 * before we detach); PYTM_ATTACH_E_PTRACE (another ptrace failure);
 * PYTM_ATTACH_E_ARCH (not built for x86_64). After any failure past
 * step 1 the thread's registers have been restored. */
int pytm_inject_call(const struct pytm_inject_req *q, struct pytm_inject_result *r,
                     char *msg, size_t msg_len);

#endif /* PYTM_ATTACH_INJECT_H */
