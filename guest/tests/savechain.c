/*
 * A chain of saves with open files in between.
 * argv[1] = number of SAVE() calls (default 3), argv[2] = output file
 * (default "chain.out"). One fd appends a line per step (O_APPEND); a second fd
 * ticks a progress marker in the header using only its own file offset; a third
 * reads each new line back sequentially. All three offsets must survive every
 * save, so a chain of restores leaves exactly the file a native run leaves.
 * Prints one summary line; exit status 0 iff everything matched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scratchvm.h"

#define HEADER_PREFIX "progress: "

static int fail(const char *what)
{
    printf("savechain FAILED: %s (errno=%d)\n", what, errno);
    return 1;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 3;
    const char *out = argc > 2 ? argv[2] : "chain.out";
    if (steps < 0 || steps > 1000) {
        fprintf(stderr, "usage: savechain [steps 0..1000] [file]\n");
        return 2;
    }

    /* Everything the file should end up holding, built alongside it. */
    size_t cap = 64 + (size_t)steps * 64;
    char *expect = malloc(cap);
    char *header = malloc(sizeof HEADER_PREFIX + steps + 1);
    if (!expect || !header)
        return fail("malloc");

    int app = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (app < 0)
        return fail("open append fd");
    /* "progress: " then one '.' per step, each later replaced by '#'. */
    size_t hlen = 0;
    hlen += (size_t)sprintf(header, "%s", HEADER_PREFIX);
    for (int i = 0; i < steps; i++)
        header[hlen++] = '.';
    header[hlen++] = '\n';
    if (write(app, header, hlen) != (ssize_t)hlen)
        return fail("write header");

    int tick = open(out, O_WRONLY);
    int rd = open(out, O_RDONLY);
    if (tick < 0 || rd < 0)
        return fail("open tick/read fds");
    if (lseek(tick, sizeof HEADER_PREFIX - 1, SEEK_SET) < 0 || lseek(rd, (off_t)hlen, SEEK_SET) < 0)
        return fail("lseek");

    for (int i = 1; i <= steps; i++) {
        long r = SAVE();
        if (r != 0 && r != -38) {
            fprintf(stderr, "SAVE %d failed: %ld\n", i, r);
            return 1;
        }

        char line[64];
        int len = snprintf(line, sizeof line, "step %d of %d\n", i, steps);
        if (write(app, line, (size_t)len) != len)
            return fail("append line");
        if (write(tick, "#", 1) != 1)
            return fail("tick");

        char back[64];
        if (read(rd, back, (size_t)len) != len || memcmp(back, line, (size_t)len) != 0)
            return fail("read back line");
    }

    /* Rebuild the expected content and compare with the whole file. */
    size_t elen = (size_t)sprintf(expect, "%s", HEADER_PREFIX);
    for (int i = 0; i < steps; i++)
        expect[elen++] = '#';
    expect[elen++] = '\n';
    for (int i = 1; i <= steps; i++)
        elen += (size_t)sprintf(expect + elen, "step %d of %d\n", i, steps);

    char *actual = malloc(elen + 1);
    if (!actual)
        return fail("malloc");
    ssize_t n = pread(rd, actual, elen + 1, 0);
    if (n != (ssize_t)elen || memcmp(actual, expect, elen) != 0)
        return fail("final content");
    char extra;
    if (read(rd, &extra, 1) != 0)
        return fail("reader not at end of file");

    close(app);
    close(tick);
    close(rd);
    printf("savechain: %d saves, %zu bytes ok\n", steps, elen);
    return 0;
}
