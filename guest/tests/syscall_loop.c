/*
 * Syscall throughput for the benchmark: argv[1] = "write" or "getpid",
 * argv[2] = count. Prints only "done N".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "getpid") != 0)) {
        fprintf(stderr, "usage: syscall_loop write|getpid COUNT\n");
        return 2;
    }
    unsigned long n = strtoul(argv[2], NULL, 10);
    if (strcmp(argv[1], "write") == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd < 0) {
            perror("open /dev/null");
            return 1;
        }
        for (unsigned long i = 0; i < n; i++) {
            if (write(fd, "x", 1) != 1) {
                perror("write");
                return 1;
            }
        }
        close(fd);
    } else {
        /* syscall() rather than getpid(): some libcs cached the pid. */
        for (unsigned long i = 0; i < n; i++)
            syscall(SYS_getpid);
    }
    printf("done %lu\n", n);
    return 0;
}
