/*
 * The three ways to read the wall clock must agree to the microsecond:
 * gettimeofday() and time() taken between two clock_gettime(CLOCK_REALTIME)
 * calls must lie between them. Prints "timeorder ok" or the first violation.
 */
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long us(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000000LL + t->tv_nsec / 1000;
}

int main(void)
{
    for (int i = 0; i < 200; i++) {
        struct timespec before, after;
        struct timeval tv;
        clock_gettime(CLOCK_REALTIME, &before);
        /* The raw call: glibc may serve gettimeofday() from clock_gettime. */
        syscall(SYS_gettimeofday, &tv, NULL);
        time_t t = (time_t)syscall(SYS_time, NULL);
        clock_gettime(CLOCK_REALTIME, &after);
        long long g = (long long)tv.tv_sec * 1000000LL + tv.tv_usec;
        if (g < us(&before) || g > us(&after) || tv.tv_usec < 0 || tv.tv_usec >= 1000000) {
            printf("gettimeofday out of order at %d: %lld not in [%lld, %lld]\n", i, g, us(&before), us(&after));
            return 1;
        }
        if (t < before.tv_sec || t > after.tv_sec) {
            printf("time out of order at %d: %lld not in [%lld, %lld]\n", i, (long long)t,
                   (long long)before.tv_sec, (long long)after.tv_sec);
            return 1;
        }
    }
    printf("timeorder ok\n");
    return 0;
}
