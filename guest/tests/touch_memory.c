/*
 * argv[1] = MiB to allocate and write completely, then SAVE(), then verify.
 * Prints "ok". The benchmark uses it to measure saving a fully written heap.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "scratchvm.h"

/* Cheap to compute, different in every word, so no page is all zeros. */
static uint64_t word(size_t i)
{
    return (uint64_t)i * 0x9E3779B97F4A7C15ULL + 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: touch_memory MiB\n");
        return 2;
    }
    size_t mib = strtoul(argv[1], NULL, 10);
    size_t words = mib * 1024 * 1024 / 8;
    uint64_t *p = malloc(words * 8 + 8);
    if (!p) {
        printf("malloc %zu MiB failed\n", mib);
        return 1;
    }
    for (size_t i = 0; i < words; i++)
        p[i] = word(i);

    long r = SAVE();
    if (r != 0 && r != -38) {
        fprintf(stderr, "SAVE failed: %ld\n", r);
        return 1;
    }

    for (size_t i = 0; i < words; i++) {
        if (p[i] != word(i)) {
            printf("BAD at byte offset %zu\n", i * 8);
            return 1;
        }
    }
    printf("ok\n");
    return 0;
}
