/*
 * Signals as Linux delivers them to a single-threaded program: handlers for
 * raise, kill, tgkill, sigqueue, alarm, setitimer and timer_create; siginfo
 * fields; nested handlers and sa_mask; the blocked mask, sigpending and
 * sigsuspend; SA_RESETHAND and SA_NODEFER; the alternate stack; the FPU state
 * a handler gets and the one it leaves; a sleep cut short; SIG_IGN and
 * default-ignored signals. Prints one line per check; exit 0 iff all passed.
 *
 * Other modes (argv[1]):
 *   die      raise(SIGTERM) with its default action: killed, status 143
 *   restart  a blocking read of stdin (an open pipe with no data) under a
 *            periodic timer whose handler has SA_RESTART: the read is made
 *            again after each handler, and the third handler exits
 *   eintr    the same without SA_RESTART: the read fails with EINTR
 *   segv     a SIGSEGV handler siglongjmps out of a NULL dereference
 *   badframe handlers that rewrite their frame: privileged flags are dropped,
 *            a non-canonical rip ends the program with SIGSEGV (status 139)
 *   save     SAVE() with a signal pending and blocked and an alarm armed;
 *            after the restore both are still there, the alarm keeping the
 *            time it had left
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fenv.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "scratchvm.h"

static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    fflush(stdout);
    if (!ok)
        failures++;
}

static volatile sig_atomic_t hits;
static volatile int last_sig, last_code, last_pid, last_uid, last_value, last_overrun, last_errno_in;
static volatile int ctx_ok;
static char order[64];
static volatile int order_len;

static void note(char c)
{
    if (order_len < (int)sizeof(order) - 1)
        order[order_len++] = c;
}

static void on_info(int sig, siginfo_t *info, void *ucv)
{
    ucontext_t *uc = ucv;
    hits++;
    last_sig = info->si_signo;
    last_code = info->si_code;
    last_pid = info->si_pid;
    last_uid = info->si_uid;
    last_value = info->si_value.sival_int;
    last_overrun = info->si_code == SI_TIMER ? info->si_overrun : -1;
    /* the stack is 16-byte aligned at entry + 8: a local's alignment shows it */
    ctx_ok = sig == info->si_signo && uc != NULL && uc->uc_mcontext.fpregs != NULL
        && ((uintptr_t)uc->uc_mcontext.fpregs & 63) == 0;
}

static void on_plain(int sig)
{
    (void)sig;
    hits++;
}

