/*
 * signalfd: a file that reads the blocked, pending signals of its mask as struct
 * signalfd_siginfo, readable for poll, select and epoll; SFD_NONBLOCK and SFD_CLOEXEC; a
 * new mask for an existing signalfd. Part-way it SAVEs with two signals pending, an
 * epoll set watching the signalfd and an alarm armed; after the restore they are read as
 * before. Prints one line per check, which must be what a native run prints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/time.h>
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

static void show(const char *label, const struct signalfd_siginfo *si)
{
    /* The pid only as set or not: a VM restored in a new VMM runs under that VMM's pid. */
    printf("%s: signo %u code %d pid %s uid %s int %d\n", label, si->ssi_signo, si->ssi_code,
           si->ssi_pid == 0 ? "0" : "set",
           si->ssi_uid == (unsigned)getuid() ? "self" : "other", si->ssi_int);
}

static int readable(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

int main(void)
{
    sigset_t block, one, two, alrm;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    two = one;
    sigaddset(&two, SIGUSR2);
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);

    int sfd = signalfd(-1, &one, SFD_NONBLOCK | SFD_CLOEXEC);
    check(sfd >= 0, "signalfd creates a file");
    check(fcntl(sfd, F_GETFD) == FD_CLOEXEC, "SFD_CLOEXEC sets close-on-exec");
    check((fcntl(sfd, F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_RDWR), "SFD_NONBLOCK: O_RDWR | O_NONBLOCK");
    struct signalfd_siginfo si[2];
    check(read(sfd, si, sizeof si[0]) == -1 && errno == EAGAIN, "nothing pending: EAGAIN");
    check(!readable(sfd, 0), "nothing pending: poll says not readable");
    check(signalfd(-1, &one, 0x40) == -1 && errno == EINVAL, "unknown flags: EINVAL");
    check(syscall(289, -1, &one, 4, 0) == -1 && errno == EINVAL, "a sigset size other than 8: EINVAL");
    check(signalfd(1, &one, 0) == -1 && errno == EINVAL, "an fd that is no signalfd: EINVAL");

    raise(SIGUSR1);
    check(readable(sfd, 0), "SIGUSR1 pending: poll says readable");
    check(read(sfd, si, 64) == -1 && errno == EINVAL, "a buffer smaller than one signalfd_siginfo: EINVAL");
    check(read(sfd, si, sizeof si) == sizeof si[0], "read takes the one pending signal");
    show("raise", &si[0]);
    check(si[0].ssi_pid == (unsigned)getpid(), "ssi_pid is the sender's: the program's own");
    sigset_t pending;
    sigpending(&pending);
    check(!sigismember(&pending, SIGUSR1), "and it is no longer pending");

    /* kill and sigqueue both queue for the process (raise's tgkill queues for the thread, read first on Linux). */
    kill(getpid(), SIGUSR2);
    check(!readable(sfd, 0), "SIGUSR2 is not in the mask");
    check(signalfd(sfd, &two, 0) == sfd, "a new mask for the same signalfd returns its fd");
    check(readable(sfd, 0), "now SIGUSR2 makes it readable");
    union sigval v = {.sival_int = 42};
    sigqueue(getpid(), SIGUSR1, v);
    check(read(sfd, si, sizeof si) == 2 * sizeof si[0], "one read takes both pending signals");
    show("first", &si[0]);
    show("second", &si[1]);

    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(sfd, &rd);
    struct timeval zero = {0, 0};
    check(select(sfd + 1, &rd, NULL, NULL, &zero) == 0, "select: not readable");
    raise(SIGUSR1);
    FD_SET(sfd, &rd);
    check(select(sfd + 1, &rd, NULL, NULL, &zero) == 1 && FD_ISSET(sfd, &rd), "select: readable with SIGUSR1 pending");

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out;
    check(epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) == 0, "epoll watches the signalfd");
    check(epoll_wait(ep, &out, 1, 0) == 1 && out.data.u32 == 7 && (out.events & EPOLLIN), "epoll: ready with SIGUSR1 pending");
    read(sfd, si, sizeof si);
    check(epoll_wait(ep, &out, 1, 0) == 0, "epoll: not ready once read");

    /* A blocking signalfd for SIGALRM, and an alarm that fires while read waits. */
    int blocking = signalfd(-1, &alrm, 0);
    struct itimerval t = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &t, NULL);
    check(read(blocking, si, sizeof si[0]) == sizeof si[0], "a blocking read waits for the alarm");
    show("alarm", &si[0]);

    /* Saved with two signals pending and an alarm armed. */
    kill(getpid(), SIGUSR2);
    sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 7});
    struct itimerval later = {{0, 0}, {0, 300000}};
    setitimer(ITIMER_REAL, &later, NULL);
    SAVE();
    check(readable(sfd, 0), "after the save: still readable");
    check(epoll_wait(ep, &out, 1, 1000) == 1 && out.data.u32 == 7, "after the save: epoll still reports it");
    check(read(sfd, si, sizeof si) == 2 * sizeof si[0], "after the save: both signals are read");
    show("saved first", &si[0]);
    show("saved second", &si[1]);
    check(!readable(sfd, 0), "and nothing is left");
    check(readable(blocking, 5000), "after the save: the alarm makes the blocking signalfd readable");
    check(read(blocking, si, sizeof si[0]) == sizeof si[0], "and it reads SIGALRM");
    show("saved alarm", &si[0]);
    close(ep);
    close(blocking);
    close(sfd);
    printf("sigfd: %d failures\n", failures);
    return failures != 0;
}
