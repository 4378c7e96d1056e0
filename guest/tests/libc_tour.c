/*
 * A tour of everyday libc features in one static program, for comparison with a
 * native run: stdio on files and memory streams, number formatting and
 * parsing, libm, qsort, time formatting, setjmp/longjmp, atexit, locale, wide
 * characters, sysconf and limits, mkstemp, a large malloc and an anonymous mmap.
 * Prints only results that are the same on every run.
 */
#define _GNU_SOURCE
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

static jmp_buf jump;

static void goodbye(void)
{
    printf("atexit handler ran\n");
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    atexit(goodbye);
    printf("setlocale: %s\n", setlocale(LC_ALL, "") ? "ok" : "failed");
    printf("libm: %.10f %g %e %.6f\n", M_PI, sqrt(2.0), exp(10.5), atan2(1.0, 3.0));

    double v[200];
    for (int i = 0; i < 200; i++)
        v[i] = sin(i * 0.7) * 1000;
    qsort(v, 200, sizeof v[0], by_value);
    printf("qsort: min %.3f median %.3f max %.3f\n", v[0], v[100], v[199]);
    printf("strtod: %.17g %s\n", strtod("2.718281828459045235360", NULL), "ok");
    printf("strtoull: %llu\n", strtoull("18446744073709551615", NULL, 10));

    time_t t = 1700000000;
    struct tm tm;
    char text[128];
    gmtime_r(&t, &tm);
    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %A, day %j", &tm);
    printf("strftime: %s\n", text);

    volatile int jumps = 0;
    if (setjmp(jump) < 3) {
        jumps++;
        longjmp(jump, jumps + 1);
    }
    printf("longjmp: %d jumps\n", jumps);

    FILE *f = fopen("libc_tour.txt", "w+");
    for (int i = 0; i < 2000; i++)
        fprintf(f, "row %d %x\n", i, i * 7);
    rewind(f);
    long sum = 0;
    int a, b;
    char row[64];
    while (fgets(row, sizeof row, f) && sscanf(row, "row %d %x", &a, &b) == 2)
        sum += a + b;
    printf("fprintf/fgets/sscanf: sum %ld, ftell %ld\n", sum, ftell(f));
    fclose(f);
    unlink("libc_tour.txt");

    char *line = NULL;
    size_t cap = 0;
    FILE *m = fmemopen("first\nsecond\n", 13, "r");
    while (getline(&line, &cap, m) > 0)
        printf("fmemopen/getline: %s", line);
    fclose(m);
    free(line);

    wchar_t wide[32];
    printf("mbstowcs: %zu wide chars\n", mbstowcs(wide, "wide", 32));
    struct rlimit rl;
    printf("getrlimit(NOFILE): %s\n", getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 64 ? "ok" : "failed");
    printf("sysconf: pagesize %ld, cpus %s\n", sysconf(_SC_PAGESIZE), sysconf(_SC_NPROCESSORS_ONLN) > 0 ? "> 0" : "?");

    char name[] = "tourXXXXXX";
    int fd = mkstemp(name);
    printf("mkstemp: %s\n", fd >= 0 && write(fd, "x", 1) == 1 ? "ok" : "failed");
    close(fd);
    unlink(name);

    char *big = malloc(8 << 20);
    if (big)
        memset(big, 1, 8 << 20);
    printf("malloc 8 MiB: %s\n", big && big[(8 << 20) - 1] == 1 ? "ok" : "failed");
    free(big);
    void *p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap: %s\n", p != MAP_FAILED ? "ok" : "failed");
    return 0;
}
