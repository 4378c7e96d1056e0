/*
 * Guest page fault at address 0. The VMM must report the crash and exit with a
 * failure status; the line printed first must still reach stdout.
 */
#include <stdio.h>

int main(void)
{
    printf("about to crash\n");
    fflush(stdout);
    volatile int *p = 0;
    *p = 1;
    printf("not reached\n");
    return 0;
}
