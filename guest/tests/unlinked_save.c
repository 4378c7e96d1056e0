/*
 * SAVE() while a file is open but already deleted. argv[1] = file name (default
 * "scratch.tmp"), argv[2] = how many bytes of filler follow the first line (default 0).
 * The VMM carries a deleted file's bytes in the image up to a limit and refuses the save
 * above it; either way the program must carry on, in the restored VM or in the same one.
 * Prints what SAVE returned ("save refused" for a negative errno, "save not available"
 * natively), then checks the deleted file still holds its bytes, nameless, and takes more.
 * Exit 0 iff it does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scratchvm.h"

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "scratch.tmp";
    long filler = argc > 2 ? atol(argv[2]) : 0;
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "before\n", 7) != 7) {
        printf("setup failed (errno %d)\n", errno);
        return 1;
    }
    static char block[65536];
    memset(block, 'x', sizeof block);
    for (long left = filler; left > 0; ) {
        long n = left < (long) sizeof block ? left : (long) sizeof block;
        if (write(fd, block, n) != n) {
            printf("setup failed (errno %d)\n", errno);
            return 1;
        }
        left -= n;
    }
    if (unlink(name) != 0) {
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

    char head[8] = {0}, tail[8] = {0};
    struct stat st;
    int ok = write(fd, "after\n", 6) == 6 && pread(fd, head, 7, 0) == 7 && strcmp(head, "before\n") == 0 &&
             pread(fd, tail, 7, 7 + filler) == 6 && strcmp(tail, "after\n") == 0 &&
             fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == 13 + filler && S_ISREG(st.st_mode) &&
             access(name, F_OK) != 0;
    close(fd);
    printf("unlinked file %s\n", ok ? "still usable" : "BROKEN");
    return ok ? 0 : 1;
}