static void install(int sig, void (*h)(int, siginfo_t *, void *), int flags, const sigset_t *mask)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | flags;
    if (mask)
        sa.sa_mask = *mask;
    else
        sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void install_plain(int sig, void (*h)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void spin_until(volatile sig_atomic_t *flag, int target)
{
    volatile double x = 1.0;
    for (long i = 0; *flag < target && i < 4000000000L; i++)
        x = x * 1.0000001 + 0.5;
}

/* nested handlers: USR1 raises USR2 from inside */
static void on_outer(int sig)
{
    (void)sig;
    note('[');
    raise(SIGUSR2);
    note(']');
}

static void on_inner(int sig)
{
    (void)sig;
    note('2');
}

static char altstack[64 * 1024];
static volatile int on_alt, alt_flags;

static void on_alt_handler(int sig)
{
    char local;
    stack_t now;
    (void)sig;
    on_alt = &local >= altstack && &local < altstack + sizeof altstack;
    sigaltstack(NULL, &now);
    alt_flags = now.ss_flags;
}

static volatile int handler_round, handler_sse_ok;

static void on_fpu(int sig)
{
    volatile double d = 1.0;
    (void)sig;
    handler_round = fegetround();
    d = d / 3.0; /* clobbers xmm registers */
    handler_sse_ok = d > 0.333 && d < 0.334;
}

static void basic(void)
{
    pid_t me = getpid();
    sigset_t set, old;

    install(SIGUSR1, on_info, 0, NULL);
    install(SIGUSR2, on_info, 0, NULL);

    hits = 0;
    raise(SIGUSR1);
    check(hits == 1 && last_sig == SIGUSR1 && last_code == SI_TKILL && last_pid == me, "raise runs the handler (SI_TKILL)");
    check(ctx_ok, "handler gets siginfo and a ucontext with an aligned FPU area");

    hits = 0;
    kill(me, SIGUSR2);
    check(hits == 1 && last_sig == SIGUSR2 && last_code == SI_USER && last_pid == me && last_uid == (int)getuid(),
          "kill to itself runs the handler before kill returns (SI_USER, pid, uid)");

    hits = 0;
    syscall(SYS_tgkill, me, (pid_t)syscall(SYS_gettid), SIGUSR1);
    check(hits == 1 && last_code == SI_TKILL, "tgkill runs the handler");
    check(syscall(SYS_tgkill, me, 0x3fffffff, SIGUSR1) == -1 && errno == ESRCH, "tgkill to another thread: ESRCH");
    check(kill(0x3fffffff, SIGUSR1) == -1 && errno == ESRCH, "kill to another process: ESRCH");
    check(kill(me, 65) == -1 && errno == EINVAL, "kill with signal 65: EINVAL");
    check(kill(me, 0) == 0, "kill with signal 0 checks only");

    hits = 0;
    union sigval v = {.sival_int = 7};
    sigqueue(me, SIGUSR1, v);
    check(hits == 1 && last_code == SI_QUEUE && last_value == 7, "sigqueue carries its value");

    /* blocked mask and sigpending */
    hits = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    raise(SIGUSR1);
    raise(SIGUSR1);
    sigset_t pend;
    sigpending(&pend);
    check(hits == 0 && sigismember(&pend, SIGUSR1), "a blocked signal stays pending");
    sigprocmask(SIG_SETMASK, &old, NULL);
    check(hits == 1, "unblocking delivers it once (standard signals do not queue)");
    sigprocmask(SIG_BLOCK, NULL, &old);
    check(!sigismember(&old, SIGUSR1), "the mask is back after the handler");

    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    sigprocmask(SIG_SETMASK, NULL, &old);
    check(!sigismember(&old, SIGKILL) && !sigismember(&old, SIGSTOP) && sigismember(&old, SIGTERM),
          "SIGKILL and SIGSTOP cannot be blocked");
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    check(syscall(SYS_rt_sigprocmask, 7, &all, NULL, 8) == -1 && errno == EINVAL, "rt_sigprocmask with a bad how: EINVAL");

    /* blocked during the handler: the signal itself, and sa_mask */
    order_len = 0;
    install_plain(SIGUSR1, on_outer, 0);
    install_plain(SIGUSR2, on_inner, 0);
    raise(SIGUSR1);
    order[order_len] = 0;
    check(strcmp(order, "[2]") == 0, "a signal raised in a handler nests");
    order_len = 0;
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_outer;
        sigemptyset(&sa.sa_mask);
        sigaddset(&sa.sa_mask, SIGUSR2);
        sigaction(SIGUSR1, &sa, NULL);
    }
    raise(SIGUSR1);
    order[order_len] = 0;
    check(strcmp(order, "[]2") == 0, "sa_mask defers it until the handler returns");

    /* SA_RESETHAND */
    hits = 0;
    install_plain(SIGUSR1, on_plain, SA_RESETHAND);
    raise(SIGUSR1);
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    check(hits == 1 && now.sa_handler == SIG_DFL, "SA_RESETHAND: default action after one delivery");

    /* SIG_IGN, default-ignored */
    signal(SIGUSR1, SIG_IGN);
    raise(SIGUSR1);
    raise(SIGCHLD);
    raise(SIGWINCH);
    check(1, "ignored and default-ignored signals do nothing");

    /* alternate stack */
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0}, oss;
    check(sigaltstack(&ss, &oss) == 0 && oss.ss_flags == SS_DISABLE, "sigaltstack installs (none before)");
    install_plain(SIGUSR2, on_alt_handler, SA_ONSTACK);
    raise(SIGUSR2);
    check(on_alt && (alt_flags & SS_ONSTACK), "SA_ONSTACK handler runs on the alternate stack");
    on_alt = 0;
    install_plain(SIGUSR2, on_alt_handler, 0);
    raise(SIGUSR2);
    check(!on_alt, "without SA_ONSTACK it runs on the normal stack");
    ss.ss_size = 100;
    check(sigaltstack(&ss, NULL) == -1 && errno == ENOMEM, "sigaltstack too small: ENOMEM");
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);

    /* FPU: the handler starts clean, and the program's state comes back */
    install_plain(SIGUSR2, on_fpu, 0);
    fesetround(FE_DOWNWARD);
    volatile double before = 2.0 / 3.0;
    raise(SIGUSR2);
    volatile double after = 2.0 / 3.0;
    check(handler_round == FE_TONEAREST && handler_sse_ok, "the handler gets a fresh FPU state");
    check(fegetround() == FE_DOWNWARD && before == after, "the program's FPU state survives the handler");
    fesetround(FE_TONEAREST);

    /* alarm */
    install(SIGALRM, on_info, 0, NULL);
    alarm(5);
    check(alarm(0) == 5, "alarm returns the seconds left of the previous one");
    hits = 0;
    alarm(1);
    pause();
    check(hits == 1 && last_sig == SIGALRM && last_code == SI_KERNEL, "alarm ends pause with its handler (SI_KERNEL)");

    /* setitimer, delivered while computing */
    hits = 0;
    struct itimerval it = {.it_value = {0, 20000}}, cur;
    setitimer(ITIMER_REAL, &it, NULL);
    spin_until(&hits, 1);
    check(hits == 1 && last_sig == SIGALRM, "setitimer interrupts a compute loop");
    getitimer(ITIMER_REAL, &cur);
    check(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0, "a one-shot itimer is disarmed after it fired");

    /* periodic itimer with sigsuspend */
    hits = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, &old);
    struct itimerval per = {.it_interval = {0, 10000}, .it_value = {0, 10000}};
    setitimer(ITIMER_REAL, &per, NULL);
    sigset_t wait_mask;
    sigemptyset(&wait_mask);
    int suspended = 0;
    while (hits < 3) {
        if (sigsuspend(&wait_mask) == -1 && errno == EINTR)
            suspended++;
    }
    struct itimerval off = {0};
    setitimer(ITIMER_REAL, &off, &cur);
    check(suspended == 3 && cur.it_interval.tv_usec == 10000, "a periodic itimer wakes sigsuspend each period");
    sigprocmask(SIG_SETMASK, NULL, &old);
    check(sigismember(&old, SIGALRM), "sigsuspend puts the mask back");
    sigpending(&pend);
    if (sigismember(&pend, SIGALRM)) {
        signal(SIGALRM, SIG_IGN);
    }
    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);
    install(SIGALRM, on_info, 0, NULL);

    /* POSIX timer */
    timer_t t;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    ev.sigev_value.sival_int = 42;
    install(SIGUSR2, on_info, 0, NULL);
    check(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create");
    struct itimerspec ts = {.it_value = {0, 15000000}}, got;
    hits = 0;
    timer_settime(t, 0, &ts, NULL);
    timer_gettime(t, &got);
    /* (on a busy host the timer may already have fired: then its handler has run) */
    check(got.it_value.tv_sec == 0 && got.it_value.tv_nsec <= 15000000 && (got.it_value.tv_nsec > 0 || hits == 1),
          "timer_gettime shows the time left");
    spin_until(&hits, 1);
    check(hits == 1 && last_sig == SIGUSR2 && last_code == SI_TIMER && last_value == 42 && last_overrun == 0,
          "timer_create's timer sends its signal with si_value (SI_TIMER)");
    timer_gettime(t, &got);
    check(got.it_value.tv_sec == 0 && got.it_value.tv_nsec == 0, "then it is disarmed");
    struct timespec abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    timer_t rt;
    check(timer_create(CLOCK_REALTIME, &ev, &rt) == 0, "timer_create on CLOCK_REALTIME");
    abs.tv_nsec += 10000000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    struct itimerspec ats = {.it_value = abs};
    hits = 0;
    timer_settime(rt, TIMER_ABSTIME, &ats, NULL);
    spin_until(&hits, 1);
    check(hits == 1 && last_code == SI_TIMER, "an absolute CLOCK_REALTIME timer fires");
    check(timer_delete(rt) == 0 && timer_delete(t) == 0, "timer_delete");
    check(timer_gettime(t, &got) == -1 && errno == EINVAL, "a deleted timer is gone: EINVAL");

    /* sigwaitinfo takes a blocked timer signal off the queue instead of running the handler */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, &old);
    check(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create again");
    struct itimerspec per_ts = {.it_interval = {0, 5000000}, .it_value = {0, 5000000}};
    hits = 0;
    timer_settime(t, 0, &per_ts, NULL);
    siginfo_t si;
    int got_sig = sigwaitinfo(&set, &si);
    check(got_sig == SIGUSR2 && si.si_code == SI_TIMER && si.si_value.sival_int == 42 && hits == 0,
          "sigwaitinfo returns the timer's signal with its siginfo");
    struct timespec spin_until_ts;
    clock_gettime(CLOCK_MONOTONIC, &spin_until_ts);
    spin_until_ts.tv_nsec += 30000000;
    if (spin_until_ts.tv_nsec >= 1000000000) {
        spin_until_ts.tv_sec++;
        spin_until_ts.tv_nsec -= 1000000000;
    }
    for (;;) {
        struct timespec n;
        clock_gettime(CLOCK_MONOTONIC, &n);
        if (n.tv_sec > spin_until_ts.tv_sec || (n.tv_sec == spin_until_ts.tv_sec && n.tv_nsec >= spin_until_ts.tv_nsec))
            break;
    }
    got_sig = sigwaitinfo(&set, &si);
    check(got_sig == SIGUSR2 && si.si_overrun >= 3 && timer_getoverrun(t) == si.si_overrun,
          "expiries while its signal was pending are counted as overruns");
    timer_delete(t);
    /* (whether a deleted timer's pending signal stays depends on the kernel version: not checked) */
    struct timespec no_wait = {0, 0};
    sigtimedwait(&set, &si, &no_wait); /* (a newer kernel may drop it only when dequeued: never wait for it) */
    struct timespec short_wait = {0, 10000000};
    check(sigtimedwait(&set, &si, &short_wait) == -1 && errno == EAGAIN, "sigtimedwait times out: EAGAIN");
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* a sleep cut short by a handler reports the time left */
    struct timespec req = {1, 0}, rem = {0, 0};
    it.it_value.tv_usec = 30000;
    setitimer(ITIMER_REAL, &it, NULL);
    int r = nanosleep(&req, &rem);
    check(r == -1 && errno == EINTR && rem.tv_sec == 0 && rem.tv_nsec > 500000000,
          "nanosleep cut short by a handler: EINTR and the time left");
}

