/*
 * A regular file mapped MAP_SHARED: stores through the mapping are the file's bytes (read(2)
 * sees them at once), write(2) shows through the mapping, msync, munmap and mapping again,
 * a mapping that outlives its descriptor, mremap, and anonymous memory put back by munmap.
 * One line per check; the output is the same natively (SAVE returns -ENOSYS) and across a
 * save and restore, which happens while the file is mapped. Exit 0 iff all passed.
 * Modes:
 *   mapshared                      the checks, on ./shared.dat (created)
 *   mapshared peek FILE OFF LEN    prints LEN bytes of FILE at OFF as a string (another process's view)
 *   mapshared poke FILE OFF TEXT   writes TEXT into FILE at OFF with pwrite
 *   mapshared pingpong FILE        maps FILE (at least 2 pages) shared, stores "guest wrote this" at 0,
 *                                  SAVE()s (the test looks at the file and writes "host wrote this"
 *                                  at 4096 meanwhile), then checks that through the mapping and
 *                                  answers "guest saw host" at 100; prints nothing; exit 0 iff seen
 *   mapshared pastend              maps two pages of a one-page file and stores into the second:
 *                                  killed by SIGBUS, as on Linux
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scratchvm.h"

#define PAGE 4096
#define PAGES 4

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

static int read_is(int fd, off_t at, const char *want)
{
    char buf[256];
    size_t n = strlen(want);
    return pread(fd, buf, n, at) == (ssize_t)n && memcmp(buf, want, n) == 0;
}

static int peek(const char *file, long off, long len)
{
    char buf[4096];
    int fd = open(file, O_RDONLY);
    if (fd < 0 || len > (long)sizeof buf)
        return 2;
    ssize_t n = pread(fd, buf, len, off);
    if (n < 0)
        return 2;
    for (ssize_t i = 0; i < n; i++)
        putchar(buf[i] ? buf[i] : '.');
    putchar('\n');
    return 0;
}

static int poke(const char *file, long off, const char *text)
{
    int fd = open(file, O_WRONLY);
    return fd >= 0 && pwrite(fd, text, strlen(text), off) == (ssize_t)strlen(text) ? 0 : 2;
}

static int pingpong(const char *file)
{
    int fd = open(file, O_RDWR);
    if (fd < 0)
        return 2;
    char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return 3;
    close(fd); /* the mapping keeps the file */
    strcpy(p, "guest wrote this");
    SAVE();
    if (memcmp(p + PAGE, "host wrote this", 15) != 0)
        return 4;
    strcpy(p + 100, "guest saw host");
    return 0;
}

