/*
 * Waiting on file descriptors in one process: pipes (the self-pipe trick,
 * EAGAIN, end of file, EPIPE, the 64 KiB capacity), eventfd, timerfd, and
 * poll, select, ppoll, pselect6 and epoll over them and a regular file, with
 * timeouts. In the middle it calls SAVE() holding a pipe with unread bytes, an
 * eventfd counter, an armed periodic timerfd and an epoll set; everything after
 * it checks that they came back as they were (natively SAVE returns -ENOSYS and
 * the program just goes on). Prints one line per check; exit 0 iff all passed.
 *
 * "fdwait pause" instead blocks for a while in poll, epoll_wait, select and a
 * timerfd read, for a controller to pause it meanwhile; "fdwait stdin" waits on
 * standard input with epoll and poll.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "scratchvm.h"

#ifndef F_GETPIPE_SZ
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#endif

static int failures;

#define CHECK(cond, ...)                  \
    do {                                  \
        int ok_ = (cond);                 \
        printf("%s ", ok_ ? "ok  " : "FAIL"); \
        printf(__VA_ARGS__);              \
        printf("\n");                     \
        if (!ok_)                         \
            failures++;                   \
    } while (0)

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void arm(int tfd, long first_ms, long interval_ms)
{
    struct itimerspec its = {{interval_ms / 1000, interval_ms % 1000 * 1000000L},
                             {first_ms / 1000, first_ms % 1000 * 1000000L}};
    timerfd_settime(tfd, 0, &its, NULL);
}

static uint64_t read_u64(int fd)
{
    uint64_t v = 0;
    if (read(fd, &v, 8) != 8)
        return (uint64_t)-1;
    return v;
}

/* The events epoll reports, as a sorted list of "data:events" for stable output. */
static int epoll_summary(int ep, int timeout, char *out, size_t size)
{
    struct epoll_event ev[16];
    int n = epoll_wait(ep, ev, 16, timeout);
    out[0] = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (ev[j].data.u64 < ev[i].data.u64) {
                struct epoll_event t = ev[i];
                ev[i] = ev[j];
                ev[j] = t;
            }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%llu:%x", i ? " " : "", (unsigned long long)ev[i].data.u64, ev[i].events);
    }
    return n;
}

