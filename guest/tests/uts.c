/*
 * The VM's own host and domain names (uname, sethostname, setdomainname). Only for the VM:
 * run natively as root it would rename the host. Writes report.txt, asks for SAVE half-way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "scratchvm.h"

static FILE *out;

static void names(void) {
    struct utsname u;
    char host[128];
    if (uname(&u) != 0) {
        fprintf(out, "uname: errno %d\n", errno);
        return;
    }
    gethostname(host, sizeof host);
    fprintf(out, "sysname %s\nrelease %s\nmachine %s\nnodename %s\ndomainname %s\ngethostname %s\n", u.sysname,
            u.release, u.machine, u.nodename, u.domainname, host);
}

static void result(const char *label, long r) {
    if (r < 0) fprintf(out, "%s: -1 errno %d\n", label, errno);
    else fprintf(out, "%s: %ld\n", label, r);
}

int main(void) {
    char long_name[66];
    out = fopen("report.txt", "w");
    if (!out) return 1;
    names();
    result("sethostname", sethostname("guest-one", 9));
    result("setdomainname", setdomainname("example.org", 11));
    memset(long_name, 'x', sizeof long_name);
    result("sethostname of 65 bytes", syscall(SYS_sethostname, long_name, 65));
    result("sethostname of 64 bytes", syscall(SYS_sethostname, long_name, 64));
    result("sethostname from a bad pointer", syscall(SYS_sethostname, (void *)8, 5));
    result("uname to a bad pointer", syscall(SYS_uname, (void *)8));
    result("sethostname back", sethostname("guest-one", 9));
    names();
    fflush(out);
    SAVE();
    fprintf(out, "-- after save\n");
    names();
    result("sethostname", sethostname("guest-two", 9));
    names();
    fclose(out);
    return 0;
}