static int pastend(void)
{
    int fd = open("pastend.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, PAGE) != 0)
        return 2;
    char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return 3;
    printf("storing past the end\n");
    fflush(stdout);
    p[PAGE] = 1;
    printf("stored\n");
    return 0;
}

static char buf_maps[512];

/* The /proc/self/maps line of the mapping starting at p. */
static int maps_line_for(void *p, char *line, size_t size)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    char start[32];
    snprintf(start, sizeof start, "%08lx-", (unsigned long)p); /* Linux pads to 8 digits */
    int found = 0;
    while (!found && fgets(line, size, f))
        found = strncmp(line, start, strlen(start)) == 0;
    fclose(f);
    return found;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "peek") == 0)
        return peek(argv[2], atol(argv[3]), atol(argv[4]));
    if (argc == 5 && strcmp(argv[1], "poke") == 0)
        return poke(argv[2], atol(argv[3]), argv[4]);
    if (argc == 3 && strcmp(argv[1], "pingpong") == 0)
        return pingpong(argv[2]);
    if (argc == 2 && strcmp(argv[1], "pastend") == 0)
        return pastend();

    setvbuf(stdout, NULL, _IONBF, 0); /* lines written before the save are out before it */
    int fd = open("shared.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && ftruncate(fd, PAGES * PAGE) == 0, "create a file of %d pages", PAGES);

    char *p = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED, "mmap MAP_SHARED read/write");
    if (p == MAP_FAILED)
        return 1;
    CHECK(p[0] == 0 && p[PAGES * PAGE - 1] == 0, "a new file maps as zeros");

    strcpy(p + 10, "stored through the mapping");
    CHECK(read_is(fd, 10, "stored through the mapping"), "pread sees a store through the mapping");
    CHECK(pwrite(fd, "written with pwrite", 19, PAGE + 5) == 19 && memcmp(p + PAGE + 5, "written with pwrite", 19) == 0,
          "the mapping sees pwrite");
    CHECK(lseek(fd, 2 * PAGE, SEEK_SET) == 2 * PAGE && write(fd, "written with write", 18) == 18
              && memcmp(p + 2 * PAGE, "written with write", 18) == 0,
          "the mapping sees write");
    CHECK(msync(p, PAGES * PAGE, MS_SYNC) == 0, "msync MS_SYNC");
    CHECK(msync(p, PAGE, MS_ASYNC) == 0, "msync MS_ASYNC");
    CHECK(msync(p + 1, PAGE, MS_SYNC) == -1 && errno == EINVAL, "msync of an unaligned address: EINVAL");
    CHECK(msync(p, PAGE, MS_SYNC | MS_ASYNC) == -1 && errno == EINVAL, "msync with MS_SYNC|MS_ASYNC: EINVAL");

    int ro = open("shared.dat", O_RDONLY);
    errno = 0;
    CHECK(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED && errno == EACCES,
          "writable shared mapping of a read-only descriptor: EACCES");
    char *r = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
    CHECK(r != MAP_FAILED && strcmp(r + 10, "stored through the mapping") == 0, "read-only shared mapping sees the file");
    p[11] = 'T';
    CHECK(r != MAP_FAILED && r[11] == 'T', "two shared mappings of one file see each other's stores");
    errno = 0;
    CHECK(read(ro, r, 1) == -1 && errno == EFAULT, "read(2) into a read-only mapping: EFAULT");
    CHECK(munmap(r, PAGE) == 0, "munmap the read-only mapping");
    close(ro);

    /* Pages past the end of the file: the kernel refuses buffers there (a store would be SIGBUS). */
    char *past = mmap(NULL, (PAGES + 1) * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(past != MAP_FAILED, "map one page more than the file has");
    errno = 0;
    CHECK(write(fd, past + PAGES * PAGE, 8) == -1 && errno == EFAULT, "write(2) from past the end of the file: EFAULT");
    errno = 0;
    CHECK(open(past + PAGES * PAGE, O_RDONLY) == -1 && errno == EFAULT, "a path past the end of the file: EFAULT");
    errno = 0;
    CHECK(pread(fd, past + PAGES * PAGE, 8, 0) == -1 && errno == EFAULT, "pread(2) into past the end of the file: EFAULT");
    CHECK(munmap(past, (PAGES + 1) * PAGE) == 0, "munmap it");

    /* Unmap the middle page: it is anonymous memory again, the file keeps its bytes. */
    CHECK(munmap(p + PAGE, PAGE) == 0, "munmap one page in the middle");
    char *anon = mmap(p + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(anon == p + PAGE && anon[5] == 0, "an anonymous mapping in its place reads zero");
    strcpy(anon, "anonymous");
    CHECK(read_is(fd, PAGE + 5, "written with pwrite"), "a store there does not reach the file");
    CHECK(munmap(p, PAGES * PAGE) == 0, "munmap the rest");

    /* Map again, close the descriptor: the mapping keeps the file, and is saved with it. */
    p = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED && strcmp(p + 10, "sTored through the mapping") == 0 && strcmp(p + PAGE + 5, "written with pwrite") == 0,
          "mapped again, the file's bytes are there");
    if (p == MAP_FAILED)
        return 1;
    CHECK(close(fd) == 0, "close the descriptor, keep the mapping");
    CHECK(maps_line_for(p, buf_maps, sizeof buf_maps) && strstr(buf_maps, " rw-s 00000000 ") && strstr(buf_maps, "/shared.dat"),
          "/proc/self/maps shows it shared, with its file");
    strcpy(p + 3 * PAGE, "before the save");

    long saved = SAVE();
    CHECK(saved == 0 || saved == -ENOSYS, "SAVE");

    strcpy(p + 3 * PAGE + 100, "after the save");
    CHECK(strcmp(p + 3 * PAGE, "before the save") == 0, "the mapping still shows the bytes stored before the save");
    fd = open("shared.dat", O_RDWR);
    CHECK(read_is(fd, 3 * PAGE + 100, "after the save"), "pread sees a store made after the save");
    CHECK(pwrite(fd, "pwrite after the save", 21, 3 * PAGE + 200) == 21 && strcmp(p + 3 * PAGE + 200, "pwrite after the save") == 0,
          "the mapping sees a pwrite made after the save");

    /* mremap: grow the file and the mapping, then move it. */
    CHECK(ftruncate(fd, (PAGES + 2) * PAGE) == 0, "grow the file by two pages");
    char *q = mremap(p, PAGES * PAGE, (PAGES + 2) * PAGE, MREMAP_MAYMOVE);
    CHECK(q != MAP_FAILED && strcmp(q + 3 * PAGE, "before the save") == 0, "mremap keeps the mapped bytes");
    if (q == MAP_FAILED)
        return 1;
    strcpy(q + (PAGES + 1) * PAGE, "in a grown page");
    CHECK(read_is(fd, (PAGES + 1) * PAGE, "in a grown page"), "a store in the grown part reaches the file");
    CHECK(msync(q, (PAGES + 2) * PAGE, MS_SYNC) == 0 && munmap(q, (PAGES + 2) * PAGE) == 0, "msync and munmap");
    close(fd);

    fd = open("shared.dat", O_RDONLY);
    char buf[64] = {0};
    CHECK(pread(fd, buf, 15, 3 * PAGE) == 15 && strcmp(buf, "before the save") == 0, "the file holds the store made before the save");
    close(fd);
    printf("mapshared: %s (%d failures)\n", failures ? "FAILED" : "all ok", failures);
    return failures ? 1 : 0;
}
