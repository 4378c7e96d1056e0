/*
 * File locks as Linux gives them to one process: fcntl record locks (POSIX and OFD) and
 * flock. Output is deterministic, so a run in ScratchVM must print exactly what a native run
 * prints. Modes:
 *   locks                 the checks below, in ./locks_dir (one process: what it can see itself)
 *   locks probe FILE      prints how FILE looks to another process: F_OFD_GETLK over the whole file
 *                         for a write lock, and whether flock LOCK_EX|LOCK_NB succeeds
 *   locks hold FILE       takes a POSIX write lock on bytes 10-19 (through a write-only descriptor),
 *                         an OFD read lock on 100-EOF and a shared flock through two others, prints "holding", waits for a
 *                         line on stdin (a snapshot may be taken there), then prints how the
 *                         locks look from its other description and its prctl name and dumpable
 *                         flag (set before the wait)
 *   locks wait FILE       prints "waiting", blocks in F_SETLKW for a write lock on the whole file,
 *                         then prints "locked"
 *   locks flockwait FILE  the same with flock LOCK_EX
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        failures++;
}

static int setlk(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = whence, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

/* F_OFD_GETLK for a write lock on [start, start+len): the type found, or -1 on error. */
static int ofd_probe(int fd, off_t start, off_t len, struct flock *out)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
        return -1;
    if (out)
        *out = fl;
    return fl.l_type;
}

static const char *type_name(int t)
{
    return t == F_RDLCK ? "read" : t == F_WRLCK ? "write" : t == F_UNLCK ? "none" : "error";
}

