/*
 * Thread-local storage across SAVE(): the C library keeps errno and its own
 * per-thread data at the FS segment base, and %fs:0 holds the thread pointer
 * itself (x86-64 TLS ABI, glibc and musl alike). A restored VM with a wrong FS
 * base faults or reads garbage on the first TLS access.
 * Prints the thread pointer before and after the save, so a test can compare it
 * with the saved FS base; then checks a __thread variable and errno.
 * Exit 0 iff all passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "scratchvm.h"

static __thread uint64_t tls_value = 0x1122334455667788ULL;
static __thread char tls_text[32] = "thread-local text";

static uint64_t thread_pointer(void)
{
    uint64_t tp;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
    return tp;
}

int main(void)
{
    uint64_t before = thread_pointer();
    tls_value ^= 0xffff;
    tls_text[0] = 'T';
    errno = 0;
    int bad = open("/no/such/file", O_RDONLY); /* errno lives in TLS */
    int saved_errno = errno;

    long r = SAVE();
    if (r != 0 && r != -38) {
        fprintf(stderr, "SAVE failed: %ld\n", r);
        return 1;
    }

    uint64_t after = thread_pointer();
    int errno_kept = bad == -1 && saved_errno == ENOENT && errno == ENOENT;
    int value_kept = tls_value == (0x1122334455667788ULL ^ 0xffff) && tls_text[0] == 'T';
    printf("thread pointer before 0x%llx\n", (unsigned long long)before);
    printf("thread pointer after 0x%llx\n", (unsigned long long)after);
    printf("errno %s\n", errno_kept ? "kept" : "LOST");
    printf("__thread variables %s: %s\n", value_kept ? "kept" : "LOST", tls_text);
    int ok = before == after && errno_kept && value_kept;
    printf("tls %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
