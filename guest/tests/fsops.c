/*
 * Directory and metadata syscalls inside the current directory: mkdir, stat,
 * fstat vs stat, access, rename, getdents (via readdir, printed sorted),
 * chdir into a subdirectory and back, unlink, rmdir.
 * argv[1] = name of the scratch directory (default "fsops_dir").
 * Exit status 0 iff every check passed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Prints the entries of dir, sorted, skipping "." and "..". */
static void list(const char *dir)
{
    DIR *d = opendir(dir);
    check(d != NULL, "opendir");
    if (!d)
        return;
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp);
    printf("listing:");
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "fsops_dir";
    char p1[512], p2[512], p3[512];
    snprintf(p1, sizeof p1, "%s/one.txt", dir);
    snprintf(p2, sizeof p2, "%s/two.txt", dir);
    snprintf(p3, sizeof p3, "%s/sub", dir);

    /* Leftovers from an interrupted run would change the results. */
    unlink(p1);
    unlink(p2);
    rmdir(p3);
    rmdir(dir);

    check(mkdir(dir, 0755) == 0, "mkdir");
    check(mkdir(dir, 0755) == -1 && errno == EEXIST, "mkdir again -> EEXIST");
    struct stat st;
    check(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "stat says directory");

    check(write_file(p1, "hello\n") == 0, "create one.txt");
    check(stat(p1, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 6, "stat one.txt size 6");
    int fd = open(p1, O_RDONLY);
    struct stat fst;
    check(fd >= 0 && fstat(fd, &fst) == 0 && fst.st_ino == st.st_ino && fst.st_size == 6,
          "fstat matches stat");
    if (fd >= 0)
        close(fd);
    check(access(p1, R_OK | W_OK) == 0, "access R_OK|W_OK");
    check(access(p2, F_OK) == -1 && errno == ENOENT, "access missing -> ENOENT");

    check(rename(p1, p2) == 0, "rename one -> two");
    check(stat(p1, &st) == -1 && errno == ENOENT, "old name gone");
    check(stat(p2, &st) == 0 && st.st_size == 6, "new name has the data");
    check(mkdir(p3, 0700) == 0, "mkdir sub");
    list(dir);

    /* Relative paths must follow chdir. */
    check(chdir(dir) == 0, "chdir into dir");
    check(access("two.txt", R_OK) == 0, "relative path after chdir");
    check(write_file("sub/three.txt", "x") == 0, "create sub/three.txt");
    check(unlink("sub/three.txt") == 0, "unlink sub/three.txt");
    check(chdir("..") == 0, "chdir back");
    check(access(p2, R_OK) == 0, "original relative path again");

    check(rmdir(dir) == -1 && (errno == ENOTEMPTY || errno == EEXIST), "rmdir non-empty fails");
    check(unlink(p2) == 0, "unlink two.txt");
    check(rmdir(p3) == 0, "rmdir sub");
    check(rmdir(dir) == 0, "rmdir dir");
    check(stat(dir, &st) == -1 && errno == ENOENT, "dir gone");

    printf("fsops %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
