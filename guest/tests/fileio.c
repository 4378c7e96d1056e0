/*
 * File syscalls on files in the current directory, several fds open at once.
 * argv[1] is a prefix for the file names (default "fileio"), so concurrent
 * runs in one directory do not collide. Every check prints one line;
 * exit status 0 means all passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                          \
    do {                                                          \
        if (cond) {                                               \
            printf("ok   ");                                      \
        } else {                                                  \
            printf("FAIL ");                                      \
            failures++;                                           \
        }                                                         \
        printf(__VA_ARGS__);                                      \
        printf("\n");                                             \
    } while (0)

static char name_a[256], name_b[256], name_c[256];

static long file_size(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    return (long)st.st_size;
}

/* Reads exactly len bytes at offset via pread and compares with expect. */
static int pread_equals(int fd, off_t off, const char *expect)
{
    char buf[256];
    size_t len = strlen(expect);
    ssize_t n = pread(fd, buf, len, off);
    return n == (ssize_t)len && memcmp(buf, expect, len) == 0;
}

int main(int argc, char **argv)
{
    const char *prefix = argc > 1 ? argv[1] : "fileio";
    snprintf(name_a, sizeof name_a, "%s_a.txt", prefix);
    snprintf(name_b, sizeof name_b, "%s_b.txt", prefix);
    snprintf(name_c, sizeof name_c, "%s_c.txt", prefix);
    unlink(name_a);
    unlink(name_b);
    unlink(name_c);

    /* Three files open at once, each with its own offset. */
    int a = open(name_a, O_RDWR | O_CREAT | O_TRUNC, 0644);
    int b = open(name_b, O_RDWR | O_CREAT | O_TRUNC, 0644);
    int c = open(name_c, O_WRONLY | O_CREAT | O_APPEND, 0644);
    CHECK(a >= 0 && b >= 0 && c >= 0, "open three files");
    CHECK(a != b && b != c && a != c, "distinct fds");

    CHECK(write(a, "0123456789", 10) == 10, "write a");
    CHECK(write(b, "abcdef", 6) == 6, "write b");
    CHECK(write(a, "ABCDEFGHIJ", 10) == 10, "write a again");
    CHECK(file_size(a) == 20, "fstat a size=%ld", file_size(a));
    CHECK(file_size(b) == 6, "fstat b size=%ld", file_size(b));

    /* lseek + read, and the offset moves with the read. */
    char buf[64];
    CHECK(lseek(a, 5, SEEK_SET) == 5, "lseek a SEEK_SET 5");
    memset(buf, 0, sizeof buf);
    CHECK(read(a, buf, 7) == 7 && memcmp(buf, "56789AB", 7) == 0, "read a -> %.7s", buf);
    CHECK(lseek(a, 0, SEEK_CUR) == 12, "lseek a SEEK_CUR -> %ld", (long)lseek(a, 0, SEEK_CUR));
    CHECK(lseek(a, -3, SEEK_END) == 17, "lseek a SEEK_END -3");
    memset(buf, 0, sizeof buf);
    CHECK(read(a, buf, sizeof buf) == 3 && memcmp(buf, "HIJ", 3) == 0, "read a at end -> %s", buf);
    CHECK(read(a, buf, sizeof buf) == 0, "read a at EOF returns 0");

    /* pread/pwrite do not move the file offset. */
    CHECK(lseek(b, 2, SEEK_SET) == 2, "lseek b 2");
    CHECK(pwrite(b, "XY", 2, 4) == 2, "pwrite b at 4");
    CHECK(lseek(b, 0, SEEK_CUR) == 2, "pwrite kept offset");
    CHECK(pread_equals(b, 0, "abcdXY"), "pread b -> abcdXY");
    CHECK(lseek(b, 0, SEEK_CUR) == 2, "pread kept offset");
    CHECK(pwrite(b, "!", 1, 10) == 1, "pwrite past end");
    CHECK(file_size(b) == 11, "hole extends size=%ld", file_size(b));
    memset(buf, 'z', sizeof buf);
    CHECK(pread(b, buf, 4, 6) == 4 && memcmp(buf, "\0\0\0\0", 4) == 0, "hole reads as zeros");

    /* O_APPEND writes at the end whatever the offset. */
    CHECK(write(c, "first\n", 6) == 6, "append first");
    CHECK(lseek(c, 0, SEEK_SET) == 0, "lseek append fd to 0");
    CHECK(write(c, "second\n", 7) == 7, "append second");
    int cr = open(name_c, O_RDONLY);
    CHECK(cr >= 0, "reopen c read-only");
    CHECK(pread_equals(cr, 0, "first\nsecond\n"), "append order kept");
    CHECK(file_size(cr) == 13, "c size=%ld", file_size(cr));

    /* O_TRUNC empties an existing file. */
    int ct = open(name_c, O_WRONLY | O_TRUNC);
    CHECK(ct >= 0, "open c O_TRUNC");
    CHECK(file_size(cr) == 0, "c truncated size=%ld", file_size(cr));
    close(ct);

    /* dup shares the offset; dup2 replaces a chosen fd number. */
    int d = dup(a);
    CHECK(d >= 0 && d != a, "dup a");
    CHECK(lseek(a, 1, SEEK_SET) == 1, "lseek a 1");
    CHECK(lseek(d, 0, SEEK_CUR) == 1, "dup shares offset");
    memset(buf, 0, sizeof buf);
    CHECK(read(d, buf, 3) == 3 && memcmp(buf, "123", 3) == 0, "read via dup -> %.3s", buf);
    CHECK(lseek(a, 0, SEEK_CUR) == 4, "offset advanced for original");
    int target = 40;
    CHECK(dup2(b, target) == target, "dup2 b -> 40");
    CHECK(pread_equals(target, 0, "abcdXY"), "read through dup2 fd");
    CHECK(dup2(a, target) == target, "dup2 a -> 40 replaces");
    CHECK(pread_equals(target, 0, "01234"), "40 now refers to a");
    CHECK(close(target) == 0, "close 40");
    CHECK(close(target) == -1 && errno == EBADF, "close again -> EBADF");
    CHECK(close(d) == 0, "close dup");

    /* writev/readv: musl's stdio writes through writev. */
    struct iovec wv[3] = {{"io", 2}, {"vec", 3}, {"!\n", 2}};
    CHECK(lseek(b, 0, SEEK_SET) == 0, "lseek b 0");
    CHECK(writev(b, wv, 3) == 7, "writev b");
    char r1[3] = {0}, r2[5] = {0};
    struct iovec rv[2] = {{r1, 2}, {r2, 4}};
    CHECK(lseek(b, 0, SEEK_SET) == 0 && readv(b, rv, 2) == 6, "readv b");
    CHECK(memcmp(r1, "io", 2) == 0 && memcmp(r2, "vec!", 4) == 0, "readv -> %s|%s", r1, r2);

    /* ftruncate both shrinks and grows. */
    CHECK(ftruncate(a, 4) == 0, "ftruncate a 4");
    CHECK(file_size(a) == 4, "a size=%ld", file_size(a));
    CHECK(ftruncate(a, 100) == 0, "ftruncate a 100");
    CHECK(file_size(a) == 100, "a size=%ld", file_size(a));
    CHECK(pread_equals(a, 0, "0123"), "ftruncate kept prefix");

    /* Both open flavours, whichever one this libc uses for open(). */
    int o1 = (int)syscall(SYS_open, name_a, O_RDONLY);
    int o2 = (int)syscall(SYS_openat, AT_FDCWD, name_a, O_RDONLY);
    CHECK(o1 >= 0 && o2 >= 0, "SYS_open and SYS_openat");
    close(o1);
    close(o2);

    /* Errors come back as errno values, not crashes. */
    CHECK(read(12345, buf, 1) == -1 && errno == EBADF, "read bad fd -> EBADF");
    CHECK(open("no_such_file_here", O_RDONLY) == -1 && errno == ENOENT, "open missing -> ENOENT");
    CHECK(write(cr, "x", 1) == -1 && errno == EBADF, "write to read-only fd -> EBADF");

    close(a);
    close(b);
    close(c);
    close(cr);
    CHECK(unlink(name_a) == 0 && unlink(name_b) == 0 && unlink(name_c) == 0, "unlink all");
    CHECK(open(name_a, O_RDONLY) == -1 && errno == ENOENT, "unlinked file gone");
    CHECK(unlink(name_a) == -1 && errno == ENOENT, "unlink again -> ENOENT");

    printf("fileio: %s (%d failures)\n", failures ? "FAILED" : "all ok", failures);
    return failures ? 1 : 0;
}
