/*
 * Metadata and whole-file calls with Linux's errno semantics: times, links, permissions,
 * owners, file system statistics, in-kernel copies, allocation, renameat2, prctl, truncate
 * and unlink's corner cases. Runs in ./meta_dir; output is deterministic (no times, inode
 * numbers or ids are printed), so a ScratchVM run must print exactly what a native run does.
 *   metadata                 the checks
 *   metadata sendfile FILE   copies FILE to standard output with sendfile alone
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

static int failures;

/* musl has no wrapper for it */
static int rename2(const char *from, const char *to, unsigned flags)
{
    return syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
}

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        failures++;
}

static int fails(int r, int err)
{
    return r == -1 && errno == err;
}

static int put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    int r = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
    close(fd);
    return r;
}

static const char *get(const char *path)
{
    static char buf[256];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    buf[n < 0 ? 0 : n] = 0;
    return buf;
}

static void clean(void)
{
    const char *names[] = {"a", "b", "c", "hard", "sym", "abs", "up", "dangling", "copy", "sent", "big", "x", "y"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char p[64];
        snprintf(p, sizeof p, "meta_dir/%s", names[i]);
        unlink(p);
    }
    rmdir("meta_dir/d");
    rmdir("meta_dir");
}

static int send_all(const char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return 1;
    for (off_t left = st.st_size; left > 0;) {
        ssize_t n = sendfile(1, fd, NULL, left);
        if (n <= 0)
            return 1;
        left -= n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "sendfile") == 0)
        return send_all(argv[2]);
    struct timespec *volatile wild = (struct timespec *)8;
    setvbuf(stdout, NULL, _IOLBF, 0);
    clean();
    umask(022);
    check(mkdir("meta_dir", 0755) == 0 && chdir("meta_dir") == 0, "mkdir and chdir meta_dir");
    check(put("a", "hello\n") == 0, "create a");
    struct stat st;

    /* times */
    struct timespec ts[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
    check(utimensat(AT_FDCWD, "a", ts, 0) == 0, "utimensat sets both times");
    check(stat("a", &st) == 0 && st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123456789
          && st.st_mtim.tv_sec == 1200000000 && st.st_mtim.tv_nsec == 987654321, "stat shows them to the nanosecond");
    struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    check(utimensat(AT_FDCWD, "a", omit_now, 0) == 0, "UTIME_OMIT atime, UTIME_NOW mtime");
    check(stat("a", &st) == 0 && st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec > 1600000000,
          "atime kept, mtime now");
    int fd = open("a", O_RDWR);
    check(futimens(fd, ts) == 0 && fstat(fd, &st) == 0 && st.st_mtim.tv_sec == 1200000000, "futimens");
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    errno = 0;
    check(fails(utimensat(AT_FDCWD, "a", bad, 0), EINVAL), "tv_nsec out of range: EINVAL");
    errno = 0;
    check(fails(utimensat(AT_FDCWD, "missing", NULL, 0), ENOENT), "utimensat missing: ENOENT");
    errno = 0;
    check(fails(syscall(SYS_utimensat, AT_FDCWD, "a", wild, 0), EFAULT), "utimensat wild times: EFAULT");
    errno = 0;
    check(fails(utimensat(AT_FDCWD, "a", NULL, 0x8000), EINVAL), "utimensat bad flags: EINVAL");
    struct timeval tv[2] = {{1100000000, 0}, {1100000000, 5}};
    check(utimes("a", tv) == 0 && stat("a", &st) == 0 && st.st_mtim.tv_sec == 1100000000, "utimes");
    /* the older calls themselves, which the C libraries no longer use */
    struct timeval tv2[2] = {{1110000000, 0}, {1120000000, 250000}};
    check(syscall(SYS_utimes, "a", tv2) == 0 && stat("a", &st) == 0 && st.st_mtim.tv_sec == 1120000000
          && st.st_mtim.tv_nsec == 250000000, "SYS_utimes, microseconds");
    struct timeval badtv[2] = {{0, 1000000}, {0, 0}};
    errno = 0;
    check(fails(syscall(SYS_utimes, "a", badtv), EINVAL), "SYS_utimes tv_usec out of range: EINVAL");
    long ub[2] = {1130000000, 1140000000};
    check(syscall(SYS_utime, "a", ub) == 0 && stat("a", &st) == 0 && st.st_atim.tv_sec == 1130000000
          && st.st_mtim.tv_sec == 1140000000 && st.st_mtim.tv_nsec == 0, "SYS_utime, seconds");
    check(syscall(SYS_futimesat, fd, NULL, tv) == 0 && fstat(fd, &st) == 0 && st.st_mtim.tv_sec == 1100000000,
          "SYS_futimesat on the fd itself");
    check(syscall(SYS_futimesat, AT_FDCWD, "a", NULL) == 0 && stat("a", &st) == 0 && st.st_mtim.tv_sec > 1600000000,
          "SYS_futimesat with NULL times: now");
    check(utimes("a", tv) == 0, "utimes back");

    /* symlinks: targets as stored, confinement by resolution */
    check(symlink("a", "sym") == 0, "symlink sym -> a");
    check(symlink("/etc/passwd", "abs") == 0, "symlink abs -> /etc/passwd");
    check(symlink("../../../../../../../../etc/passwd", "up") == 0, "symlink up -> ../../(...)/etc/passwd");
    check(symlink("nowhere", "dangling") == 0, "dangling symlink");
    errno = 0;
    check(fails(symlink("a", "sym"), EEXIST), "symlink over an existing name: EEXIST");
    char buf[256];
    ssize_t n = readlink("abs", buf, sizeof buf);
    check(n == 11 && memcmp(buf, "/etc/passwd", 11) == 0, "readlink returns the target as stored");
    n = readlink("sym", buf, 1);
    check(n == 1 && buf[0] == 'a', "readlink truncates to the buffer");
    errno = 0;
    check(fails(readlink("a", buf, sizeof buf), EINVAL), "readlink of a regular file: EINVAL");
    check(strcmp(get("sym"), "hello\n") == 0, "reading through sym");
    check(lstat("sym", &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 1, "lstat sym: a link of 1 byte");
    struct timespec lts[2] = {{1300000000, 0}, {1300000000, 0}};
    check(utimensat(AT_FDCWD, "sym", lts, AT_SYMLINK_NOFOLLOW) == 0 && lstat("sym", &st) == 0
          && st.st_mtim.tv_sec == 1300000000 && stat("a", &st) == 0 && st.st_mtim.tv_sec == 1100000000,
          "AT_SYMLINK_NOFOLLOW changes the link, not the file");
    errno = 0;
    check(fails(open("dangling", O_RDONLY), ENOENT), "open dangling: ENOENT");

    /* hard links */
    check(link("a", "hard") == 0 && stat("a", &st) == 0 && st.st_nlink == 2, "link: two names");
    errno = 0;
    check(fails(link("a", "hard"), EEXIST), "link over an existing name: EEXIST");
    errno = 0;
    check(fails(link("missing", "x"), ENOENT), "link of a missing file: ENOENT");
    check(mkdir("d", 0755) == 0, "mkdir d");
    errno = 0;
    check(fails(link("d", "x"), EPERM), "link of a directory: EPERM");
    check(linkat(AT_FDCWD, "sym", AT_FDCWD, "x", 0) == 0 && lstat("x", &st) == 0 && S_ISLNK(st.st_mode),
          "linkat without AT_SYMLINK_FOLLOW links the symlink");
    check(linkat(AT_FDCWD, "sym", AT_FDCWD, "y", AT_SYMLINK_FOLLOW) == 0 && lstat("y", &st) == 0
          && S_ISREG(st.st_mode) && st.st_nlink == 3, "with AT_SYMLINK_FOLLOW, the file");
    errno = 0;
    check(fails(linkat(AT_FDCWD, "a", AT_FDCWD, "c", 0x10000), EINVAL), "linkat bad flags: EINVAL");
    check(unlink("x") == 0 && unlink("y") == 0, "unlink the extra links");

    /* permissions and owners */
    check(chmod("a", 0600) == 0 && stat("a", &st) == 0 && (st.st_mode & 07777) == 0600, "chmod 0600");
    check(fchmod(fd, 0640) == 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0640, "fchmod 0640");
    check(fchmodat(AT_FDCWD, "sym", 0604, 0) == 0 && stat("a", &st) == 0 && (st.st_mode & 07777) == 0604,
          "fchmodat through a symlink changes the file");
    errno = 0;
    check(fails(chmod("missing", 0600), ENOENT), "chmod missing: ENOENT");
    check(chown("a", -1, -1) == 0, "chown to -1 -1 changes nothing");
    check(chown("a", getuid(), getgid()) == 0 && fchown(fd, -1, getgid()) == 0, "chown and fchown to oneself");
    check(lchown("sym", getuid(), -1) == 0, "lchown the link");
    check(fchownat(AT_FDCWD, "a", -1, -1, AT_SYMLINK_NOFOLLOW) == 0, "fchownat");
    errno = 0;
    if (getuid() != 0)
        check(fails(chown("a", 0, 0), EPERM), "chown to root: EPERM");
    else
        check(1, "chown to root: EPERM");
    gid_t groups[256];
    int ng = getgroups(0, NULL);
    check(ng >= 0 && getgroups(256, groups) == ng, "getgroups counts, then fills");
    errno = 0;
    check(ng == 0 || fails(getgroups(ng > 0 ? ng - 1 : 0, groups), EINVAL), "getgroups with too small a list: EINVAL");

    /* file system statistics */
    struct statfs sfs, fsfs;
    check(statfs(".", &sfs) == 0 && fstatfs(fd, &fsfs) == 0 && sfs.f_type == fsfs.f_type && sfs.f_bsize > 0,
          "statfs and fstatfs agree");
    errno = 0;
    check(fails(statfs("missing", &sfs), ENOENT), "statfs missing: ENOENT");

    /* in-kernel copies */
    int out = open("copy", O_RDWR | O_CREAT | O_TRUNC, 0644);
    off_t off = 1;
    check(sendfile(out, fd, &off, 4) == 4 && off == 5, "sendfile 4 bytes from offset 1, offset moves");
    check(lseek(fd, 0, SEEK_CUR) == 0, "the input's own offset stays");
    check(strcmp(get("copy"), "ello") == 0, "copy holds 'ello'");
    loff_t in_off = 0;
    check(copy_file_range(fd, &in_off, out, NULL, 6, 0) == 6 && in_off == 6, "copy_file_range 6 bytes");
    check(strcmp(get("copy"), "ellohello\n") == 0, "copy holds 'ellohello'");
    errno = 0;
    check(fails(copy_file_range(fd, NULL, out, NULL, 1, 1), EINVAL), "copy_file_range flags: EINVAL");
    int sent = open("sent", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    check(sendfile(sent, fd, NULL, 100) == 6 && lseek(fd, 0, SEEK_CUR) == 6, "sendfile without offset moves the input's");
    close(sent);
    errno = 0;
    check(fails(sendfile(out, 99, NULL, 1), EBADF), "sendfile from a closed fd: EBADF");

    /* allocation, advice and syncs */
    int big = open("big", O_RDWR | O_CREAT | O_TRUNC, 0644);
    check(fallocate(big, 0, 0, 65536) == 0 && fstat(big, &st) == 0 && st.st_size == 65536, "fallocate 64 KiB");
    check(fallocate(big, FALLOC_FL_KEEP_SIZE, 65536, 4096) == 0 && fstat(big, &st) == 0 && st.st_size == 65536,
          "fallocate KEEP_SIZE keeps the size");
    errno = 0;
    check(fails(fallocate(big, 0, 0, 0), EINVAL), "fallocate of 0 bytes: EINVAL");
    check(posix_fadvise(big, 0, 0, POSIX_FADV_SEQUENTIAL) == 0, "fadvise SEQUENTIAL");
    check(posix_fadvise(big, 0, 0, 99) == EINVAL, "fadvise unknown advice: EINVAL");
    check(fdatasync(big) == 0, "fdatasync");
    check(sync_file_range(big, 0, 4096, SYNC_FILE_RANGE_WRITE) == 0, "sync_file_range");
    errno = 0;
    check(fails(sync_file_range(big, 0, 4096, 0x100), EINVAL), "sync_file_range bad flags: EINVAL");
    close(big);

    /* truncate */
    check(truncate("copy", 4) == 0 && stat("copy", &st) == 0 && st.st_size == 4, "truncate to 4");
    check(ftruncate(out, 2) == 0 && fstat(out, &st) == 0 && st.st_size == 2, "ftruncate to 2");
    errno = 0;
    check(fails(truncate("copy", -1), EINVAL), "truncate negative: EINVAL");
    errno = 0;
    check(fails(truncate("d", 0), EISDIR), "truncate a directory: EISDIR");
    int ro = open("copy", O_RDONLY);
    errno = 0;
    check(fails(ftruncate(ro, 0), EINVAL), "ftruncate a read-only fd: EINVAL");
    close(ro);
    close(out);

    /* renameat2 */
    check(put("b", "bee\n") == 0 && put("c", "sea\n") == 0, "create b and c");
    errno = 0;
    check(fails(rename2("b", "c", RENAME_NOREPLACE), EEXIST), "RENAME_NOREPLACE onto c: EEXIST");
    check(rename2("b", "c", RENAME_EXCHANGE) == 0 && strcmp(get("b"), "sea\n") == 0
          && strcmp(get("c"), "bee\n") == 0, "RENAME_EXCHANGE swaps b and c");
    errno = 0;
    check(fails(rename2("b", "missing", RENAME_EXCHANGE), ENOENT), "exchange with nothing: ENOENT");
    errno = 0;
    check(fails(rename2("b", "c", RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL),
          "EXCHANGE with NOREPLACE: EINVAL");
    check(rename2("b", "x", RENAME_NOREPLACE) == 0 && rename("x", "b") == 0,
          "RENAME_NOREPLACE to a free name");

    /* prctl */
    char name[17] = {0};
    check(prctl(PR_GET_NAME, name) == 0 && strcmp(name, "metadata") == 0, "PR_GET_NAME: the program's name");
    check(prctl(PR_SET_NAME, "a-much-longer-name-than-fits") == 0, "PR_SET_NAME");
    memset(name, 'x', sizeof name);
    check(prctl(PR_GET_NAME, name) == 0 && strcmp(name, "a-much-longer-n") == 0, "cut to 15 bytes");
    check(prctl(PR_GET_DUMPABLE) == 1, "PR_GET_DUMPABLE: 1");
    check(prctl(PR_SET_DUMPABLE, 0) == 0 && prctl(PR_GET_DUMPABLE) == 0, "PR_SET_DUMPABLE 0");
    errno = 0;
    check(fails(prctl(PR_SET_DUMPABLE, 2), EINVAL), "PR_SET_DUMPABLE 2: EINVAL");
    check(prctl(PR_SET_DUMPABLE, 1) == 0, "dumpable again");
    errno = 0;
    check(fails(prctl(PR_GET_NAME, (char *)8), EFAULT), "PR_GET_NAME wild pointer: EFAULT");
    errno = 0;
    check(fails(prctl(12345), EINVAL), "unknown option: EINVAL");

    /* unlink's corner cases */
    errno = 0;
    check(fails(unlink("."), EISDIR), "unlink .: EISDIR");
    errno = 0;
    check(fails(unlink("d"), EISDIR), "unlink a directory: EISDIR");
    errno = 0;
    check(fails(unlink("d/"), EISDIR), "unlink d/: EISDIR");
    errno = 0;
    check(fails(unlink("a/"), ENOTDIR), "unlink a/: ENOTDIR");
    check(access("a", F_OK) == 0, "a is still there");
    errno = 0;
    check(fails(unlink("missing/"), ENOENT), "unlink missing/: ENOENT");
    errno = 0;
    check(fails(rmdir("."), EINVAL), "rmdir .: EINVAL");
    errno = 0;
    check(fails(rmdir("a"), ENOTDIR), "rmdir a file: ENOTDIR");
    check(unlink("sym") == 0 && access("a", F_OK) == 0, "unlink a symlink leaves its target");

    /* mknod: FIFOs and regular files */
    check(mknod("fifo", S_IFIFO | 0600, 0) == 0 && lstat("fifo", &st) == 0 && S_ISFIFO(st.st_mode)
          && (st.st_mode & 0777) == 0600, "mknod a FIFO");
    errno = 0;
    check(fails(mknod("fifo", S_IFIFO | 0600, 0), EEXIST), "mknod over an existing name: EEXIST");
    check(mknodat(AT_FDCWD, "plain", 0600, 0) == 0 && lstat("plain", &st) == 0 && S_ISREG(st.st_mode)
          && st.st_size == 0, "mknodat type 0: an empty regular file");
    check(mknod("plain2", S_IFREG | 0600, 0) == 0 && lstat("plain2", &st) == 0 && S_ISREG(st.st_mode), "mknod S_IFREG");
    errno = 0;
    check(fails(mknod("dir", S_IFDIR | 0700, 0), EPERM), "mknod a directory: EPERM");
    errno = 0;
    check(fails(mknod("bad", S_IFMT | 0600, 0), EINVAL), "mknod of an unknown type: EINVAL");
    errno = 0;
    check(fails(mknod("missing/x", S_IFIFO | 0600, 0), ENOENT), "mknod in a missing directory: ENOENT");
    check(unlink("fifo") == 0 && unlink("plain") == 0 && unlink("plain2") == 0, "unlink the nodes");

    close(fd);
    check(chdir("..") == 0, "chdir ..");
    clean();
    check(access("meta_dir", F_OK) == -1, "meta_dir removed");
    printf("metadata: %s (%d failures)\n", failures ? "FAILED" : "all ok", failures);
    return failures ? 1 : 0;
}