static int pipe_hits;

static void on_alarm_exit(int sig)
{
    (void)sig;
    if (++pipe_hits == 3) {
        static const char msg[] = "third handler, read still waiting\n";
        write(1, msg, sizeof msg - 1);
        _exit(0);
    }
}

static void blocking_read(int flags)
{
    char buf[16];
    install_plain(SIGALRM, on_alarm_exit, flags);
    /* periodic for SA_RESTART (the third handler ends it), one-shot otherwise (one handler, however slow the host) */
    struct itimerval per = {.it_interval = {0, (flags & SA_RESTART) ? 20000 : 0}, .it_value = {0, 20000}};
    setitimer(ITIMER_REAL, &per, NULL);
    ssize_t n = read(0, buf, sizeof buf);
    int e = errno;
    struct itimerval off = {0};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("read returned %zd (%s) after %d handler(s)\n", n, n < 0 ? strerror(e) : "data", pipe_hits);
}

static sigjmp_buf escape;
static volatile void *fault_addr;
static volatile int fault_code;

static void on_segv(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    fault_addr = info->si_addr;
    fault_code = info->si_code;
    siglongjmp(escape, 1);
}

static volatile int fpe_code, ill_code;

static void on_fpe(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    fpe_code = info->si_code;
    siglongjmp(escape, 1);
}