static void pipes(void)
{
    int p[2];
    char buf[70000];
    CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0, "pipe2 O_NONBLOCK|O_CLOEXEC");
    CHECK((fcntl(p[0], F_GETFD) & FD_CLOEXEC) && (fcntl(p[1], F_GETFD) & FD_CLOEXEC), "both ends close-on-exec");
    CHECK((fcntl(p[0], F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK), "read end O_RDONLY|O_NONBLOCK");
    CHECK((fcntl(p[1], F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_WRONLY | O_NONBLOCK), "write end O_WRONLY|O_NONBLOCK");
    CHECK(fcntl(p[0], F_GETPIPE_SZ) == 65536, "F_GETPIPE_SZ 65536");
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 10000) == 16384 && fcntl(p[0], F_GETPIPE_SZ) == 16384, "F_SETPIPE_SZ 10000: 16384");
    long in16 = 0;
    while (write(p[1], "0123456789abcdef", 16) == 16)
        in16 += 16;
    CHECK(in16 == 16384, "it holds 16384 bytes");
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 4096) < 0 && errno == EBUSY, "shrinking below its 4 pages in use: EBUSY");
    CHECK(read(p[0], buf, sizeof buf) == 16384 && fcntl(p[1], F_SETPIPE_SZ, 0) == 4096, "emptied, F_SETPIPE_SZ 0: one page");
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 65536) == 65536, "back to 64 KiB");
    CHECK(fcntl(0, F_GETPIPE_SZ) < 0 && errno == EBADF, "F_GETPIPE_SZ on stdin (not a pipe here): EBADF");
    long r = read(p[0], buf, 10);
    CHECK(r == -1 && errno == EAGAIN, "empty pipe: EAGAIN");
    CHECK(write(p[1], "hello", 5) == 5, "write 5");
    int avail = -1;
    CHECK(ioctl(p[0], FIONREAD, &avail) == 0 && avail == 5, "FIONREAD 5");
    CHECK(read(p[0], buf, 3) == 3 && memcmp(buf, "hel", 3) == 0, "read 3: hel");
    CHECK(read(p[0], buf, 10) == 2 && memcmp(buf, "lo", 2) == 0, "read the rest: lo");
    r = read(p[1], buf, 1);
    CHECK(r == -1 && errno == EBADF, "read from the write end: EBADF");
    r = write(p[0], "x", 1);
    CHECK(r == -1 && errno == EBADF, "write to the read end: EBADF");
    r = lseek(p[0], 0, SEEK_SET);
    CHECK(r == -1 && errno == ESPIPE, "lseek: ESPIPE");
    struct stat st;
    CHECK(fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode), "fstat: a FIFO");

    /* Capacity: small writes share pages and fill all 65536 bytes, 3000-byte ones take a page each. */
    long total = 0;
    while ((r = write(p[1], "0123456789abcdef", 16)) == 16)
        total += r;
    CHECK(total == 65536 && errno == EAGAIN, "16-byte writes until EAGAIN: %ld bytes", total);
    CHECK(read(p[0], buf, sizeof buf) == 65536, "drain 65536");
    total = 0;
    memset(buf, 'q', sizeof buf);
    while ((r = write(p[1], buf, 3000)) > 0)
        total += r;
    CHECK(total == 48000 && errno == EAGAIN, "3000-byte writes until EAGAIN: %ld bytes", total);
    CHECK(read(p[0], buf, sizeof buf) == 48000, "drain 48000");
    r = write(p[1], buf, 70000);
    CHECK(r == 65536, "a 70000-byte non-blocking write writes %ld", r);
    r = write(p[1], buf, 1);
    CHECK(r == -1 && errno == EAGAIN, "full: EAGAIN");
    CHECK(read(p[0], buf, 100) == 100, "read 100");
    r = write(p[1], buf, 4096);
    CHECK(r == -1 && errno == EAGAIN, "4096 bytes (PIPE_BUF) do not fit 100 free bytes: EAGAIN");
    r = write(p[1], buf, 100);
    CHECK(r == -1 && errno == EAGAIN, "no free page: EAGAIN even for 100 bytes");
    CHECK(read(p[0], buf, sizeof buf) == 65436, "drain the rest");

    /* End of file and EPIPE. */
    CHECK(write(p[1], "ab", 2) == 2 && close(p[1]) == 0, "write 2, close the write end");
    CHECK(read(p[0], buf, 10) == 2, "the bytes before the close are read");
    CHECK(read(p[0], buf, 10) == 0, "then end of file");
    struct pollfd pf = {p[0], POLLIN, 0};
    CHECK(poll(&pf, 1, 0) == 1 && pf.revents == POLLHUP, "poll: POLLHUP (%x)", pf.revents);
    close(p[0]);

    CHECK(pipe(p) == 0, "pipe");
    CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) == 0, "blocking by default");
    close(p[0]);
    r = write(p[1], "x", 1);
    CHECK(r == -1 && errno == EPIPE, "write with no reader: EPIPE (SIGPIPE ignored)");
    pf.fd = p[1];
    pf.events = POLLOUT;
    CHECK(poll(&pf, 1, 0) == 1 && pf.revents == (POLLOUT | POLLERR), "poll: POLLOUT|POLLERR (%x)", pf.revents);
    close(p[1]);

    /* F_SETFL switches O_NONBLOCK. */
    CHECK(pipe(p) == 0 && fcntl(p[0], F_SETFL, O_NONBLOCK) == 0, "F_SETFL O_NONBLOCK");
    r = read(p[0], buf, 1);
    CHECK(r == -1 && errno == EAGAIN, "now EAGAIN");
    /* The self-pipe trick: a byte written to yourself wakes your own poll. */
    struct pollfd two[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    CHECK(poll(two, 1, 30) == 0, "self-pipe: nothing yet, poll times out");
    CHECK(write(p[1], "!", 1) == 1 && poll(two, 2, -1) == 2 && two[0].revents == POLLIN && two[1].revents == POLLOUT,
          "self-pipe: the byte wakes poll");
    CHECK(read(p[0], buf, 1) == 1 && buf[0] == '!', "and is read back");
    close(p[0]);
    close(p[1]);
}

