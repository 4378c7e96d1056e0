/*
 * SAVE() while a file is open but already deleted and larger than an image may hold
 * (argv[2] bytes, default 2 MiB), or opened twice before the unlink (argv[3] "twice"):
 * the VMM must refuse to save, and the program must carry on with the file intact.
 * argv[1] = file name (default "scratch.tmp").
 * Prints what SAVE returned ("save refused" for a negative errno, "save not
 * available" natively), then checks the deleted file still works. Exit 0 iff it does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scratchvm.h"

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "scratch.tmp";
    long size = argc > 2 ? atol(argv[2]) : 2L << 20;
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int again = argc > 3 && strcmp(argv[3], "twice") == 0 ? open(name, O_RDONLY) : -2;
    if (fd < 0 || again == -1 || write(fd, "before\n", 7) != 7 || ftruncate(fd, size) != 0 || unlink(name) != 0) {
        printf("setup failed (errno %d)\n", errno);
        return 1;
    }

    long r = SAVE();
    if (r == -38)
        printf("save not available\n");
    else if (r < 0)
        printf("save refused: %ld\n", r);
    else
        printf("save returned %ld\n", r);

    char buf[32] = {0};
    int ok = pwrite(fd, "after\n", 6, 7) == 6 && pread(fd, buf, 13, 0) == 13 &&
             strcmp(buf, "before\nafter\n") == 0;
    close(fd);
    printf("unlinked file %s\n", ok ? "still usable" : "BROKEN");
    return ok && r < 0 ? 0 : 1;
}