/* returns past the faulting ud2 by editing the saved rip: rt_sigreturn must honour the frame */
static void on_ill(int sig, siginfo_t *info, void *ucv)
{
    ucontext_t *uc = ucv;
    (void)sig;
    ill_code = info->si_code;
    uc->uc_mcontext.gregs[REG_RIP] += 2;
}

static int recurse(int depth)
{
    volatile char pad[1024];
    pad[0] = (char)depth;
    return recurse(depth + 1) + pad[0];
}

static void segv(void)
{
    install(SIGSEGV, on_segv, 0, NULL);
    volatile int *p = (int *)16;
    if (sigsetjmp(escape, 1) == 0) {
        *p = 1;
        check(0, "the NULL store faulted");
    } else {
        check(fault_addr == (void *)16 && fault_code == SEGV_MAPERR, "SIGSEGV handler sees si_addr and SEGV_MAPERR");
    }
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    check(!sigismember(&now, SIGSEGV), "siglongjmp restored the mask");
    if (sigsetjmp(escape, 1) == 0) {
        *p = 2;
    } else {
        check(1, "a second fault is caught too");
    }

    install(SIGFPE, on_fpe, 0, NULL);
    volatile int zero = 0, one = 1;
    if (sigsetjmp(escape, 1) == 0) {
        one = one / zero;
        check(0, "the division faulted");
    } else {
        check(fpe_code == FPE_INTDIV, "integer division by zero: SIGFPE, FPE_INTDIV");
    }

    install(SIGILL, on_ill, 0, NULL);
    long rax_after, rbx_after;
    __asm__ volatile("mov $0x1234, %%rax\n\tmov $0x5678, %%rbx\n\tud2\n\tmov %%rax, %0\n\tmov %%rbx, %1"
                     : "=r"(rax_after), "=r"(rbx_after) : : "rax", "rbx");
    check(ill_code == ILL_ILLOPN && rax_after == 0x1234 && rbx_after == 0x5678,
          "SIGILL handler returns past ud2 with the registers intact");

    /* a stack overflow: only a handler on the alternate stack can run */
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    install(SIGSEGV, on_segv, SA_ONSTACK, NULL);
    if (sigsetjmp(escape, 1) == 0) {
        recurse(0);
        check(0, "the recursion overflowed the stack");
    } else {
        check(fault_code == SEGV_MAPERR || fault_code == SEGV_ACCERR, "a stack overflow is caught on the alternate stack");
    }
}

