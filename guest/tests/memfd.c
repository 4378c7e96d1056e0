/*
 * memfd_create: an in-memory file that reads, writes, seeks, truncates and stats like a file,
 * and keeps its bytes and offset across a SAVE. Writes report.txt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "scratchvm.h"

static FILE *out;

static void result(const char *label, long r) {
    if (r < 0) fprintf(out, "%s: -1 errno %d\n", label, errno);
    else fprintf(out, "%s: %ld\n", label, r);
}

static void stat_fd(const char *label, int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) fprintf(out, "%s: errno %d\n", label, errno);
    else fprintf(out, "%s: mode %o size %lld\n", label, (unsigned)st.st_mode, (long long)st.st_size);
}

static void read_at(const char *label, int fd, off_t at, size_t n) {
    char buf[64] = {0};
    ssize_t r = pread(fd, buf, n, at);
    fprintf(out, "%s: %zd \"%s\"\n", label, r, r > 0 ? buf : "");
}

static void link_of(int fd) {
    char path[64], target[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = 0;
    fprintf(out, "readlink fd: %s\n", target);
}

int main(void) {
    char name[300];
    out = fopen("report.txt", "w");
    if (!out) return 1;
    int fd = memfd_create("buf", MFD_CLOEXEC), keep = memfd_create("keep", 0);
    fprintf(out, "memfd_create: %s\n", fd >= 0 && keep >= 0 ? "two fds" : "failed");
    result("F_GETFD with MFD_CLOEXEC", fcntl(fd, F_GETFD));
    result("F_GETFD without", fcntl(keep, F_GETFD));
    result("F_GETFL", fcntl(fd, F_GETFL) & O_ACCMODE);
    stat_fd("new", fd);
    result("write", write(fd, "hello memfd world", 17));
    result("lseek", lseek(fd, 6, SEEK_SET));
    char buf[8] = {0};
    result("read", read(fd, buf, 5));
    fprintf(out, "read: \"%s\"\n", buf);
    result("ftruncate up", ftruncate(fd, 8192));
    result("pwrite", pwrite(fd, "tail", 4, 8000));
    stat_fd("grown", fd);
    link_of(fd);
    result("lseek SEEK_END", lseek(fd, 0, SEEK_END));
    result("lseek to 100", lseek(fd, 100, SEEK_SET));
    result("unknown flag", syscall(SYS_memfd_create, "x", 0x100));
    memset(name, 'n', 250);
    name[250] = 0;
    result("name of 250 bytes", syscall(SYS_memfd_create, name, 0));
    name[249] = 0;
    int longest = syscall(SYS_memfd_create, name, 0);
    fprintf(out, "name of 249 bytes: %s\n", longest >= 0 ? "ok" : "failed");
    close(longest);
    result("bad name pointer", syscall(SYS_memfd_create, (void *)8, 0));
    fflush(out);
    SAVE();
    fprintf(out, "-- after save\n");
    result("offset", lseek(fd, 0, SEEK_CUR));
    read_at("head", fd, 0, 17);
    read_at("tail", fd, 8000, 4);
    stat_fd("kept", fd);
    stat_fd("other", keep);
    result("F_GETFD with MFD_CLOEXEC", fcntl(fd, F_GETFD));
    result("F_GETFD without", fcntl(keep, F_GETFD));
    link_of(fd);
    result("write at 100", write(fd, "more", 4));
    read_at("written", fd, 100, 4);
    result("ftruncate down", ftruncate(fd, 10));
    stat_fd("shrunk", fd);
    read_at("cut", fd, 0, 17);
    fclose(out);
    return 0;
}
