/*
 * Time syscalls. Only sanity results are printed, so the output is the same
 * on every run: clocks are plausible, monotonic time never goes backwards and
 * nanosleep sleeps at least as long as asked.
 * (Without a vDSO, libc falls back to the real syscalls.)
 */
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

static long long ns(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

int main(void)
{
    struct timespec rt, m1, m2, m3, res;
    struct timeval tv;

    check(clock_gettime(CLOCK_REALTIME, &rt) == 0, "clock_gettime(CLOCK_REALTIME)");
    /* 2020-01-01: anything earlier means a zeroed or garbage clock. */
    check(rt.tv_sec > 1577836800 && rt.tv_nsec >= 0 && rt.tv_nsec < 1000000000,
          "realtime is plausible");
    check(gettimeofday(&tv, NULL) == 0, "gettimeofday");
    check(tv.tv_sec >= rt.tv_sec && tv.tv_sec - rt.tv_sec < 60 && tv.tv_usec < 1000000,
          "gettimeofday agrees with realtime");
    time_t t = time(NULL);
    check(t >= rt.tv_sec && t - rt.tv_sec < 60, "time() agrees with realtime");

    check(clock_gettime(CLOCK_MONOTONIC, &m1) == 0, "clock_gettime(CLOCK_MONOTONIC)");
    check(clock_gettime(CLOCK_MONOTONIC, &m2) == 0 && ns(&m2) >= ns(&m1),
          "monotonic does not go backwards");
    check(clock_getres(CLOCK_MONOTONIC, &res) == 0 && ns(&res) > 0 && ns(&res) <= 1000000,
          "clock_getres(CLOCK_MONOTONIC) <= 1ms");

    struct timespec req = {0, 20 * 1000 * 1000};
    check(nanosleep(&req, NULL) == 0, "nanosleep 20ms");
    check(clock_gettime(CLOCK_MONOTONIC, &m3) == 0 && ns(&m3) - ns(&m2) >= 20000000LL,
          "slept at least 20ms");

    printf("clock %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
