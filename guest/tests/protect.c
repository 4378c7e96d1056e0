/*
 * Memory protections as Linux enforces them through the page tables, compared line for line
 * with a native run: a PROT_NONE page read (SEGV_ACCERR at si_addr; the handler makes it
 * readable and the read goes on), a write to a PROT_READ page, a jump into an unmapped page
 * (SEGV_MAPERR, siglongjmp out), code in a page without PROT_EXEC, write(2) from a PROT_NONE
 * buffer and read(2) into a PROT_READ one (EFAULT), mprotect and munmap of part of a mapping,
 * MAP_FIXED over a PROT_NONE mapping, mremap, and the heap given back by brk.
 * With argv[1] = "save", the mappings are set up, SAVE() is called, and every check runs
 * after it: in a restored VM, on pages whose protections came from the saved mappings.
 * With argv[1] = "die", a PROT_NONE page is read without a handler: killed by SIGSEGV.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "scratchvm.h"

#define PAGE 4096L

static sigjmp_buf escape;
static volatile int faults, code;
static void *volatile addr;
static char *volatile reprotect; /* when set, the handler makes this page readable and returns */
static int failed;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        failed = 1;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    faults++;
    code = si->si_code;
    addr = si->si_addr;
    if (reprotect) {
        mprotect(reprotect, PAGE, PROT_READ | PROT_WRITE);
        reprotect = 0;
        return;
    }
    siglongjmp(escape, 1);
}

static const char *code_name(int c)
{
    return c == SEGV_MAPERR ? "SEGV_MAPERR" : c == SEGV_ACCERR ? "SEGV_ACCERR" : "other";
}

/* Touches p (read or write) and reports the fault it took, if any. */
static void expect_fault(volatile char *p, int write, int want, const char *what)
{
    int before = faults;
    if (sigsetjmp(escape, 1) == 0) {
        if (write)
            *p = 1;
        else
            (void)*p;
    }
    char line[200];
    snprintf(line, sizeof line, "%s faults with %s at its address", what, code_name(want));
    check(faults == before + 1 && code == want && addr == (void *)p, line);
}

static void expect_access(volatile char *p, int write, const char *what)
{
    int before = faults;
    if (sigsetjmp(escape, 1) == 0) {
        if (write)
            *p = 7;
        else
            (void)*p;
    }
    check(faults == before, what);
}

static char *none, *ro, *gone, *data_page, *three, *holed, *fixed, *remapped;

static char *map(long pages, int prot)
{
    char *p = mmap(0, pages * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        _exit(2);
    }
    return p;
}

