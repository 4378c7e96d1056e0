/*
 * Tries to reach files outside the directory the guest was started in.
 * Natively several of these succeed; under ScratchVM every one must be refused.
 * Exit status: 0 if every attempt was refused, 1 if any succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int escaped;

static void try_open(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        printf("open %s: ok\n", path);
        close(fd);
        escaped = 1;
    } else {
        printf("open %s: refused errno=%d\n", path, errno);
    }
}

int main(void)
{
    try_open("../escape_target");
    try_open("/etc/passwd");

    unlink("escape_link");
    if (symlink("/etc/passwd", "escape_link") == 0)
        printf("symlink escape_link: ok\n");
    else
        printf("symlink escape_link: refused errno=%d\n", errno);
    try_open("escape_link");

    /* Without the directory, ".." would fail with ENOENT before anything escaped. */
    mkdir("subdir", 0755);
    try_open("subdir/../../x");

    unlink("escape_link");
    rmdir("subdir");
    return escaped;
}
