/*
 * Copies stdin to stdout with raw read/write, handling short writes.
 * Checks stdin forwarding, EOF, and large pipes in both directions.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    static char buf[65536];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("read");
            return 1;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                perror("write");
                return 1;
            }
            off += w;
        }
    }
}
