/*
 * Open files across SAVE(): read and write offsets, O_APPEND (from open and
 * from fcntl F_SETFL), O_TRUNC that must not happen again, dup'd descriptors
 * sharing one offset, close-on-exec, and the working directory.
 * argv[1] = directory to create and work in (default "fds").
 * Everything observable happens through descriptors opened before the save;
 * one line per check, then the files' contents. The output is the same natively
 * (SAVE returns -ENOSYS) and across a save and restore. Exit 0 iff all passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scratchvm.h"

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

static int put(const char *name, const char *text)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The whole file, read through a new descriptor, printed on one line. */
static void show(const char *name)
{
    char buf[256];
    int fd = open(name, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n < 0) {
        printf("%s: unreadable (errno %d)\n", name, errno);
        return;
    }
    buf[n] = 0;
    printf("%s:", name);
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n')
            fputs("\\n", stdout);
        else
            putchar(buf[i]);
    }
    printf("\n");
}

static long offset(int fd)
{
    return (long)lseek(fd, 0, SEEK_CUR);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "fds";
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        printf("mkdir %s failed (errno %d)\n", dir, errno);
        return 1;
    }
    if (chdir(dir) != 0) {
        printf("chdir %s failed (errno %d)\n", dir, errno);
        return 1;
    }
    if (put("input.txt", "0123456789abcdef") != 0) {
        printf("cannot create input.txt (errno %d)\n", errno);
        return 1;
    }

    /* A reader part-way through its file. */
    char buf[64];
    int rd = open("input.txt", O_RDONLY);
    CHECK(read(rd, buf, 5) == 5 && memcmp(buf, "01234", 5) == 0, "read 5 bytes before the save");

    /* O_TRUNC empties the file once, at open; a restore must not empty it again. */
    int tr = open("trunc.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(write(tr, "part one\n", 9) == 9, "write part one");

    /* O_APPEND writes at the end whatever the offset says. */
    int ap = open("append.txt", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    CHECK(write(ap, "first\n", 6) == 6 && lseek(ap, 0, SEEK_SET) == 0, "append first, then seek to 0");

    /* O_APPEND switched on later with fcntl. */
    int fl = open("setfl.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(write(fl, "one\n", 4) == 4 && fcntl(fl, F_SETFL, O_APPEND) == 0 && lseek(fl, 0, SEEK_SET) == 0,
          "F_SETFL O_APPEND, then seek to 0");

    /* Three descriptors, one open file description: one shared offset. */
    int rw = open("rw.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int dp = dup(rw);
    int hi = dup2(rw, 50);
    CHECK(write(rw, "abcdefgh", 8) == 8 && lseek(rw, 3, SEEK_SET) == 3 && hi == 50, "rw.txt at offset 3, dup and dup2 50");

    /* Close-on-exec belongs to the descriptor, not to the file. */
    int ce = open("input.txt", O_RDONLY | O_CLOEXEC);
    CHECK(ce >= 0, "open with O_CLOEXEC");

    /* And a hole in the table that a new open must fill, as before the save. */
    int gap = open("input.txt", O_RDONLY);
    int after_gap = open("input.txt", O_RDONLY);
    close(gap);

    long r = SAVE();
    if (r != 0 && r != -38) {
        printf("SAVE failed: %ld\n", r);
        return 1;
    }

    memset(buf, 0, sizeof buf);
    CHECK(read(rd, buf, 5) == 5 && memcmp(buf, "56789", 5) == 0, "reader continues at offset 5 -> %.5s", buf);

    CHECK(write(tr, "part two\n", 9) == 9 && offset(tr) == 18, "part two written at offset 9");

    CHECK(write(ap, "second\n", 7) == 7, "append second");
    CHECK((fcntl(ap, F_GETFL) & O_APPEND) != 0, "O_APPEND still set on append.txt");

    CHECK(write(fl, "two\n", 4) == 4 && offset(fl) == 8, "F_SETFL O_APPEND survived: wrote at the end");

    CHECK(offset(rw) == 3 && offset(dp) == 3 && offset(50) == 3, "all three rw.txt descriptors at offset 3");
    CHECK(write(dp, "XY", 2) == 2, "write XY through the dup");
    CHECK(offset(rw) == 5 && offset(50) == 5, "the dup moved the shared offset to 5");
    CHECK(lseek(50, 0, SEEK_END) == 8 && offset(rw) == 8 && offset(dp) == 8, "seek through fd 50 moves all three");

    CHECK(fcntl(ce, F_GETFD) == FD_CLOEXEC, "O_CLOEXEC descriptor still close-on-exec");
    CHECK(fcntl(rd, F_GETFD) == 0, "other descriptor not close-on-exec");

    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL && strlen(cwd) > strlen(dir) &&
              strcmp(cwd + strlen(cwd) - strlen(dir), dir) == 0,
          "working directory still .../%s", dir);

    int fresh = open("input.txt", O_RDONLY);
    CHECK(fresh == gap && after_gap > gap, "a new descriptor fills the hole");

    close(rd);
    close(tr);
    close(ap);
    close(fl);
    close(rw);
    close(dp);
    close(50);
    close(ce);
    close(after_gap);
    close(fresh);

    show("trunc.txt");
    show("append.txt");
    show("setfl.txt");
    show("rw.txt");
    printf("fds_save: %s (%d failures)\n", failures ? "FAILED" : "all ok", failures);
    return failures ? 1 : 0;
}