static void eventfds(void)
{
    int e = eventfd(3, EFD_NONBLOCK);
    CHECK(e >= 0, "eventfd 3 EFD_NONBLOCK");
    CHECK(read_u64(e) == 3, "read 3");
    uint64_t v;
    long r = read(e, &v, 8);
    CHECK(r == -1 && errno == EAGAIN, "then EAGAIN");
    r = read(e, &v, 4);
    CHECK(r == -1 && errno == EINVAL, "read of 4 bytes: EINVAL");
    v = 5;
    CHECK(write(e, &v, 8) == 8 && write(e, &v, 8) == 8 && read_u64(e) == 10, "5 + 5 = 10");
    v = UINT64_MAX;
    r = write(e, &v, 8);
    CHECK(r == -1 && errno == EINVAL, "write 2^64-1: EINVAL");
    v = UINT64_MAX - 1;
    CHECK(write(e, &v, 8) == 8, "write 2^64-2");
    v = 1;
    r = write(e, &v, 8);
    CHECK(r == -1 && errno == EAGAIN, "then any more: EAGAIN");
    struct pollfd pf = {e, POLLIN | POLLOUT, 0};
    CHECK(poll(&pf, 1, 0) == 1 && pf.revents == POLLIN, "poll: readable, not writable");
    close(e);
    int s = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(read_u64(s) == 1 && read_u64(s) == 1, "semaphore: 1 and 1");
    r = read(s, &v, 8);
    CHECK(r == -1 && errno == EAGAIN, "semaphore: then EAGAIN");
    CHECK(eventfd(0, 0x7) < 0 && errno == EINVAL, "unknown flags: EINVAL");
    close(s);
}

