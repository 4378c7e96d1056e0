/*
 * Memory-management syscalls used directly: anonymous mmap, munmap, mremap
 * (grow, may move), mprotect, MAP_FIXED replacement, and brk.
 * Exit status 0 iff every check passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

int main(void)
{
    const size_t page = 4096;
    const size_t len = 64 * page;

    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(p != MAP_FAILED, "mmap 256 KiB anonymous");
    if (p == MAP_FAILED)
        return 1;
    check(((uintptr_t)p & (page - 1)) == 0, "mmap result page aligned");
    check(all_bytes(p, len, 0), "fresh anonymous memory is zero");
    memset(p, 0x5a, len);

    /* Unmapping a hole in the middle leaves both sides intact. */
    check(munmap(p + 8 * page, 8 * page) == 0, "munmap middle 8 pages");
    check(all_bytes(p, 8 * page, 0x5a) && all_bytes(p + 16 * page, len - 16 * page, 0x5a),
          "memory around the hole kept");

    /* MAP_FIXED into the hole gives zeroed pages again. */
    void *f = mmap(p + 8 * page, 8 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check(f == p + 8 * page, "MAP_FIXED into the hole");
    check(all_bytes(p + 8 * page, 8 * page, 0), "MAP_FIXED pages are zero");

    /* mremap may move; contents must follow. */
    unsigned char *q = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
    check(q != MAP_FAILED, "mmap 4 pages");
    memset(q, 0x33, 4 * page);
    unsigned char *g = mremap(q, 4 * page, 256 * page, MREMAP_MAYMOVE);
    check(g != MAP_FAILED, "mremap grow to 1 MiB");
    if (g != MAP_FAILED) {
        check(all_bytes(g, 4 * page, 0x33), "mremap kept contents");
        check(all_bytes(g + 4 * page, 252 * page, 0), "mremap new tail is zero");
        unsigned char *s = mremap(g, 256 * page, 2 * page, 0);
        check(s == g, "mremap shrink in place");
        check(munmap(s, 2 * page) == 0, "munmap remapped");
    }

    /* mprotect to read-only and back; reading must still work. */
    check(mprotect(p, 4 * page, PROT_READ) == 0, "mprotect PROT_READ");
    check(all_bytes(p, 4 * page, 0x5a), "read-only pages readable");
    check(mprotect(p, 4 * page, PROT_READ | PROT_WRITE) == 0, "mprotect back to RW");
    p[0] = 1;
    check(p[0] == 1, "writable again");

    check(munmap(p, len) == 0, "munmap all");
    check(munmap(p, len) == 0, "munmap unmapped range is not an error");
    errno = 0;
    check(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED &&
              errno == EINVAL,
          "mmap length 0 -> EINVAL");

    /*
     * brk through the raw syscall: musl's sbrk() refuses non-zero increments.
     * The syscall returns the new break, or the old one if it could not move.
     */
    uintptr_t b0 = (uintptr_t)syscall(SYS_brk, 0);
    uintptr_t b1 = (uintptr_t)syscall(SYS_brk, b0 + (1 << 20));
    check(b0 != 0 && b1 == b0 + (1 << 20), "brk grow 1 MiB");
    if (b1 == b0 + (1 << 20)) {
        check(all_bytes((unsigned char *)b0, 1 << 20, 0), "new brk memory is zero");
        memset((void *)b0, 0x77, 1 << 20);
        check((uintptr_t)syscall(SYS_brk, 0) == b1, "brk(0) reports the new break");
        check((uintptr_t)syscall(SYS_brk, b0) == b0, "brk shrink");
    }

    printf("mmap %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
