/*
 * Syscalls given pointers the guest does not own must fail with EFAULT (14)
 * instead of making the VMM read or write outside guest memory.
 *
 * Natively this needs stdout to be a pipe or a file: a write to /dev/null
 * never touches the buffer and so succeeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static long result(long r)
{
    return r < 0 ? -errno : r;
}

int main(void)
{
    long w = result(syscall(SYS_write, 1, (void *)0xdeadbeef000UL, 10));
    long r = result(syscall(SYS_read, 0, (void *)-4096L, 10));
    /* SYS_open does not exist on every arch, but this program is x86-64 only. */
    long o = result(syscall(SYS_open, (char *)0x10, O_RDONLY));
    printf("write: %ld\n", w);
    printf("read: %ld\n", r);
    printf("open: %ld\n", o);
    printf("still alive\n");
    return 0;
}