static void timerfds(void)
{
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    CHECK(t >= 0, "timerfd_create MONOTONIC");
    uint64_t v;
    long r = read(t, &v, 8);
    CHECK(r == -1 && errno == EAGAIN, "disarmed: EAGAIN");
    struct itimerspec cur;
    CHECK(timerfd_gettime(t, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0, "disarmed: gettime 0");
    long long t0 = now_ms();
    arm(t, 50, 0);
    struct pollfd pf = {t, POLLIN, 0};
    CHECK(poll(&pf, 1, 2000) == 1, "poll wakes at the expiry");
    long long took = now_ms() - t0;
    CHECK(took >= 45 && took < 1500, "after about 50 ms");
    CHECK(read_u64(t) == 1, "one expiration");
    CHECK(timerfd_gettime(t, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0, "one-shot: disarmed after");

    /* Periodic: expirations accumulate. */
    arm(t, 20, 20);
    struct timespec wait = {0, 110 * 1000000L};
    nanosleep(&wait, NULL);
    v = read_u64(t);
    CHECK(v >= 4 && v <= 15, "periodic 20 ms, after 110 ms: 5 expirations, give or take a busy host");
    CHECK(timerfd_gettime(t, &cur) == 0 && cur.it_interval.tv_nsec == 20000000 && cur.it_value.tv_nsec <= 20000000,
          "gettime: interval 20 ms, value within it");

    /* Absolute, on CLOCK_REALTIME, blocking read. */
    int rt = timerfd_create(CLOCK_REALTIME, 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long ns = now.tv_nsec + 40000000L;
    struct itimerspec abs = {{0, 0}, {now.tv_sec + ns / 1000000000L, ns % 1000000000L}};
    CHECK(timerfd_settime(rt, TFD_TIMER_ABSTIME, &abs, NULL) == 0, "REALTIME absolute in 40 ms");
    t0 = now_ms();
    CHECK(read_u64(rt) == 1, "blocking read waits for it");
    CHECK(now_ms() - t0 >= 30, "about 40 ms");
    struct itimerspec past = {{0, 0}, {1, 0}};
    CHECK(timerfd_settime(rt, TFD_TIMER_ABSTIME, &past, NULL) == 0 && read_u64(rt) == 1, "a time in the past expires at once");
    struct itimerspec bad = {{0, 0}, {0, 1000000000L}};
    CHECK(timerfd_settime(rt, 0, &bad, NULL) < 0 && errno == EINVAL, "tv_nsec 10^9: EINVAL");
    CHECK(timerfd_create(12345, 0) < 0 && errno == EINVAL, "unknown clock: EINVAL");
    CHECK(timerfd_settime(0, 0, &past, NULL) < 0 && errno == EINVAL, "settime on stdin: EINVAL");
    /* Old value. */
    arm(t, 5000, 1000);
    struct itimerspec old;
    arm(t, 0, 0);
    CHECK(timerfd_settime(t, 0, &past, &old) == 0 && old.it_value.tv_sec == 0 && old.it_interval.tv_sec == 0, "old value of a disarmed timer");
    close(rt);
    close(t);
}

static void multiplexing(void)
{
    int p[2];
    pipe2(p, O_NONBLOCK);
    int e = eventfd(0, EFD_NONBLOCK);
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    int f = open("fdwait.tmp", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(f >= 0, "a regular file");

    /* poll: the regular file is always ready, the rest not yet. */
    struct pollfd fds[5] = {{p[0], POLLIN, 0}, {e, POLLIN, 0}, {t, POLLIN, 0}, {f, POLLIN | POLLOUT, 0}, {-1, POLLIN, 7}};
    CHECK(poll(fds, 5, 0) == 1 && fds[3].revents == (POLLIN | POLLOUT) && fds[4].revents == 0, "poll: only the file");
    CHECK(poll(fds, 3, 40) == 0, "poll of the rest times out");
    struct pollfd bad = {999, POLLIN, 0};
    CHECK(poll(&bad, 1, 0) == 1 && bad.revents == POLLNVAL, "a closed fd: POLLNVAL");
    arm(t, 30, 0);
    CHECK(poll(fds, 3, 2000) == 1 && fds[2].revents == POLLIN, "the timer wakes poll");
    read_u64(t);
    uint64_t one = 1;
    write(e, &one, 8);
    write(p[1], "ab", 2);
    CHECK(poll(fds, 3, 0) == 2 && fds[0].revents == POLLIN && fds[1].revents == POLLIN, "pipe and eventfd ready");
    struct timespec ts = {0, 0};
    CHECK(ppoll(fds, 3, &ts, NULL) == 2, "ppoll sees the same");

    /* select. */
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(p[0], &rd);
    FD_SET(e, &rd);
    FD_SET(t, &rd);
    FD_SET(f, &rd);
    FD_SET(p[1], &wr);
    struct timeval tv = {0, 0};
    int n = select(f + 1, &rd, &wr, NULL, &tv);
    CHECK(n == 4 && FD_ISSET(p[0], &rd) && FD_ISSET(e, &rd) && !FD_ISSET(t, &rd) && FD_ISSET(f, &rd) && FD_ISSET(p[1], &wr),
          "select: pipe, eventfd, file readable, pipe writable (%d)", n);
    char buf[8];
    read(p[0], buf, 2);
    read_u64(e);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    FD_SET(e, &rd);
    tv.tv_usec = 30000;
    long long t0 = now_ms();
    CHECK(select(e + 1, &rd, NULL, NULL, &tv) == 0 && !FD_ISSET(p[0], &rd), "select times out and clears the set");
    CHECK(now_ms() - t0 >= 25, "after about 30 ms");
    FD_ZERO(&rd);
    FD_SET(40, &rd);
    tv.tv_usec = 0;
    CHECK(select(41, &rd, NULL, NULL, &tv) < 0 && errno == EBADF, "select on a closed fd: EBADF");
    FD_ZERO(&rd);
    FD_SET(t, &rd);
    arm(t, 30, 0);
    struct timespec pts = {2, 0};
    CHECK(pselect(t + 1, &rd, NULL, NULL, &pts, NULL) == 1 && FD_ISSET(t, &rd), "pselect: the timer");
    read_u64(t);

    /* epoll. */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0, "epoll_create1");
    struct epoll_event ev = {EPOLLIN, {.u64 = 1}};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "add the pipe");
    ev.data.u64 = 2;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == 0, "add the eventfd");
    ev.data.u64 = 3;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev) == 0, "add the timerfd");
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev) < 0 && errno == EEXIST, "twice: EEXIST");
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev) < 0 && errno == EPERM, "a regular file: EPERM");
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev) < 0 && errno == EINVAL, "itself: EINVAL");
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev) < 0 && errno == ENOENT, "modify one not added: ENOENT");
    CHECK(epoll_ctl(f, EPOLL_CTL_ADD, e, &ev) < 0 && errno == EINVAL, "a file as the epoll: EINVAL");
    char got[200];
    t0 = now_ms();
    CHECK(epoll_summary(ep, 40, got, sizeof got) == 0, "nothing ready: times out");
    CHECK(now_ms() - t0 >= 35, "after about 40 ms");
    write(p[1], "x", 1);
    write(e, &one, 8);
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 2 && strcmp(got, "1:1 2:1") == 0, "level-triggered: %s", got);
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 2, "and again, still ready");
    arm(t, 30, 0);
    read(p[0], buf, 1);
    read_u64(e);
    CHECK(epoll_summary(ep, 2000, got, sizeof got) == 1 && strcmp(got, "3:1") == 0, "the timer wakes epoll_wait: %s", got);
    read_u64(t);

    /* Edge-triggered: one report per write. */
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = 1;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0, "the pipe edge-triggered");
    write(p[1], "x", 1);
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 1 && strcmp(got, "1:1") == 0, "EPOLLET: the write reported");
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 0, "EPOLLET: not again while nothing new comes");
    write(p[1], "y", 1);
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 1, "EPOLLET: a new write, a new report");
    read(p[0], buf, 2);

    /* One-shot: reported once, until re-armed. */
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = 2;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev) == 0, "the eventfd one-shot");
    write(e, &one, 8);
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 1 && strcmp(got, "2:1") == 0, "EPOLLONESHOT: reported");
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 0, "EPOLLONESHOT: then disabled");
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev) == 0 && epoll_summary(ep, 0, got, sizeof got) == 1, "re-armed by MOD");
    read_u64(e);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL) == 0 && epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL) < 0 && errno == ENOENT,
          "DEL, then ENOENT");

    /* An epoll inside poll, and in another epoll. */
    write(p[1], "z", 1);
    struct pollfd epf = {ep, POLLIN, 0};
    CHECK(poll(&epf, 1, 0) == 1 && epf.revents == POLLIN, "poll on the epoll fd: readable");
    int outer = epoll_create(1);
    ev.events = EPOLLIN;
    ev.data.u64 = 9;
    CHECK(epoll_ctl(outer, EPOLL_CTL_ADD, ep, &ev) == 0, "epoll in epoll");
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, outer, &ev) < 0 && errno == ELOOP, "and back: ELOOP");
    CHECK(epoll_summary(outer, 0, got, sizeof got) == 1 && strcmp(got, "9:1") == 0, "the outer one reports the inner");
    read(p[0], buf, 1);
    close(outer);

    /* Closing the last fd of a file takes it out of the set. */
    int dupd = dup(e);
    ev.events = EPOLLIN;
    ev.data.u64 = 5;
    epoll_ctl(ep, EPOLL_CTL_ADD, dupd, &ev);
    write(e, &one, 8);
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 1 && strcmp(got, "5:1") == 0, "a dup'd eventfd reported");
    close(dupd);
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 1 && strcmp(got, "5:1") == 0,
          "its fd closed, the file open elsewhere: still registered: %s", got);
    close(e);
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 0, "the file's last fd closed: gone");
    e = eventfd(0, EFD_NONBLOCK);
    read_u64(e);
    struct epoll_event evs[1];
    CHECK(epoll_wait(ep, evs, 0, 0) < 0 && errno == EINVAL, "maxevents 0: EINVAL");

    close(ep);
    close(f);
    unlink("fdwait.tmp");
    close(t);
    close(e);
    close(p[0]);
    close(p[1]);
}

