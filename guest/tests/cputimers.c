/*
 * setitimer's CPU-time timers: ITIMER_VIRTUAL (user time) and ITIMER_PROF (user and
 * system time) fire SIGVTALRM and SIGPROF while the program computes, not while it
 * sleeps, and keep the CPU time they had left across a SAVE (the time the VM spends
 * saved, and restoring, is no CPU time of the program's). Prints one line per check;
 * exit 0 iff all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "scratchvm.h"

static int failures;
static volatile sig_atomic_t vt, pf;
static volatile unsigned long sink;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    fflush(stdout);
    if (!ok)
        failures++;
}

static void on_vt(int sig) { (void)sig; vt++; }
static void on_pf(int sig) { (void)sig; pf++; }

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Computes until *flag reaches n or limit_ns of wall time pass; returns the wall time it took. */
static long long burn_until(volatile sig_atomic_t *flag, int n, long long limit_ns)
{
    long long start = now_ns();
    while (*flag < n && now_ns() - start < limit_ns)
        for (int i = 0; i < 100000; i++)
            sink += i;
    return now_ns() - start;
}

static void arm(int which, long value_us, long interval_us)
{
    struct itimerval v = {{interval_us / 1000000, interval_us % 1000000}, {value_us / 1000000, value_us % 1000000}};
    if (setitimer(which, &v, NULL) != 0)
        printf("setitimer(%d) failed: errno %d\n", which, errno);
}

static long left_us(int which)
{
    struct itimerval v;
    if (getitimer(which, &v) != 0)
        return -1;
    return v.it_value.tv_sec * 1000000L + v.it_value.tv_usec;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_vt;
    sigaction(SIGVTALRM, &sa, NULL);
    sa.sa_handler = on_pf;
    sigaction(SIGPROF, &sa, NULL);
    struct itimerval v = {{0, 0}, {1, 0}};
    check(setitimer(3, &v, NULL) == -1 && errno == EINVAL, "setitimer of an unknown timer fails with EINVAL");
    check(left_us(ITIMER_VIRTUAL) == 0 && left_us(ITIMER_PROF) == 0, "both CPU timers start disarmed");

    /* They fire while the program computes. */
    arm(ITIMER_VIRTUAL, 50000, 0);
    arm(ITIMER_PROF, 20000, 20000);
    long long took = burn_until(&vt, 1, 10000000000LL);
    check(vt == 1, "ITIMER_VIRTUAL sends SIGVTALRM in a CPU loop");
    check(took >= 45000000, "not before its 50 ms of CPU time");
    burn_until(&pf, 3, 10000000000LL);
    check(pf >= 3, "ITIMER_PROF with an interval sends SIGPROF again and again");
    check(left_us(ITIMER_VIRTUAL) == 0, "a one-shot ITIMER_VIRTUAL is disarmed once it fired");
    arm(ITIMER_PROF, 0, 0);
    check(left_us(ITIMER_PROF) == 0, "ITIMER_PROF disarms");

    /* A sleep uses no CPU time. */
    arm(ITIMER_VIRTUAL, 200000, 0);
    arm(ITIMER_PROF, 200000, 0);
    struct timespec nap = {0, 300000000};
    nanosleep(&nap, NULL);
    long virt = left_us(ITIMER_VIRTUAL), prof = left_us(ITIMER_PROF);
    /* Linux adds a tick (1 to 10 ms) to a CPU itimer's first expiry. */
    check(virt > 100000 && virt <= 210000, "ITIMER_VIRTUAL does not count a 300 ms sleep");
    check(prof > 100000 && prof <= 210000, "ITIMER_PROF does not count a 300 ms sleep");
    check(vt == 1, "no SIGVTALRM while asleep");

    /* Saved part-way; the CPU time left is kept. */
    arm(ITIMER_VIRTUAL, 400000, 0);
    arm(ITIMER_PROF, 500000, 0);
    sig_atomic_t never = 0;
    burn_until(&never, 1, 100000000LL);
    long virt_before = left_us(ITIMER_VIRTUAL), prof_before = left_us(ITIMER_PROF);
    int pf_before = pf;
    SAVE();
    long virt_after = left_us(ITIMER_VIRTUAL), prof_after = left_us(ITIMER_PROF);
    check(virt_after > 0 && virt_after <= virt_before && virt_after > virt_before - 50000,
          "ITIMER_VIRTUAL keeps the CPU time it had left across the save");
    check(prof_after > 0 && prof_after <= prof_before && prof_after > prof_before - 100000,
          "ITIMER_PROF keeps the CPU time it had left across the save");
    took = burn_until(&vt, 2, 10000000000LL);
    check(vt == 2, "ITIMER_VIRTUAL fires after the save");
    check(took >= virt_after * 900LL, "once the program computed the time it had left");
    burn_until(&pf, pf_before + 1, 10000000000LL);
    check(pf == pf_before + 1, "ITIMER_PROF fires after the save");
    printf("cputimers: %d failures\n", failures);
    return failures != 0;
}
