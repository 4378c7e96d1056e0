/*
 * System calls given pointers into the lowest 2 MiB. A static binary is
 * linked far above them, so natively nothing is mapped there; under ScratchVM
 * that range holds the VMM's page tables, descriptor tables and entry stubs.
 * Every call must fail with EFAULT (14) and change nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static long result(long r)
{
    return r < 0 ? -errno : r;
}

int main(void)
{
    int fd = open("reserved_ptr.tmp", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789abcdef", 16);
    lseek(fd, 0, SEEK_SET);

    /* Reads from a file into the page tables (0x1000) and the stubs (0x6000). */
    printf("read into 0x1000: %ld\n", result(syscall(SYS_read, fd, (void *)0x1000UL, 16)));
    printf("read into 0x6000: %ld\n", result(syscall(SYS_read, fd, (void *)0x6000UL, 16)));
    printf("pread into 0x1ff000: %ld\n", result(syscall(SYS_pread64, fd, (void *)0x1ff000UL, 16, 0)));
    /* A buffer that starts below 2 MiB and ends above it. */
    printf("read across 0x200000: %ld\n", result(syscall(SYS_read, fd, (void *)0x1ffff8UL, 16)));
    /* Writes out of VMM memory would leak its contents. */
    printf("write from 0x1000: %ld\n", result(syscall(SYS_write, 1, (void *)0x1000UL, 16)));
    printf("write from 0x6000: %ld\n", result(syscall(SYS_write, 1, (void *)0x6000UL, 16)));
    struct iovec iov = {(void *)0x4000UL, 16};
    printf("writev from 0x4000: %ld\n", result(syscall(SYS_writev, 1, &iov, 1)));
    printf("open path at 0x6000: %ld\n", result(syscall(SYS_open, (char *)0x6000UL, O_RDONLY)));
    printf("clock_gettime into 0x1000: %ld\n",
           result(syscall(SYS_clock_gettime, CLOCK_REALTIME, (void *)0x1000UL)));
    printf("fstat into 0x2000: %ld\n", result(syscall(SYS_fstat, fd, (void *)0x2000UL)));

    char buf[17] = {0};
    printf("file offset still 0: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    printf("read back: %ld %s\n", (long)read(fd, buf, 16), buf);
    close(fd);
    unlink("reserved_ptr.tmp");
    printf("still alive\n");
    return 0;
}
