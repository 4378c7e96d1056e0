/*
 * Leaves files behind whose contents show how the system calls behaved, for a
 * test to inspect on disk: offsets, O_TRUNC, O_APPEND, dup and dup2 sharing an
 * offset, pwrite past the end. Expects keep.txt, trunc.txt and append.txt to
 * exist already. Prints input.txt if present. Exit status 0 iff every call
 * succeeded.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int failures;

static void must(int ok, const char *what)
{
    if (!ok) {
        printf("FAIL %s\n", what);
        failures++;
    }
}

static void put(int fd, const char *s)
{
    must(write(fd, s, strlen(s)) == (ssize_t)strlen(s), s);
}

int main(void)
{
    /* Overwrite in the middle: seek, then write. */
    int a = open("offsets.txt", O_RDWR | O_CREAT | O_EXCL, 0640);
    must(a >= 0, "create offsets.txt");
    put(a, "0123456789");
    must(lseek(a, 2, SEEK_SET) == 2, "lseek");
    put(a, "AB");
    must(lseek(a, 0, SEEK_END) == 10, "lseek end");
    put(a, "\n");

    /* O_TRUNC empties the existing file first. */
    int t = open("trunc.txt", O_WRONLY | O_TRUNC);
    must(t >= 0, "open trunc.txt");
    put(t, "short\n");

    /* O_APPEND writes at the end even after a seek to 0. */
    int p = open("append.txt", O_WRONLY | O_APPEND);
    must(p >= 0, "open append.txt");
    must(lseek(p, 0, SEEK_SET) == 0, "lseek append");
    put(p, "appended\n");

    /* dup and dup2 share one offset with the original. */
    int d = open("dup.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(d >= 0, "create dup.txt");
    int d2 = dup(d);
    must(d2 > d, "dup");
    must(dup2(d, 20) == 20, "dup2");
    put(d, "one ");
    put(d2, "two ");
    put(20, "three\n");

    /* pwrite past the end leaves a hole and keeps the offset. */
    int h = open("hole.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
    must(h >= 0, "create hole.bin");
    put(h, "ab");
    must(pwrite(h, "yz", 2, 8) == 2, "pwrite");
    put(h, "cd");

    /* Three files open at once, none of them closed: exit must flush nothing extra. */
    int keep = open("keep.txt", O_RDONLY);
    must(keep >= 0, "open keep.txt");
    char buf[256];
    int in = open("input.txt", O_RDONLY);
    if (in >= 0) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n > 0)
            fwrite(buf, 1, (size_t)n, stdout);
        close(in);
    }
    printf("file_state %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