/* SAVE() with a pipe holding bytes, an eventfd counter, a periodic timer and an epoll set. */
static int across_save(void)
{
    int p[2];
    pipe2(p, O_NONBLOCK);
    CHECK(fcntl(p[0], F_SETPIPE_SZ, 131072) == 131072, "a 128 KiB pipe");
    char big[5000];
    memset(big, 'b', sizeof big);
    CHECK(write(p[1], "unread bytes|", 13) == 13 && write(p[1], big, sizeof big) == sizeof big, "pipe holds 5013 bytes");
    int e = eventfd(41, EFD_NONBLOCK | EFD_SEMAPHORE);
    uint64_t one = 1;
    write(e, &one, 8);
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    arm(t, 400, 250);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u64 = 1}};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    ev.data.u64 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev);
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = 3;
    epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
    ev.events = EPOLLOUT | EPOLLONESHOT;
    ev.data.u64 = 4;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev);
    char got[200];
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 3 && strcmp(got, "1:1 2:1 4:4") == 0, "before: %s", got);
    fflush(stdout);

    long r = SAVE();
    if (r != 0 && r != -ENOSYS) {
        printf("SAVE failed: %ld\n", r);
        return 1;
    }

    CHECK(epoll_summary(ep, 0, got, sizeof got) == 2 && strcmp(got, "1:1 2:1") == 0, "after: the one-shot stays off: %s", got);
    struct itimerspec cur;
    CHECK(timerfd_gettime(t, &cur) == 0 && cur.it_interval.tv_nsec == 250000000 && cur.it_value.tv_sec == 0
          && cur.it_value.tv_nsec > 0, "timer still armed, interval 250 ms");
    long long t0 = now_ms();
    struct pollfd pf = {t, POLLIN, 0};
    CHECK(poll(&pf, 1, 3000) == 1, "the timer fires");
    CHECK(now_ms() - t0 < 1000, "within its 400 ms");
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 3 && strcmp(got, "1:1 2:1 3:1") == 0, "its edge reported: %s", got);
    uint64_t x = read_u64(t);
    CHECK(x >= 1 && x <= 2, "1 or 2 expirations");
    CHECK(epoll_summary(ep, 0, got, sizeof got) == 2, "edge-triggered timer: not again until the next");
    CHECK(read_u64(e) == 1, "semaphore eventfd: 1");
    uint64_t left = 1;
    while (read(e, &x, 8) == 8)
        left++;
    CHECK(left == 42, "it held 42");
    char buf[6000];
    CHECK(read(p[0], buf, sizeof buf) == 5013 && memcmp(buf, "unread bytes|bbb", 16) == 0, "the pipe's bytes, in order");
    long n = 0, w;
    CHECK(write(p[1], "z", 1) == 1, "one byte");
    while ((w = write(p[1], "0123456789abcdef", 16)) > 0)
        n += w;
    CHECK(n == 131056 && fcntl(p[0], F_GETPIPE_SZ) == 131072, "then the rest of its 128 KiB in 16-byte writes: %ld bytes", n);
    ev.events = EPOLLOUT | EPOLLONESHOT;
    ev.data.u64 = 4;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev) < 0 && errno == EEXIST, "the interest list is still there");
    close(ep);
    close(t);
    close(e);
    close(p[0]);
    close(p[1]);
    return 0;
}

