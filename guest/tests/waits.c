/*
 * Sleeping and waiting in a single-threaded program: nanosleep,
 * clock_nanosleep (relative and absolute), futex waits that time out or find
 * the value changed, futex wakes with nobody waiting, and pthread_once, whose
 * glibc implementation wakes waiters with a futex when the initializer is done.
 * Prints one line per check; exit status 0 iff all passed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* From linux/futex.h, which musl-gcc cannot see. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define FUTEX_WAIT_BITSET_PRIVATE 137
#define FUTEX_BITSET_MATCH_ANY -1

static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

static long long now_ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static struct timespec in_ns(clockid_t clock, long long ns)
{
    long long at = now_ns(clock) + ns;
    struct timespec t = {(time_t)(at / 1000000000LL), (long)(at % 1000000000LL)};
    return t;
}

static long futex(int *addr, int op, int val, const struct timespec *timeout, int val3)
{
    long r = syscall(SYS_futex, addr, op, val, timeout, NULL, val3);
    return r < 0 ? -errno : r;
}

static int once_runs;

static void once_init(void)
{
    once_runs++;
}

int main(void)
{
    const long long ms = 1000000LL;
    long long t0 = now_ns(CLOCK_MONOTONIC);
    struct timespec d10 = {0, 10 * ms};
    check(nanosleep(&d10, NULL) == 0 && now_ns(CLOCK_MONOTONIC) - t0 >= 10 * ms, "nanosleep 10ms");

    t0 = now_ns(CLOCK_MONOTONIC);
    check(clock_nanosleep(CLOCK_MONOTONIC, 0, &d10, NULL) == 0 && now_ns(CLOCK_MONOTONIC) - t0 >= 10 * ms,
          "clock_nanosleep relative 10ms");

    struct timespec until = in_ns(CLOCK_MONOTONIC, 20 * ms);
    long long target = (long long)until.tv_sec * 1000000000LL + until.tv_nsec;
    check(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == 0 && now_ns(CLOCK_MONOTONIC) >= target,
          "clock_nanosleep TIMER_ABSTIME on CLOCK_MONOTONIC");
    until = in_ns(CLOCK_REALTIME, 10 * ms);
    target = (long long)until.tv_sec * 1000000000LL + until.tv_nsec;
    check(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL) == 0 && now_ns(CLOCK_REALTIME) >= target,
          "clock_nanosleep TIMER_ABSTIME on CLOCK_REALTIME");
    struct timespec past = {1, 0};
    t0 = now_ns(CLOCK_MONOTONIC);
    check(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL) == 0 &&
              now_ns(CLOCK_MONOTONIC) - t0 < 1000 * ms,
          "clock_nanosleep to a time already past returns at once");

    int word = 5;
    check(futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, 0) == 0, "futex wake with no waiters wakes 0");
    check(futex(&word, FUTEX_WAIT_PRIVATE, 4, NULL, 0) == -EAGAIN, "futex wait on a changed value -> EAGAIN");
    t0 = now_ns(CLOCK_MONOTONIC);
    check(futex(&word, FUTEX_WAIT_PRIVATE, 5, &d10, 0) == -ETIMEDOUT && now_ns(CLOCK_MONOTONIC) - t0 >= 10 * ms,
          "futex wait times out after 10ms");
    until = in_ns(CLOCK_MONOTONIC, 10 * ms);
    check(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, &until, FUTEX_BITSET_MATCH_ANY) == -ETIMEDOUT,
          "futex wait-bitset times out at an absolute time");
    check(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, &until, 0) == -EINVAL, "futex wait-bitset with bitset 0 -> EINVAL");

    static pthread_once_t once = PTHREAD_ONCE_INIT;
    check(pthread_once(&once, once_init) == 0 && pthread_once(&once, once_init) == 0 && once_runs == 1,
          "pthread_once runs its initializer once");

    printf("waits %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
