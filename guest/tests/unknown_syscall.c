/* An unimplemented syscall must fail with ENOSYS, not kill the guest. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    errno = 0;
    long r = syscall(999);
    int e = errno;
    printf("syscall(999) = %ld errno=%d%s\n", r, e, e == ENOSYS ? " (ENOSYS)" : "");
    printf("still alive\n");
    return 0;
}
