/*
 * A large, incompressible heap must survive SAVE() byte for byte.
 * argv[1] = MiB to allocate (default 40, at least 32).
 * Prints "heap ok <checksum>"; the checksum is the same natively and in a VM.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "scratchvm.h"

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 40;
    if (mib < 32)
        mib = 32;
    size_t words = mib * 1024 * 1024 / 8;
    uint64_t *p = malloc(words * 8);
    if (!p) {
        printf("malloc %zu MiB failed\n", mib);
        return 1;
    }

    uint64_t seed = 0x2545F4914F6CDD1DULL;
    for (size_t i = 0; i < words; i++)
        p[i] = xorshift64(&seed);

    long r = SAVE();
    if (r != 0 && r != -38) {
        fprintf(stderr, "SAVE failed: %ld\n", r);
        return 1;
    }

    seed = 0x2545F4914F6CDD1DULL;
    uint64_t sum = 0;
    for (size_t i = 0; i < words; i++) {
        uint64_t want = xorshift64(&seed);
        if (p[i] != want) {
            printf("heap BAD at byte offset %zu: %016llx != %016llx\n", i * 8,
                   (unsigned long long)p[i], (unsigned long long)want);
            return 1;
        }
        sum = (sum + p[i]) * 31 + (sum >> 17);
    }
    printf("heap ok %016llx\n", (unsigned long long)sum);
    return 0;
}
