/*
 * Files deleted while open ("ghost" files) across a SAVE: a read-write one with a dup
 * sharing its offset and a MAP_SHARED mapping, a read-only one part-way read, an
 * append-only one. Before and after the SAVE the program writes, reads and stats them
 * and prints what it sees, which must be what a native run prints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scratchvm.h"

static void stat_fd(const char *label, int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) printf("%s: errno %d\n", label, errno);
    else printf("%s: mode %o nlink %ld size %lld\n", label, (unsigned)st.st_mode, (long)st.st_nlink,
                (long long)st.st_size);
}

static void read_at(const char *label, int fd, off_t at, size_t n) {
    char buf[64] = {0};
    ssize_t r = pread(fd, buf, n, at);
    printf("%s: %zd \"%s\"\n", label, r, r > 0 ? buf : "");
}

static void read_next(const char *label, int fd, size_t n) {
    char buf[64] = {0};
    ssize_t r = read(fd, buf, n);
    printf("%s: %zd \"%s\" offset now %lld\n", label, r, r > 0 ? buf : "", (long long)lseek(fd, 0, SEEK_CUR));
}

static int make(const char *name, const char *content, int flags, mode_t mode) {
    int w = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (w < 0 || write(w, content, strlen(content)) != (ssize_t)strlen(content) || close(w) != 0) return -1;
    if (chmod(name, mode) != 0) return -1;
    int fd = open(name, flags);
    return fd < 0 || unlink(name) != 0 ? -1 : fd;
}

int main(void) {
    int rw = make("ghost-rw.dat", "alpha\n", O_RDWR, 0640);
    int ro = make("ghost-ro.dat", "0123456789abcdef", O_RDONLY, 0444);
    int ap = make("ghost-ap.dat", "log:", O_WRONLY | O_APPEND, 0600);
    if (rw < 0 || ro < 0 || ap < 0) {
        printf("setup failed (errno %d)\n", errno);
        return 1;
    }
    int dup_rw = dup(rw);
    if (lseek(rw, 0, SEEK_END) != 6 || ftruncate(rw, 8192) != 0) return 1;
    char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
    if (map == MAP_FAILED) return 1;
    memcpy(map + 4096, "mapped-before", 13);
    read_next("ro read before", ro, 4);
    if (write(ap, "one,", 4) != 4) return 1;
    stat_fd("rw before", rw);
    fflush(stdout);

    SAVE();

    if (write(dup_rw, "beta\n", 5) != 5) printf("write through the dup failed: errno %d\n", errno);
    printf("rw offset after a write through its dup: %lld\n", (long long)lseek(rw, 0, SEEK_CUR));
    read_at("rw start", rw, 0, 11);
    read_at("rw mapped page via read", rw, 4096, 13);
    printf("mapping sees the write: %.5s\n", map + 6);
    memcpy(map + 4096 + 13, "+after", 6);
    read_at("rw mapped page after a store", rw, 4096, 19);
    stat_fd("rw after", rw);
    read_next("ro read after", ro, 4);
    ssize_t denied = write(ro, "x", 1);
    printf("write to the read-only one: %zd errno %d\n", denied, errno);
    stat_fd("ro after", ro);
    if (write(ap, "two", 3) != 3) printf("append failed: errno %d\n", errno);
    stat_fd("append after", ap);
    printf("append offset: %lld\n", (long long)lseek(ap, 0, SEEK_CUR));
    struct stat here, ghost;
    printf("on the directory's file system: %s\n",
           stat(".", &here) == 0 && fstat(rw, &ghost) == 0 && here.st_dev == ghost.st_dev ? "yes" : "NO");
    printf("names gone: %s\n", access("ghost-rw.dat", F_OK) != 0 && access("ghost-ro.dat", F_OK) != 0 ? "yes" : "NO");
    munmap(map, 8192);
    close(rw);
    close(dup_rw);
    close(ro);
    close(ap);
    printf("ghost: done\n");
    return 0;
}