static void setup(void)
{
    none = map(1, PROT_READ | PROT_WRITE);
    strcpy(none, "kept behind PROT_NONE");
    (void)*(volatile char *)none; /* cached translations must not survive the mprotect */
    mprotect(none, PAGE, PROT_NONE);

    ro = map(1, PROT_READ | PROT_WRITE);
    ro[0] = 'r';
    mprotect(ro, PAGE, PROT_READ);

    data_page = map(1, PROT_READ | PROT_WRITE);
    data_page[0] = (char)0xc3;

    three = map(3, PROT_READ | PROT_WRITE);
    memset(three, 3, 3 * PAGE);
    mprotect(three + PAGE, PAGE, PROT_READ);

    holed = map(3, PROT_READ | PROT_WRITE);
    memset(holed, 4, 3 * PAGE);

    fixed = map(2, PROT_NONE);
    if (mmap(fixed, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != fixed)
        _exit(3);
    fixed[0] = 'f';

    remapped = map(1, PROT_READ);
    remapped = mremap(remapped, PAGE, 2 * PAGE, MREMAP_MAYMOVE);

    /* The holes last, so that no later mmap fills them. */
    char *code = map(3, PROT_READ | PROT_WRITE | PROT_EXEC);
    gone = code + PAGE;
    gone[0] = (char)0xc3; /* ret */
    ((void (*)(void))gone)();
    munmap(gone, PAGE);
    munmap(holed + PAGE, PAGE);
}

static void checks(void)
{
    reprotect = none;
    int before = faults;
    char first = *(volatile char *)none;
    check(faults == before + 1 && code == SEGV_ACCERR && addr == none,
          "reading a PROT_NONE page faults with SEGV_ACCERR at its address");
    check(first == 'k' && strcmp(none, "kept behind PROT_NONE") == 0,
          "after the handler's mprotect the read goes on and sees the page's bytes");

    expect_fault(ro, 1, SEGV_ACCERR, "a write to a PROT_READ page");
    check(ro[0] == 'r', "the PROT_READ page is still readable and unchanged");

    int jumped = faults;
    if (sigsetjmp(escape, 1) == 0)
        ((void (*)(void))gone)();
    check(faults == jumped + 1 && code == SEGV_MAPERR && addr == gone,
          "a jump into an unmapped page faults with SEGV_MAPERR at it, siglongjmp leaves the handler");

    int fetched = faults;
    if (sigsetjmp(escape, 1) == 0)
        ((void (*)(void))data_page)();
    check(faults == fetched + 1 && code == SEGV_ACCERR && addr == data_page,
          "code in a page without PROT_EXEC does not run (SEGV_ACCERR)");

    int fds[2];
    if (pipe(fds) != 0)
        _exit(4);
    mprotect(none, PAGE, PROT_NONE);
    errno = 0;
    long w = write(fds[1], none, 16);
    check(w == -1 && errno == EFAULT, "write(2) from a PROT_NONE buffer fails with EFAULT");
    errno = 0;
    w = write(fds[1], ro, 16);
    check(w == 16, "write(2) from a PROT_READ buffer works");
    errno = 0;
    long r = read(fds[0], ro, 16);
    check(r == -1 && errno == EFAULT, "read(2) into a PROT_READ buffer fails with EFAULT");
    errno = 0;
    w = write(fds[1], gone, 16);
    check(w == -1 && errno == EFAULT, "write(2) from an unmapped buffer fails with EFAULT");

    expect_access(three, 1, "the first page of a mapping whose middle is PROT_READ stays writable");
    expect_fault(three + PAGE, 1, SEGV_ACCERR, "a write to the PROT_READ middle page");
    expect_access(three + PAGE, 0, "the PROT_READ middle page is readable");
    expect_access(three + 2 * PAGE, 1, "the last page stays writable");

    expect_access(holed, 0, "the page before a munmap hole stays");
    expect_fault(holed + PAGE, 0, SEGV_MAPERR, "a read in the munmap hole");
    expect_access(holed + 2 * PAGE, 1, "the page after the hole stays");

    expect_access(fixed, 1, "MAP_FIXED read-write over a PROT_NONE mapping is writable");
    expect_fault(fixed + PAGE, 0, SEGV_ACCERR, "the PROT_NONE page next to it");

    expect_access(remapped + PAGE, 0, "mremap's new page is readable");
    expect_fault(remapped + PAGE, 1, SEGV_ACCERR, "mremap keeps PROT_READ: a write");

    errno = 0;
    check(mprotect(gone, PAGE, PROT_READ) == -1 && errno == ENOMEM, "mprotect of an unmapped page fails with ENOMEM");

    char *cur = (char *)syscall(SYS_brk, 0);
    char *top = (char *)(((uintptr_t)cur + PAGE - 1) & ~(PAGE - 1));
    char *grown = (char *)syscall(SYS_brk, top + 2 * PAGE);
    check(grown == top + 2 * PAGE, "brk grows by two pages");
    expect_access(top + PAGE, 1, "the grown heap is writable");
    syscall(SYS_brk, top);
    expect_fault(top + PAGE, 0, SEGV_MAPERR, "a read of the heap that brk gave back");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "die") == 0) {
        char *p = map(1, PROT_READ | PROT_WRITE);
        p[0] = 1;
        mprotect(p, PAGE, PROT_NONE);
        printf("reading PROT_NONE\n");
        fflush(stdout);
        return *(volatile char *)p;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, 0);

    int saving = argc > 1 && strcmp(argv[1], "save") == 0;
    setup();
    if (saving) {
        long s = SAVE();
        printf("save=%s\n", s == 0 ? "vm" : "native");
    }
    checks();
    printf(failed ? "protect FAILED\n" : "protect ok\n");
    return failed;
}