static int checks(void)
{
    const char *dir = "locks_dir", *path = "locks_dir/data";
    unlink(path);
    rmdir(dir);
    check(mkdir(dir, 0755) == 0, "mkdir locks_dir");
    int a = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    int b = open(path, O_RDWR);
    check(a >= 0 && b >= 0, "two descriptions of one file");
    check(write(a, "0123456789abcdefghij", 20) == 20, "write 20 bytes");

    /* POSIX locks: the process's, shared by all its descriptors. */
    check(setlk(a, F_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0, "F_SETLK write 0-9 through a");
    check(setlk(b, F_SETLK, F_WRLCK, SEEK_SET, 5, 10) == 0, "F_SETLK write 5-14 through b (same process: no conflict)");
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    check(fcntl(a, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK, "F_GETLK ignores the process's own locks");
    struct flock seen;
    check(ofd_probe(b, 0, 0, &seen) == F_WRLCK && seen.l_start == 0 && seen.l_len == 15,
          "F_OFD_GETLK sees the merged POSIX lock 0-14");
    check(setlk(a, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "F_UNLCK whole file");
    check(ofd_probe(b, 0, 0, NULL) == F_UNLCK, "nothing locked after unlock");

    /* SEEK_CUR and SEEK_END ranges, negative lengths */
    check(lseek(a, 4, SEEK_SET) == 4, "lseek to 4");
    check(setlk(a, F_SETLK, F_RDLCK, SEEK_CUR, 2, 3) == 0, "F_SETLK read, SEEK_CUR+2, 3 bytes");
    check(ofd_probe(b, 0, 0, &seen) == F_RDLCK && seen.l_start == 6 && seen.l_len == 3, "lock is bytes 6-8");
    check(setlk(a, F_SETLK, F_WRLCK, SEEK_END, -5, 5) == 0, "F_SETLK write, SEEK_END-5, 5 bytes");
    check(ofd_probe(b, 10, 0, &seen) == F_WRLCK && seen.l_start == 15 && seen.l_len == 5, "lock is bytes 15-19");
    check(setlk(a, F_SETLK, F_RDLCK, SEEK_SET, 12, -2) == 0, "negative length locks the bytes before start");
    check(ofd_probe(b, 10, 3, &seen) == F_RDLCK && seen.l_start == 10 && seen.l_len == 2, "lock is bytes 10-11");

    /* A close of any descriptor of the file drops the process's POSIX locks on it. */
    int c = dup(b);
    close(c);
    check(ofd_probe(b, 0, 0, NULL) == F_UNLCK, "closing a dup drops the POSIX locks");
    check(setlk(a, F_SETLK, F_WRLCK, SEEK_SET, 0, 0) == 0, "F_SETLKW-free write lock again");
    int d = open(path, O_RDONLY);
    close(d);
    check(ofd_probe(b, 0, 0, NULL) == F_UNLCK, "closing another open of the file drops them too");

    /* OFD locks belong to the open file description: a and b conflict. */
    check(setlk(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0, "F_OFD_SETLK write 0-9 through a");
    errno = 0;
    check(setlk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1) == -1 && errno == EAGAIN, "b conflicts: EAGAIN");
    errno = 0;
    check(setlk(b, F_SETLK, F_RDLCK, SEEK_SET, 5, 1) == -1 && errno == EAGAIN, "a POSIX lock conflicts with it too");
    check(ofd_probe(b, 0, 0, &seen) == F_WRLCK && seen.l_pid == -1, "F_OFD_GETLK from b: write, l_pid -1");
    c = dup(a);
    close(c);
    check(ofd_probe(b, 0, 0, NULL) == F_WRLCK, "closing a dup keeps the OFD lock");
    errno = 0;
    struct flock bad = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_pid = 1};
    check(fcntl(b, F_OFD_SETLK, &bad) == -1 && errno == EINVAL, "F_OFD_SETLK with l_pid set: EINVAL");
    check(setlk(a, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "OFD unlock");

    /* flock: per open file description, whole file. */
    check(flock(a, LOCK_EX | LOCK_NB) == 0, "flock LOCK_EX through a");
    errno = 0;
    check(flock(b, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK, "flock LOCK_SH through b: EWOULDBLOCK");
    check(flock(a, LOCK_SH | LOCK_NB) == 0, "downgrade a to LOCK_SH");
    check(flock(b, LOCK_SH | LOCK_NB) == 0, "now b shares it");
    check(flock(a, LOCK_UN) == 0 && flock(b, LOCK_UN) == 0, "LOCK_UN both");
    check(flock(a, LOCK_EX) == 0, "blocking flock with nothing in the way");
    close(a);
    check(flock(b, LOCK_EX | LOCK_NB) == 0, "closing a released its flock");
    errno = 0;
    check(flock(b, 0) == -1 && errno == EINVAL, "flock with no operation: EINVAL");

    /* Calls that name the file by path open no descriptor of it, so its POSIX locks stay. */
    int p = open(path, O_RDONLY);
    check(setlk(b, F_SETLK, F_WRLCK, SEEK_SET, 0, 5) == 0, "F_SETLK write 0-4 through b");
    struct stat st;
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    check(stat(path, &st) == 0 && access(path, W_OK) == 0 && chmod(path, 0640) == 0
          && utimensat(AT_FDCWD, path, now, 0) == 0 && truncate(path, 20) == 0, "stat, access, chmod, utimensat, truncate");
    check(ofd_probe(p, 0, 0, &seen) == F_WRLCK && seen.l_start == 0 && seen.l_len == 5, "the POSIX lock is still there");
    close(p);
    p = open(path, O_RDONLY);
    check(ofd_probe(p, 0, 0, NULL) == F_UNLCK, "closing that other descriptor dropped it");
    close(p);

    /* errors */
    errno = 0;
    check(fcntl(b, F_SETLK, (struct flock *)8) == -1 && errno == EFAULT, "F_SETLK with a wild pointer: EFAULT");
    errno = 0;
    check(fcntl(b, F_GETLK, (struct flock *)8) == -1 && errno == EFAULT, "F_GETLK with a wild pointer: EFAULT");
    errno = 0;
    check(setlk(b, F_SETLK, 7, SEEK_SET, 0, 0) == -1 && errno == EINVAL, "bad l_type: EINVAL");
    errno = 0;
    check(setlk(b, F_SETLK, F_RDLCK, 9, 0, 0) == -1 && errno == EINVAL, "bad l_whence: EINVAL");
    int ro = open(path, O_RDONLY);
    errno = 0;
    check(setlk(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 0) == -1 && errno == EBADF, "write lock on a read-only fd: EBADF");
    close(ro);
    errno = 0;
    check(setlk(99, F_SETLK, F_WRLCK, SEEK_SET, 0, 0) == -1 && errno == EBADF, "closed fd: EBADF");
    errno = 0;
    check(flock(99, LOCK_EX) == -1 && errno == EBADF, "flock on a closed fd: EBADF");
    close(b);
    check(unlink(path) == 0 && rmdir(dir) == 0, "clean up");
    printf("locks: %s (%d failures)\n", failures ? "FAILED" : "all ok", failures);
    return failures ? 1 : 0;
}

static int probe(const char *path)
{
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        printf("open %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct flock fl, lower;
    for (off_t at = 0;; at = fl.l_start + fl.l_len) {
        /* F_OFD_GETLK reports some conflicting lock, not the first: narrow down to the lowest. */
        int t = ofd_probe(fd, at, 0, &fl);
        if (t == F_UNLCK)
            break;
        if (t < 0) {
            printf("F_OFD_GETLK failed: %s\n", strerror(errno));
            return 1;
        }
        while (fl.l_start > at) {
            int u = ofd_probe(fd, at, fl.l_start - at, &lower);
            if (u != F_RDLCK && u != F_WRLCK)
                break;
            fl = lower;
        }
        printf("%s lock at %lld, %lld bytes, %s\n", type_name(fl.l_type), (long long)fl.l_start,
               (long long)fl.l_len, fl.l_pid > 0 ? "of a process" : "of an open file description");
        if (fl.l_len == 0)
            break;
    }
    int r = flock(fd, LOCK_EX | LOCK_NB);
    printf("flock LOCK_EX: %s\n", r == 0 ? "granted" : strerror(errno));
    return 0;
}

static int hold(const char *path)
{
    /* The POSIX lock through a write-only descriptor: saving it must not drop the lock. */
    int a = open(path, O_WRONLY);
    int b = open(path, O_RDONLY);
    int c = open(path, O_RDWR);
    if (a < 0 || b < 0 || c < 0 || setlk(a, F_SETLK, F_WRLCK, SEEK_SET, 10, 10) < 0
        || setlk(c, F_OFD_SETLK, F_RDLCK, SEEK_SET, 100, 0) < 0 || flock(b, LOCK_SH | LOCK_NB) < 0) {
        printf("cannot lock %s: %s\n", path, strerror(errno));
        return 1;
    }
    prctl(PR_SET_NAME, "lock-holder");
    prctl(PR_SET_DUMPABLE, 0);
    printf("holding\n");
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return 1;
    /* b (the flock holder) is another description: from it the OFD and POSIX locks show. */
    struct flock fl;
    int w = ofd_probe(b, 0, 100, &fl);
    printf("then: %s lock at %lld, %lld bytes\n", type_name(w), (long long)fl.l_start, (long long)fl.l_len);
    w = ofd_probe(b, 20, 0, &fl);
    printf("then: %s lock at %lld, %lld bytes\n", type_name(w), (long long)fl.l_start, (long long)fl.l_len);
    errno = 0;
    int r = flock(c, LOCK_EX | LOCK_NB);
    printf("then: flock LOCK_EX through another description: %s\n", r == 0 ? "granted" : strerror(errno));
    char name[16];
    prctl(PR_GET_NAME, name);
    printf("then: named %s, dumpable %d\n", name, prctl(PR_GET_DUMPABLE));
    return 0;
}

static int wait_for(const char *path)
{
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return 1;
    printf("waiting\n");
    fflush(stdout);
    int r = setlk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 0);
    printf("F_SETLKW: %s\n", r == 0 ? "locked" : strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    fcntl(fd, F_GETLK, &fl);
    printf("F_GETLK from the holder: %s\n", type_name(fl.l_type));
    return r == 0 ? 0 : 1;
}

static int flock_wait_for(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 1;
    printf("waiting\n");
    fflush(stdout);
    int r = flock(fd, LOCK_EX);
    printf("flock LOCK_EX: %s\n", r == 0 ? "locked" : strerror(errno));
    return r == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "probe") == 0)
        return probe(argv[2]);
    if (argc == 3 && strcmp(argv[1], "hold") == 0)
        return hold(argv[2]);
    if (argc == 3 && strcmp(argv[1], "wait") == 0)
        return wait_for(argv[2]);
    if (argc == 3 && strcmp(argv[1], "flockwait") == 0)
        return flock_wait_for(argv[2]);
    return checks();
}
