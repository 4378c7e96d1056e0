/*
 * Guests that keep writing memory while they are migrated live.
 *   churn MIB PASSES     fills MIB MiB, then PASSES times rewrites every page of it (each pass
 *                        changes every word), checking the previous pass's words as it goes;
 *                        prints a checksum. Deterministic: a migrated run prints what an
 *                        uninterrupted one does, and a lost page shows as "mismatch".
 *   rate MIB KIBPS SECONDS  fills MIB MiB, then for SECONDS rewrites it at KIBPS KiB/s, page by
 *                        page, round and round; checks every word it overwrites; prints "done".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE 4096
#define WORDS (PAGE / 8)

static uint64_t value(size_t word, uint64_t pass)
{
    uint64_t h = word * 0x9E3779B97F4A7C15ULL ^ (pass + 1) * 0xff51afd7ed558ccdULL;
    return h ^ (h >> 29);
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Rewrites page p from pass-1's values to pass's; returns the number of words that were wrong. */
static long rewrite(uint64_t *m, size_t p, uint64_t pass)
{
    long bad = 0;
    for (size_t w = p * WORDS; w < (p + 1) * WORDS; w++) {
        if (m[w] != value(w, pass - 1))
            bad++;
        m[w] = value(w, pass);
    }
    return bad;
}

static uint64_t *fill(size_t pages)
{
    uint64_t *m = malloc(pages * PAGE);
    if (!m) {
        printf("out of memory\n");
        exit(1);
    }
    for (size_t w = 0; w < pages * WORDS; w++)
        m[w] = value(w, 0);
    return m;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "churn") == 0) {
        size_t pages = strtoul(argv[2], NULL, 10) << 8;
        long passes = atol(argv[3]), bad = 0;
        uint64_t *m = fill(pages);
        for (long pass = 1; pass <= passes; pass++)
            for (size_t p = 0; p < pages; p++)
                bad += rewrite(m, p, (uint64_t)pass);
        uint64_t h = 0;
        for (size_t w = 0; w < pages * WORDS; w++)
            h = (h ^ m[w]) * 0x100000001b3ULL;
        printf("%s checksum %016llx\n", bad ? "mismatch" : "ok", (unsigned long long)h);
        return bad != 0;
    }
    if (argc == 5 && strcmp(argv[1], "rate") == 0) {
        size_t pages = strtoul(argv[2], NULL, 10) << 8;
        double pages_per_ns = strtod(argv[3], NULL) * 1024 / PAGE / 1e9;
        long long seconds = atoll(argv[4]);
        uint64_t *m = fill(pages), *pass = calloc(pages, sizeof *pass);
        long long start = now_ns(), until = start + seconds * 1000000000LL;
        long bad = 0;
        size_t p = 0;
        for (long long written = 0;; ) {
            long long now = now_ns();
            if (now >= until)
                break;
            long long due = (long long)((now - start) * pages_per_ns);
            /* Catch up in small steps: at most 64 pages between two looks at the clock. */
            for (int i = 0; written < due && i < 64; i++, written++) {
                bad += rewrite(m, p, ++pass[p]);
                p = (p + 1) % pages;
            }
        }
        printf("%s\n", bad ? "mismatch" : "done");
        return bad != 0;
    }
    fprintf(stderr, "usage: live churn MIB PASSES | live rate MIB KIBPS SECONDS\n");
    return 2;
}
