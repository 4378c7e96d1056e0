/*
 * Faults on purpose, chosen by argv[1]; natively each ends in a signal, and
 * under ScratchVM the VMM must report it and exit with 128 + that signal.
 *   null   write through a NULL pointer            SIGSEGV
 *   wild   write far above any mapping             SIGSEGV
 *   low    write into the VMM's page tables (4 KiB) SIGSEGV
 *   stub   write into the system call stub page    SIGSEGV
 *   ud2    invalid opcode                          SIGILL
 *   div0   integer division by zero                SIGFPE
 *   abort  abort()                                 SIGABRT
 *   stack  unbounded recursion                     SIGSEGV
 * The line printed first must still reach stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int one = 1, zero;

static int recurse(volatile char *prev, int depth)
{
    volatile char frame[4096];
    if (depth < 0)
        return 0;
    frame[0] = (char)depth;
    frame[4095] = prev ? prev[0] : 0;
    return recurse(frame, depth + 1) + frame[100];
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "null";
    printf("faulting: %s\n", what);
    fflush(stdout);
    if (strcmp(what, "null") == 0)
        *(volatile int *)0 = 1;
    else if (strcmp(what, "wild") == 0)
        *(volatile int *)0xdeadbeef000UL = 1;
    else if (strcmp(what, "low") == 0)
        *(volatile int *)0x1000UL = 1;
    else if (strcmp(what, "stub") == 0)
        *(volatile int *)0x6000UL = 1;
    else if (strcmp(what, "ud2") == 0)
        __asm__ volatile("ud2");
    else if (strcmp(what, "div0") == 0)
        printf("%d\n", one / zero);
    else if (strcmp(what, "abort") == 0)
        abort();
    else if (strcmp(what, "stack") == 0)
        printf("%d\n", recurse(NULL, 0));
    printf("not reached\n");
    return 0;
}
