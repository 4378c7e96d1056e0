/*
 * Tries file operations named on the command line and prints what happened,
 * one line each, so a test can check what a guest can reach:
 *   r:PATH  open read-only and print the first line
 *   w:PATH  create or truncate and write "pwned"
 *   a:PATH  append "pwned" to an existing file
 *   m:PATH  mkdir
 *   x:PATH  unlink
 *   s:PATH  stat and print the size
 *   c:PATH  chdir, then print getcwd
 *   f:PATH  open the directory, fchdir to it, then print getcwd
 *   p:PATH  chmod 0777
 *   t:PATH  utimensat: both times to the epoch
 *   T:PATH  truncate to 0 bytes
 *   l:PATH  linkat with AT_SYMLINK_FOLLOW to a new name "hardlink" (removed again after)
 * Results are "ok ..." or "errno N". Exit status 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *op, int ok)
{
    if (ok)
        printf("%s: ok\n", op);
    else
        printf("%s: errno %d\n", op, errno);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *op = argv[i], *path = argv[i] + 2;
        if (strlen(op) < 2 || op[1] != ':') {
            printf("%s: bad operation\n", op);
            continue;
        }
        switch (op[0]) {
        case 'r': {
            int fd = open(path, O_RDONLY);
            if (fd < 0) {
                report(op, 0);
                break;
            }
            char buf[128] = {0};
            ssize_t n = read(fd, buf, sizeof buf - 1);
            close(fd);
            buf[strcspn(buf, "\n")] = 0;
            printf("%s: ok %zd bytes: %s\n", op, n, buf);
            break;
        }
        case 'w': {
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            report(op, fd >= 0 && write(fd, "pwned\n", 6) == 6);
            if (fd >= 0)
                close(fd);
            break;
        }
        case 'a': {
            int fd = open(path, O_WRONLY | O_APPEND);
            report(op, fd >= 0 && write(fd, "pwned\n", 6) == 6);
            if (fd >= 0)
                close(fd);
            break;
        }
        case 'm':
            report(op, mkdir(path, 0755) == 0);
            break;
        case 'x':
            report(op, unlink(path) == 0);
            break;
        case 's': {
            struct stat st;
            if (stat(path, &st) == 0)
                printf("%s: ok size %lld\n", op, (long long)st.st_size);
            else
                report(op, 0);
            break;
        }
        case 'c': {
            char cwd[512];
            if (chdir(path) == 0 && getcwd(cwd, sizeof cwd))
                printf("%s: ok cwd %s\n", op, cwd);
            else
                report(op, 0);
            break;
        }
        case 'f': {
            char cwd[512];
            int fd = open(path, O_RDONLY | O_DIRECTORY);
            if (fd >= 0 && fchdir(fd) == 0 && getcwd(cwd, sizeof cwd))
                printf("%s: ok cwd %s\n", op, cwd);
            else
                report(op, 0);
            if (fd >= 0)
                close(fd);
            break;
        }
        case 'p':
            report(op, chmod(path, 0777) == 0);
            break;
        case 't': {
            struct timespec epoch[2] = {{0, 0}, {0, 0}};
            report(op, utimensat(AT_FDCWD, path, epoch, 0) == 0);
            break;
        }
        case 'T':
            report(op, truncate(path, 0) == 0);
            break;
        case 'l': {
            int ok = linkat(AT_FDCWD, path, AT_FDCWD, "hardlink", AT_SYMLINK_FOLLOW) == 0;
            report(op, ok);
            if (ok)
                unlink("hardlink");
            break;
        }
        default:
            printf("%s: bad operation\n", op);
        }
    }
    return 0;
}
