/*
 * Lots of stdout through stdio: argv[1] lines (default 100000) of
 * "line N", then "done N". Exercises buffered writes (write or writev,
 * depending on the libc) far beyond one pipe buffer.
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    for (long i = 0; i < n; i++)
        printf("line %ld\n", i);
    printf("done %ld\n", n);
    return ferror(stdout) ? 1 : 0;
}
