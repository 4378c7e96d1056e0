/*
 * Guests for pausing and snapshotting from outside: each mode is one kind of work a
 * pause can find the vCPU in. Output is deterministic, so a run that was paused,
 * snapshotted and restored elsewhere must print exactly what an uninterrupted one does.
 *   compute N      a loop with no system call; prints its checksum
 *   read           blocks in read(0); prints what it read
 *   sleep MS       nanosleep of MS ms; checks it lasted at least that long
 *   futex MS       a futex wait that times out after MS ms
 *   writer N FILE [WORK]  appends N numbered lines to FILE, WORK rounds of computing before each
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FUTEX_WAIT_PRIVATE 128

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static unsigned long long mix(unsigned long long h, unsigned long long i)
{
    h ^= i + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdULL;
}

static int compute(long n)
{
    volatile unsigned long long h = 1;
    for (long i = 0; i < n; i++)
        h = mix(h, (unsigned long long)i);
    printf("checksum %016llx\n", (unsigned long long)h);
    return 0;
}

static int do_read(void)
{
    char buf[256];
    printf("waiting for input\n");
    fflush(stdout);
    ssize_t n = read(0, buf, sizeof buf - 1);
    if (n < 0) {
        printf("read failed: %s\n", strerror(errno));
        return 1;
    }
    buf[n] = 0;
    printf("read %zd bytes: %s", n, buf);
    return 0;
}

static int do_sleep(long ms)
{
    printf("sleeping %ld ms\n", ms);
    fflush(stdout);
    long long start = now_ns();
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    int r = nanosleep(&t, NULL);
    long long slept = now_ns() - start;
    printf("nanosleep returned %d, lasted at least %ld ms: %s\n", r, ms, slept >= ms * 1000000LL ? "yes" : "no");
    return 0;
}

static int do_futex(long ms)
{
    static int word;
    printf("waiting on a futex for %ld ms\n", ms);
    fflush(stdout);
    long long start = now_ns();
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    long r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0);
    int err = r < 0 ? errno : 0;
    long long waited = now_ns() - start;
    printf("futex wait ended with %s, lasted at least %ld ms: %s\n", err == ETIMEDOUT ? "ETIMEDOUT" : strerror(err), ms,
           waited >= ms * 1000000LL ? "yes" : "no");
    return 0;
}

static int writer(long n, const char *file, long work)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) {
        printf("open failed: %s\n", strerror(errno));
        return 1;
    }
    unsigned long long h = 1;
    for (long i = 0; i < n; i++) {
        for (long k = 0; k < work; k++)
            h = mix(h, (unsigned long long)k);
        char line[64];
        int len = snprintf(line, sizeof line, "line %ld %016llx\n", i, h);
        if (write(fd, line, len) != len) {
            printf("write failed\n");
            return 1;
        }
    }
    close(fd);
    printf("wrote %ld lines\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "compute") == 0)
        return compute(atol(argv[2]));
    if (argc >= 2 && strcmp(argv[1], "read") == 0)
        return do_read();
    if (argc >= 3 && strcmp(argv[1], "sleep") == 0)
        return do_sleep(atol(argv[2]));
    if (argc >= 3 && strcmp(argv[1], "futex") == 0)
        return do_futex(atol(argv[2]));
    if (argc >= 4 && strcmp(argv[1], "writer") == 0)
        return writer(atol(argv[2]), argv[3], argc >= 5 ? atol(argv[4]) : 20000);
    fprintf(stderr, "usage: steer compute N | read | sleep MS | futex MS | writer N FILE [WORK]\n");
    return 2;
}