/* a handler that rewrites its frame as an attacker would */
static void on_hostile_flags(int sig, siginfo_t *info, void *ucv)
{
    ucontext_t *uc = ucv;
    (void)sig;
    (void)info;
    /* every flag but TF, AC and DF (which would trap or upset libc natively): IOPL, NT, VM, VIF... */
    uc->uc_mcontext.gregs[REG_EFL] = ~(long long)(0x100 | 0x40000 | 0x400);
}

static void on_hostile_rip(int sig, siginfo_t *info, void *ucv)
{
    ucontext_t *uc = ucv;
    (void)sig;
    (void)info;
    uc->uc_mcontext.gregs[REG_RIP] = (long long)0x8000000000000000ULL;
}

static void badframe(void)
{
    install(SIGUSR1, on_hostile_flags, 0, NULL);
    raise(SIGUSR1);
    check(1, "a frame with privileged flags set returns to the program unharmed");
    install(SIGUSR2, on_hostile_rip, 0, NULL);
    raise(SIGUSR2);
    check(0, "a frame with a non-canonical rip returned");
}

static long long mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void save(void)
{
    sigset_t set;
    install(SIGUSR1, on_info, 0, NULL);
    install(SIGALRM, on_info, 0, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR1);
    struct itimerval it = {.it_value = {1, 500000}};
    setitimer(ITIMER_REAL, &it, NULL);
    hits = 0;
    long r = SAVE();
    long long resumed = mono_ns();
    printf("save=%s\n", r == 0 ? "vm" : "native");
    struct itimerval cur;
    getitimer(ITIMER_REAL, &cur);
    long long left_us = cur.it_value.tv_sec * 1000000LL + cur.it_value.tv_usec;
    check(left_us > 1000000 && left_us <= 1500000, "the alarm kept the time it had left");
    sigset_t pend, mask;
    sigpending(&pend);
    sigprocmask(SIG_SETMASK, NULL, &mask);
    check(sigismember(&pend, SIGUSR1) && sigismember(&mask, SIGUSR1) && sigismember(&mask, SIGALRM),
          "the blocked mask and the pending signal are still there");
    check(hits == 0, "nothing was delivered while blocked");
    sigset_t wait_for;
    sigfillset(&wait_for);
    sigdelset(&wait_for, SIGALRM);
    sigsuspend(&wait_for);
    long long waited_ms = (mono_ns() - resumed) / 1000000;
    check(hits == 1 && last_sig == SIGALRM, "the alarm fires after the restore");
    check(waited_ms >= 900 && waited_ms < 3000, "no sooner than the time it had left");
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    check(hits == 2 && last_sig == SIGUSR1 && last_code == SI_TKILL, "unblocked, the pending signal runs its handler");
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "all";
    if (strcmp(mode, "die") == 0) {
        raise(SIGTERM);
        return 3;
    }
    if (strcmp(mode, "restart") == 0) {
        blocking_read(SA_RESTART);
        return 4;
    }
    if (strcmp(mode, "eintr") == 0) {
        blocking_read(0);
        return 0;
    }
    if (strcmp(mode, "badframe") == 0)
        badframe();
    else if (strcmp(mode, "segv") == 0)
        segv();
    else if (strcmp(mode, "save") == 0)
        save();
    else
        basic();
    printf("%s\n", failures ? "signals FAILED" : "signals ok");
    return failures ? 1 : 0;
}
