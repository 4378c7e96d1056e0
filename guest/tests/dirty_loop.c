/*
 * For the snapshot benchmark.
 *   dirty_loop snap TOUCH_MIB DIRTY_KIB ROUNDS: writes TOUCH_MIB MiB, SAVE(), then ROUNDS
 *     times: rewrites the first DIRTY_KIB KiB of it (every byte changes) and SAVE().
 *   dirty_loop read COUNT: COUNT read(2)s of 64 bytes from /dev/zero into a guest buffer,
 *     the system call path where the VMM writes guest memory.
 * Prints only "done".
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scratchvm.h"

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "snap") == 0) {
        size_t touch = strtoul(argv[2], NULL, 10) << 20, dirty = strtoul(argv[3], NULL, 10) << 10;
        int rounds = atoi(argv[4]);
        if (dirty > touch)
            dirty = touch;
        uint64_t *p = malloc(touch);
        if (!p)
            return 1;
        for (size_t i = 0; i < touch / 8; i++)
            p[i] = i * 0x9E3779B97F4A7C15ULL + 1;
        SAVE();
        for (int r = 1; r <= rounds; r++) {
            for (size_t i = 0; i < dirty / 8; i++)
                p[i] = (i + (uint64_t)r * 0x10001) * 0x9E3779B97F4A7C15ULL + 1;
            SAVE();
        }
    } else if (argc == 3 && strcmp(argv[1], "read") == 0) {
        unsigned long n = strtoul(argv[2], NULL, 10);
        static char buf[64];
        int fd = open("/dev/zero", O_RDONLY);
        if (fd < 0)
            return 1;
        for (unsigned long i = 0; i < n; i++)
            if (read(fd, buf, sizeof buf) != sizeof buf)
                return 1;
    } else {
        fprintf(stderr, "usage: dirty_loop snap TOUCH_MIB DIRTY_KIB ROUNDS | read COUNT\n");
        return 2;
    }
    printf("done\n");
    return 0;
}