/* Long waits for a controller to pause in. */
static int pause_mode(void)
{
    int p[2];
    pipe(p);
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line visible at once: the controller watches them */
    printf("waiting\n");
    long long t0 = now_ms();
    struct pollfd pf = {p[0], POLLIN, 0};
    int r = poll(&pf, 1, 1200);
    long long took = now_ms() - t0;
    printf("poll: %d after %s\n", r, took >= 1150 && took < 4000 ? "about 1200 ms" : "the wrong time");
    int t = timerfd_create(CLOCK_MONOTONIC, 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u64 = 7}};
    epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    arm(t, 1000, 0);
    t0 = now_ms();
    struct epoll_event out[4];
    r = epoll_wait(ep, out, 4, -1);
    took = now_ms() - t0;
    printf("epoll_wait: %d event(s), data %llu, %s\n", r, (unsigned long long)out[0].data.u64,
           took >= 950 && took < 4000 ? "after about 1000 ms" : "at the wrong time");
    printf("expirations: %llu\n", (unsigned long long)read_u64(t));
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timeval tv = {0, 800000};
    t0 = now_ms();
    r = select(p[0] + 1, &rd, NULL, NULL, &tv);
    took = now_ms() - t0;
    printf("select: %d after %s\n", r, took >= 750 && took < 4000 ? "about 800 ms" : "the wrong time");
    arm(t, 700, 0);
    t0 = now_ms();
    uint64_t x = read_u64(t);
    took = now_ms() - t0;
    printf("timerfd read: %llu after %s\n", (unsigned long long)x, took >= 650 && took < 4000 ? "about 700 ms" : "the wrong time");
    return 0;
}

/* Waits on standard input (a host fd) with epoll and poll, a timerfd in the same set as a fallback. */
static int stdin_mode(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int t = timerfd_create(CLOCK_MONOTONIC, 0);
    arm(t, 20000, 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u64 = 100}};
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
    ev.data.u64 = 200;
    epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
    printf("waiting for input\n");
    struct epoll_event out[2];
    int n = epoll_wait(ep, out, 2, -1);
    printf("epoll_wait: %d event(s), data %llu, events %x\n", n, (unsigned long long)out[0].data.u64, out[0].events);
    char buf[100];
    long r = read(0, buf, sizeof buf - 1);
    buf[r > 0 ? r : 0] = 0;
    printf("read %ld bytes: %s", r, buf);
    struct pollfd pf = {0, POLLIN, 0};
    n = poll(&pf, 1, 100);
    printf("poll with nothing more: %d\n", n);
    n = poll(&pf, 1, -1);
    printf("poll: %d, revents %x\n", n, pf.revents);
    r = read(0, buf, sizeof buf - 1);
    buf[r > 0 ? r : 0] = 0;
    printf("read %ld bytes: %s", r, buf);
    return 0;
}

/* Blocks for ever, as Linux would, on an empty pipe ("read") or a full one ("write"): only a pause gets in. */
static int block_mode(const char *how)
{
    int p[2];
    pipe2(p, O_NONBLOCK);
    long filled = 0;
    if (strcmp(how, "write") == 0)
        while (write(p[1], "f", 1) == 1)
            filled++;
    fcntl(p[0], F_SETFL, 0);
    fcntl(p[1], F_SETFL, 0);
    printf("blocking in %s with %ld bytes in the pipe\n", how, filled);
    fflush(stdout);
    char c = 'x';
    long r = strcmp(how, "write") == 0 ? write(p[1], &c, 1) : read(p[0], &c, 1);
    printf("never here: %ld\n", r);
    return 1;
}

