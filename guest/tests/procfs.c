/*
 * Reads the VM's /proc and writes what it saw to report.txt: the links, the generated
 * files, a directory listing, and what writing, creating and unknown paths give. Then it
 * opens /proc/self/maps, reads part of it, asks for SAVE, maps more memory and reads the
 * rest (held.txt) and a fresh copy (fresh.txt): the held one was generated at open.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "scratchvm.h"

static FILE *out;

static void slurp(const char *label, const char *path) {
    char buf[65536];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(out, "%s: open errno %d\n", label, errno);
        return;
    }
    ssize_t total = 0, n;
    while ((n = read(fd, buf + total, sizeof buf - 1 - total)) > 0) total += n;
    close(fd);
    for (ssize_t i = 0; i < total; i++) if (buf[i] == 0) buf[i] = '|';
    buf[total] = 0;
    fprintf(out, "== %s (%zd bytes)\n%s", label, total, buf);
    if (total > 0 && buf[total - 1] != '\n') fputc('\n', out);
}

static void link_of(const char *path) {
    char buf[4096];
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n < 0) {
        fprintf(out, "readlink %s: errno %d\n", path, errno);
        return;
    }
    buf[n] = 0;
    fprintf(out, "readlink %s: %s\n", path, buf);
}

static void mode_of(const char *path, int follow) {
    struct stat st;
    int r = follow ? stat(path, &st) : lstat(path, &st);
    if (r < 0) fprintf(out, "%s %s: errno %d\n", follow ? "stat" : "lstat", path, errno);
    else fprintf(out, "%s %s: mode %o size %lld\n", follow ? "stat" : "lstat", path, (unsigned) st.st_mode,
                 (long long) st.st_size);
}

/* A call's result, and errno when it failed (read after the call, never beside it). */
static void report(const char *what, int result) {
    int e = errno;
    if (result < 0) fprintf(out, "%s: %d errno %d\n", what, result, e);
    else fprintf(out, "%s: %d\n", what, result);
}

int main(int argc, char **argv) {
    (void) argc;
    (void) argv;
    out = fopen("report.txt", "w");
    if (!out) return 1;
    int data = open("data.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    link_of("/proc/self/exe");
    link_of("/proc/self");
    link_of("/proc/mounts");
    link_of("/proc/self/status");
    slurp("cmdline", "/proc/self/cmdline");
    slurp("mounts", "/proc/mounts");
    slurp("status", "/proc/self/status");
    slurp("meminfo", "/proc/meminfo");
    slurp("cpuinfo", "/proc/cpuinfo");
    slurp("maps", "/proc/self/maps");
    char pidpath[64];
    snprintf(pidpath, sizeof pidpath, "/proc/%d/cmdline", getpid());
    slurp("pid-cmdline", pidpath);

    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        fprintf(out, "opendir: errno %d\n", errno);
    } else {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char p[300];
            snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
            fprintf(out, "fd %s type %d ", e->d_name, e->d_type);
            link_of(p);
        }
        closedir(d);
    }
    (void) data;

    mode_of("/proc/self/status", 1);
    mode_of("/proc/self/fd", 1);
    mode_of("/proc/self", 0);
    mode_of("/proc/self/exe", 0);
    mode_of("/proc", 1);
    mode_of("/proc/sys", 1);
    mode_of("/proc/1", 1);
    mode_of("/proc/self/", 0);
    mode_of("/proc/../data.txt", 1);
    report("write open", open("/proc/self/status", O_WRONLY));
    report("create", open("/proc/newfile", O_CREAT | O_WRONLY, 0644));
    report("unlink", unlink("/proc/self/status"));
    report("mkdir", mkdir("/proc/x", 0755));
    report("access R", access("/proc/meminfo", R_OK));
    report("access W", access("/proc/meminfo", W_OK));
    fflush(out);

    /* Part of maps before the save, the rest after it. */
    int maps = open("/proc/self/maps", O_RDONLY);
    char held[65536];
    ssize_t got = read(maps, held, 64);
    if (got != 64) return 2;
    /* And a directory listed part-way: one entry before the save. */
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
    char ents[4096];
    long first = syscall(SYS_getdents64, dir, ents, 24);
    if (first <= 0) return 5;
    long saved = SAVE();
    long rest = syscall(SYS_getdents64, dir, ents + first, sizeof ents - first);
    if (rest < 0) return 6;
    FILE *l = fopen("listing.txt", "w");
    for (long at = 0; at < first + rest;) {
        unsigned short reclen = *(unsigned short *) (ents + at + 16);
        fprintf(l, "%s\n", ents + at + 19);
        at += reclen;
    }
    fclose(l);
    close(dir);
    if (saved < 0 && saved != -ENOSYS) return 3;

    void *more = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (more == MAP_FAILED) return 4;
    ssize_t n;
    while ((n = read(maps, held + got, sizeof held - got)) > 0) got += n;
    close(maps);
    FILE *h = fopen("held.txt", "w");
    fwrite(held, 1, got, h);
    fclose(h);
    int fresh = open("/proc/self/maps", O_RDONLY);
    got = 0;
    while ((n = read(fresh, held + got, sizeof held - got)) > 0) got += n;
    close(fresh);
    h = fopen("fresh.txt", "w");
    fwrite(held, 1, got, h);
    fprintf(h, "new mapping at %lx\n", (unsigned long) more);
    fclose(h);
    fclose(out);
    return 0;
}
