/*
 * 48 MiB of heap: small brk-served blocks, several large (mmap-served) chunks
 * and one big realloc (mremap or copy). Fills everything with a pattern that
 * depends on chunk and offset, verifies it, and prints a checksum.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024UL * 1024UL)

static uint64_t pattern(unsigned chunk, size_t i)
{
    uint64_t x = ((uint64_t)chunk << 56) ^ (i * 0x9E3779B97F4A7C15ULL);
    return x ^ (x >> 29);
}

static void fill(uint64_t *p, size_t words, unsigned chunk, size_t from)
{
    for (size_t i = from; i < words; i++)
        p[i] = pattern(chunk, i);
}

/* Returns the index of the first bad word, or words if all are good. */
static size_t verify(const uint64_t *p, size_t words, unsigned chunk, uint64_t *sum)
{
    for (size_t i = 0; i < words; i++) {
        if (p[i] != pattern(chunk, i))
            return i;
        *sum = (*sum ^ p[i]) * 0x100000001B3ULL;
    }
    return words;
}

int main(void)
{
    /* 4 x 8 MiB + one 4 MiB chunk realloc'd to 16 MiB = 48 MiB. */
    enum { NCHUNK = 5 };
    size_t sizes[NCHUNK] = {8 * MiB, 8 * MiB, 8 * MiB, 8 * MiB, 4 * MiB};
    uint64_t *chunks[NCHUNK];
    int bad = 0;

    /* Many small blocks come from brk rather than mmap. */
    enum { NSMALL = 4096 };
    static unsigned char *small[NSMALL];
    for (int i = 0; i < NSMALL; i++) {
        small[i] = malloc(64 + i % 200);
        if (!small[i]) {
            printf("small malloc %d failed\n", i);
            return 1;
        }
        memset(small[i], i & 0xff, 64 + i % 200);
    }

    for (unsigned c = 0; c < NCHUNK; c++) {
        chunks[c] = malloc(sizes[c]);
        if (!chunks[c]) {
            printf("malloc chunk %u (%zu MiB) failed\n", c, sizes[c] / MiB);
            return 1;
        }
        fill(chunks[c], sizes[c] / 8, c, 0);
    }

    /* Growing keeps the old contents; the new tail is filled afterwards. */
    size_t old_words = sizes[4] / 8;
    sizes[4] = 16 * MiB;
    uint64_t *grown = realloc(chunks[4], sizes[4]);
    if (!grown) {
        printf("realloc to 16 MiB failed\n");
        return 1;
    }
    chunks[4] = grown;
    uint64_t dummy = 0;
    if (verify(grown, old_words, 4, &dummy) != old_words) {
        printf("realloc lost contents\n");
        bad = 1;
    }
    fill(grown, sizes[4] / 8, 4, old_words);

    size_t total = 0;
    uint64_t sum = 0xcbf29ce484222325ULL;
    for (unsigned c = 0; c < NCHUNK; c++) {
        size_t words = sizes[c] / 8;
        size_t at = verify(chunks[c], words, c, &sum);
        if (at != words) {
            printf("chunk %u bad at word %zu\n", c, at);
            bad = 1;
        }
        total += sizes[c];
    }
    for (int i = 0; i < NSMALL; i++) {
        for (int j = 0; j < 64 + i % 200; j++) {
            if (small[i][j] != (i & 0xff)) {
                printf("small block %d bad at %d\n", i, j);
                bad = 1;
                break;
            }
        }
        free(small[i]);
    }
    for (unsigned c = 0; c < NCHUNK; c++)
        free(chunks[c]);

    printf("heap %s %zu MiB checksum=%016llx\n", bad ? "BAD" : "ok", total / MiB,
           (unsigned long long)sum);
    return bad;
}