/* A call's result and, if it failed, its errno (taken after the call, whatever the argument order). */
static void show(const char *what, long r)
{
    printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

static void show_events(const char *what, int n, unsigned events)
{
    printf("%s: %d %x\n", what, n, n > 0 ? events : 0);
}

/* Edge cases printed as raw values, for a comparison with Linux rather than a verdict. */
static int edges_mode(void)
{
    int p[2];
    pipe2(p, O_NONBLOCK);
    struct pollfd pf[2] = {{p[0], 0, 0}, {p[1], 0, 0}};
    int n = poll(pf, 2, 0);
    printf("poll, no events asked: %d %x %x\n", n, pf[0].revents, pf[1].revents);
    write(p[1], "ab", 2);
    close(p[1]);
    pf[0].events = POLLIN | POLLRDNORM | POLLPRI | POLLRDHUP;
    n = poll(pf, 1, 0);
    show_events("poll, data and no writer", n, pf[0].revents);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN | EPOLLRDHUP | EPOLLPRI | EPOLLOUT, {.u64 = 1}}, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    n = epoll_wait(ep, out, 4, 0);
    show_events("epoll, data and no writer", n, out[0].events);
    char buf[16];
    read(p[0], buf, 4);
    n = epoll_wait(ep, out, 4, 0);
    show_events("epoll, no writer", n, out[0].events);
    fd_set rd, wr, ex;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_ZERO(&ex);
    FD_SET(p[0], &rd);
    FD_SET(p[0], &ex);
    struct timeval tv = {0, 0};
    n = select(p[0] + 1, &rd, &wr, &ex, &tv);
    printf("select, no writer: %d read %d except %d\n", n, FD_ISSET(p[0], &rd), FD_ISSET(p[0], &ex));
    close(p[0]);

    int q[2];
    pipe2(q, O_NONBLOCK);
    close(q[0]);
    ev.events = EPOLLOUT;
    epoll_ctl(ep, EPOLL_CTL_ADD, q[1], &ev);
    n = epoll_wait(ep, out, 4, 0);
    show_events("epoll, write end with no reader", n, out[0].events);
    FD_ZERO(&wr);
    FD_SET(q[1], &wr);
    n = select(q[1] + 1, NULL, &wr, NULL, &tv);
    printf("select, write end with no reader: %d %d\n", n, FD_ISSET(q[1], &wr));
    close(q[1]);
    close(ep);

    int e = eventfd(0, EFD_NONBLOCK);
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(e, &rd);
    FD_SET(e, &wr);
    n = select(e + 1, &rd, &wr, NULL, &tv);
    printf("select, empty eventfd: %d read %d write %d\n", n, FD_ISSET(e, &rd), FD_ISSET(e, &wr));
    uint64_t v[2] = {0, 0};
    show("eventfd write 0", write(e, v, 8));
    v[0] = 3;
    show("eventfd write 16 bytes", write(e, v, 16));
    show("eventfd read 16 bytes", read(e, buf, 16));
    struct stat st;
    fstat(e, &st);
    printf("eventfd mode: %o\n", st.st_mode & 0777);
    close(e);

    int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    show("timerfd write", write(t, v, 8));
    show("timerfd read 4 bytes", read(t, buf, 4));
    struct itimerspec its = {{0, 0}, {0, 0}};
    show("settime flags 4", timerfd_settime(t, 4, &its, NULL));
    show("settime cancel-on-set, monotonic", timerfd_settime(t, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL));
    its.it_interval.tv_sec = 5;
    timerfd_settime(t, 0, &its, NULL);
    struct itimerspec cur;
    timerfd_gettime(t, &cur);
    printf("interval without a value: %ld %ld\n", (long)cur.it_interval.tv_sec, (long)cur.it_value.tv_sec);
    close(t);

    show("pipe2 bad flags", pipe2(q, 1));
    show("epoll_create 0", epoll_create(0));
    show("epoll_create1 bad flags", epoll_create1(1));
    int ep2 = epoll_create1(0);
    int r = eventfd(0, 0);
    ev.events = EPOLLIN;
    show("epoll_ctl bad op", epoll_ctl(ep2, 7, r, &ev));
    show("epoll_ctl bad fd", epoll_ctl(ep2, EPOLL_CTL_ADD, 77, &ev));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    show("EPOLLEXCLUSIVE add", epoll_ctl(ep2, EPOLL_CTL_ADD, r, &ev));
    show("EPOLLEXCLUSIVE mod", epoll_ctl(ep2, EPOLL_CTL_MOD, r, &ev));
    show("epoll read", read(ep2, buf, 4));
    struct pollfd none = {-1, POLLIN, 0};
    show("poll with fd -1 and 20 ms", poll(&none, 1, 20));

    /* Vectored I/O on a pipe, and edge-triggered epoll on its write end. */
    int v2[2];
    pipe2(v2, O_NONBLOCK);
    struct iovec iov[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    show("writev 3+0+5", writev(v2[1], iov, 3));
    int avail = 0;
    ioctl(v2[0], FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    char x[3], y[10];
    struct iovec rio[2] = {{x, 3}, {y, 10}};
    show("readv 3+10", readv(v2[0], rio, 2));
    printf("read back: %.3s %.5s\n", x, y);
    int ep3 = epoll_create1(0);
    struct epoll_event wev = {EPOLLOUT | EPOLLET, {.u64 = 5}}, wout[2];
    epoll_ctl(ep3, EPOLL_CTL_ADD, v2[1], &wev);
    show("ET write end, empty pipe", epoll_wait(ep3, wout, 2, 0));
    show("ET write end, again", epoll_wait(ep3, wout, 2, 0));
    char fill[4096];
    memset(fill, 'f', sizeof fill);
    long total = 0, w;
    while ((w = write(v2[1], fill, sizeof fill)) > 0)
        total += w;
    printf("filled: %ld\n", total);
    show("ET write end, full", epoll_wait(ep3, wout, 2, 0));
    read(v2[0], fill, 10);
    show("ET write end, 10 bytes read (no page freed)", epoll_wait(ep3, wout, 2, 0));
    read(v2[0], fill, 4086);
    show("ET write end, a page freed", epoll_wait(ep3, wout, 2, 0));
    struct pollfd epp = {ep3, POLLIN | POLLOUT, 0};
    n = poll(&epp, 1, 0);
    show_events("poll on an epoll fd", n, epp.revents);
    return 0;
}

/* More unread pipe bytes (17 MiB) than a saved state holds: SAVE must fail cleanly, and the program go on. */
static int overfull_mode(void)
{
    static char chunk[65536];
    memset(chunk, 'o', sizeof chunk);
    long total = 0, w;
    for (int i = 0; i < 17; i++) {
        int p[2];
        pipe2(p, O_NONBLOCK);
        fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
        while ((w = write(p[1], chunk, sizeof chunk)) > 0)
            total += w;
    }
    printf("buffered %ld bytes\n", total);
    fflush(stdout);
    long r = SAVE();
    printf("SAVE: %s\n", r == -ENOSYS ? "not under ScratchVM" : r == -EIO ? "refused with EIO" : "unexpected");
    return 0;
}

/*
 * Pipes grown to 1 MiB until the 64 MiB an unprivileged user may hold (pipe-user-pages-soft):
 * under ScratchVM the guest is unprivileged; natively root is not limited.
 */
static int budget_mode(void)
{
    int grown = 0, p[2], first[2] = {-1, -1};
    long r;
    while (grown < 200) {
        pipe(p);
        if (first[0] < 0) {
            first[0] = p[0];
            first[1] = p[1];
        }
        r = fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
        if (r < 0)
            break;
        grown++;
    }
    printf("grown to 1 MiB: %d pipes, then %s\n", grown, r < 0 ? strerror(errno) : "no limit");
    printf("the next pipe holds %d bytes\n", fcntl(p[0], F_GETPIPE_SZ));
    close(first[0]);
    close(first[1]);
    printf("with one pipe closed: %ld\n", (long)fcntl(p[1], F_SETPIPE_SZ, 1 << 20));
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1 && strcmp(argv[1], "pause") == 0)
        return pause_mode();
    if (argc > 1 && strcmp(argv[1], "stdin") == 0)
        return stdin_mode();
    if (argc > 1 && strcmp(argv[1], "budget") == 0)
        return budget_mode();
    if (argc > 1 && strcmp(argv[1], "overfull") == 0)
        return overfull_mode();
    if (argc > 1 && strcmp(argv[1], "edges") == 0)
        return edges_mode();
    if (argc > 2 && strcmp(argv[1], "block") == 0)
        return block_mode(argv[2]);
    pipes();
    eventfds();
    timerfds();
    multiplexing();
    if (across_save() != 0)
        return 1;
    printf("fdwait: %s (%d failures)\n", failures ? "FAILED" : "all ok", failures);
    return failures != 0;
}
