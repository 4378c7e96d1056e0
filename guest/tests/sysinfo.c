/*
 * Process and system identity syscalls. Prints only facts that are the same
 * on every run: uname fields, consistency of the id calls, getrandom length.
 * Exit status 0 iff every check passed.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

int main(void)
{
    struct utsname u;
    check(uname(&u) == 0, "uname");
    printf("sysname %s\n", u.sysname);
    printf("machine %s\n", u.machine);
    check(strcmp(u.sysname, "Linux") == 0 && strcmp(u.machine, "x86_64") == 0,
          "Linux on x86_64");

    pid_t pid = getpid();
    check(pid > 0, "getpid > 0");
    check(syscall(SYS_getpid) == pid, "getpid stable");
    check(syscall(SYS_gettid) == pid, "single thread: gettid == getpid");
    check(getppid() >= 0, "getppid");
    check(getuid() == geteuid() && getgid() == getegid(), "real and effective ids agree");

    unsigned char buf[32];
    memset(buf, 0, sizeof buf);
    check(getrandom(buf, sizeof buf, 0) == (ssize_t)sizeof buf, "getrandom 32 bytes");
    int nonzero = 0;
    for (size_t i = 0; i < sizeof buf; i++)
        nonzero |= buf[i];
    check(nonzero != 0, "getrandom bytes not all zero");

    char host[256];
    check(gethostname(host, sizeof host) == 0 && host[0] != '\0', "gethostname");

    printf("sysinfo %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
