/*
 * A small, fixed sequence of system calls for the trace tests: the lab's
 * open/write/close of ./ay_caramba, one large allocation (served by mmap),
 * and one unknown system call. Prints nothing; exit status 0.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    int fd = open("./ay_caramba", O_RDWR | O_CREAT, 0777);
    write(fd, "Hello World !!!\n", 16);
    close(fd);

    /* Well above both libcs' mmap threshold. */
    volatile char *p = malloc(1 << 20);
    if (p)
        p[0] = 1;
    syscall(999);
    free((void *)p);
    return 0;
}
