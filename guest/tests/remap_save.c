/*
 * Memory given back after a restore must read as zero when taken again.
 * A restore may map the image's pages copy-on-write; dropping such a page the
 * way anonymous memory is dropped (MADV_DONTNEED) would bring back the image's
 * bytes instead of zeros. Fills an mmap'd region, a heap grown with brk and a
 * region later released with MADV_DONTNEED, saves, then gives each back and
 * checks it reads as zero. Prints one line per check; exit 0 iff all passed.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "scratchvm.h"

#define REGION (4u << 20)

static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int main(void)
{
    unsigned char *m = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *d = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || d == MAP_FAILED) {
        printf("mmap failed\n");
        return 1;
    }
    memset(m, 0xab, REGION);
    memset(d, 0xcd, REGION);
    uintptr_t brk0 = (uintptr_t)syscall(SYS_brk, 0);
    uintptr_t brk1 = (uintptr_t)syscall(SYS_brk, brk0 + REGION);
    if (brk1 != brk0 + REGION) {
        printf("brk failed\n");
        return 1;
    }
    memset((void *)brk0, 0xef, REGION);

    long r = SAVE();
    if (r != 0 && r != -38) {
        printf("SAVE failed: %ld\n", r);
        return 1;
    }

    check(m[0] == 0xab && m[REGION - 1] == 0xab, "mmap region kept its bytes");
    check(munmap(m, REGION) == 0, "munmap");
    unsigned char *m2 = mmap(m, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check(m2 == m && all_zero(m2, REGION), "mapped again at the same address: all zero");

    check(madvise(d, REGION, MADV_DONTNEED) == 0, "madvise MADV_DONTNEED");
    check(all_zero(d, REGION), "after MADV_DONTNEED: all zero");

    check(((unsigned char *)brk0)[0] == 0xef, "heap above the old break kept its bytes");
    check((uintptr_t)syscall(SYS_brk, brk0) == brk0, "break shrunk");
    check((uintptr_t)syscall(SYS_brk, brk0 + REGION) == brk0 + REGION, "break grown again");
    check(all_zero((unsigned char *)brk0, REGION), "grown heap: all zero");

    printf("remap_save %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
