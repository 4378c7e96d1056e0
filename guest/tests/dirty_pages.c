/*
 * Changes memory between SAVE() calls in every way a diff snapshot must see.
 * argv[1] = steps (default 5), argv[2] = input file (default "input", at least
 * steps * 4096 bytes). Before SAVE() number i (i = 1..steps; SAVE 0 comes first):
 *  - the guest writes page guest[i % 4] with the byte 'A' + i (a guest write);
 *  - read(2) fills page vmm[i % 4] with block i-1 of the input (only the VMM writes it);
 *  - page zeroed[i - 1] (filled before SAVE 0) is cleared: non-zero -> zero;
 *  - an anonymous mmap page written before SAVE 0 is given back with
 *    madvise(MADV_DONTNEED) at step 1 (the VMM zeroes it: a write too).
 * Natively SAVE() fails with ENOSYS and the program just goes on. Prints one line at the end.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scratchvm.h"

#define PAGE 4096
#define MAX_STEPS 16

static char guest[4][PAGE] __attribute__((aligned(PAGE)));
static char vmm[4][PAGE] __attribute__((aligned(PAGE)));
static char zeroed[MAX_STEPS][PAGE] __attribute__((aligned(PAGE)));

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 5;
    const char *input = argc > 2 ? argv[2] : "input";
    if (steps < 1 || steps > MAX_STEPS) {
        fprintf(stderr, "usage: dirty_pages [steps 1..%d] [input]\n", MAX_STEPS);
        return 2;
    }
    int fd = open(input, O_RDONLY);
    if (fd < 0) {
        perror("open input");
        return 1;
    }
    for (int i = 0; i < MAX_STEPS; i++)
        memset(zeroed[i], 0x5a, PAGE);
    char *anon = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    memset(anon, 0x77, PAGE);
    SAVE();
    for (int i = 1; i <= steps; i++) {
        memset(guest[i % 4], 'A' + i, PAGE);
        if (read(fd, vmm[i % 4], PAGE) != PAGE) {
            perror("read");
            return 1;
        }
        memset(zeroed[i - 1], 0, PAGE);
        if (i == 1 && madvise(anon, PAGE, MADV_DONTNEED) != 0) {
            perror("madvise");
            return 1;
        }
        SAVE();
    }
    printf("dirty_pages: %d steps, anon[0]=%d\n", steps, anon[0]);
    return 0;
}
