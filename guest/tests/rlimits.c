/*
 * Resource limits as an unprivileged Linux process has them: lowered freely, the soft limit
 * raised up to the hard one, the hard one never raised; RLIMIT_NOFILE bounds new descriptors.
 * Writes report.txt, asks for SAVE half-way, and checks the limits again after it. Lines that
 * start with "vm:" depend on who runs it (the VMM's initial limits, root's right to raise).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "scratchvm.h"

static FILE *out;

static void result(const char *label, long r) {
    if (r < 0) fprintf(out, "%s: -1 errno %d\n", label, errno);
    else fprintf(out, "%s: %ld\n", label, r);
}

static void show(const char *label, int resource) {
    struct rlimit l;
    if (getrlimit(resource, &l) != 0) fprintf(out, "%s: errno %d\n", label, errno);
    else fprintf(out, "%s: %lld %lld\n", label, (long long)l.rlim_cur, (long long)l.rlim_max);
}

/* The highest descriptor open() can give now; all of them closed again. */
static void highest_fd(const char *label) {
    int fds[2048], n = 0, fd;
    while (n < 2048 && (fd = open("/dev/null", O_RDONLY)) >= 0) fds[n++] = fd;
    fprintf(out, "%s: %d, then errno %d\n", label, n ? fds[n - 1] : -1, errno);
    while (n > 0) close(fds[--n]);
}

/* Root may raise a hard limit; an unprivileged process gets EPERM. Put back what root changed. */
static void raise_hard(int resource, rlim_t to) {
    struct rlimit before, l;
    getrlimit(resource, &before);
    l.rlim_cur = before.rlim_cur;
    l.rlim_max = to;
    int r = setrlimit(resource, &l);
    fprintf(out, "vm: raise hard %d to %lld: %d errno %d\n", resource, (long long)to, r, r ? errno : 0);
    if (r == 0) setrlimit(resource, &before);
}

int main(void) {
    out = fopen("report.txt", "w");
    if (!out) return 1;
    struct rlimit l, old;

    show("vm: initial nofile", RLIMIT_NOFILE);
    show("vm: initial as", RLIMIT_AS);
    show("vm: initial data", RLIMIT_DATA);
    show("vm: initial stack", RLIMIT_STACK);

    getrlimit(RLIMIT_NOFILE, &old);
    l.rlim_cur = 16;
    l.rlim_max = old.rlim_max;
    result("lower nofile soft to 16", setrlimit(RLIMIT_NOFILE, &l));
    highest_fd("open until full");
    result("dup2 to 16", dup2(0, 16));
    result("F_DUPFD from 16", fcntl(0, F_DUPFD, 16));
    result("dup2 to 15", dup2(0, 15));
    close(15);

    l.rlim_cur = 64;
    l.rlim_max = 32;
    result("soft above hard", setrlimit(RLIMIT_NOFILE, &l));
    l.rlim_cur = 16;
    l.rlim_max = 32;
    result("lower nofile hard to 32", setrlimit(RLIMIT_NOFILE, &l));
    show("nofile", RLIMIT_NOFILE);
    l.rlim_cur = 32;
    result("raise soft to the hard limit", syscall(SYS_setrlimit, RLIMIT_NOFILE, &l));
    show("nofile", RLIMIT_NOFILE);
    raise_hard(RLIMIT_NOFILE, 64);
    show("nofile", RLIMIT_NOFILE);

    struct rlimit set = {20, 32}, got = {0, 0};
    result("prlimit64 set and get", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &set, &got));
    fprintf(out, "prlimit64 old: %lld %lld\n", (long long)got.rlim_cur, (long long)got.rlim_max);
    result("prlimit64 get only", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &got));
    fprintf(out, "prlimit64 now: %lld %lld\n", (long long)got.rlim_cur, (long long)got.rlim_max);

    l.rlim_cur = 0;
    l.rlim_max = 0;
    result("core to 0", setrlimit(RLIMIT_CORE, &l));
    l.rlim_cur = 1 << 20;
    l.rlim_max = 1 << 20;
    result("stack to 1 MiB", setrlimit(RLIMIT_STACK, &l));
    result("getrlimit of resource 99", syscall(SYS_getrlimit, 99, &l));
    result("setrlimit of resource 99", syscall(SYS_setrlimit, 99, &l));
    result("setrlimit from a bad pointer", syscall(SYS_setrlimit, RLIMIT_CORE, (void *)8));
    result("getrlimit to a bad pointer", syscall(SYS_getrlimit, RLIMIT_CORE, (void *)8));

    fflush(out);
    SAVE();

    fprintf(out, "-- after save\n");
    show("nofile", RLIMIT_NOFILE);
    show("core", RLIMIT_CORE);
    show("stack", RLIMIT_STACK);
    highest_fd("open until full");
    raise_hard(RLIMIT_STACK, 2 << 20);
    raise_hard(RLIMIT_CORE, 1);
    l.rlim_cur = 0;
    l.rlim_max = 0;
    result("lower stack hard further", setrlimit(RLIMIT_STACK, &(struct rlimit){1 << 19, 1 << 19}));
    show("stack", RLIMIT_STACK);
    fclose(out);
    return 0;
}
