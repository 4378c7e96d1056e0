/*
 * Golden image source: sets signal dispositions, saves, and after a restore
 * prints what the kernel state brought back.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "scratchvm.h"

static void on_usr2(int sig)
{
    (void)sig;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sa.sa_flags = SA_RESTART;
    sigaddset(&sa.sa_mask, SIGINT);
    sigaction(SIGUSR2, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    SAVE();

    struct sigaction old;
    sigaction(SIGUSR1, NULL, &old);
    printf("SIGUSR1 %s\n", old.sa_handler == SIG_IGN ? "ignored" : "not ignored");
    sigaction(SIGUSR2, NULL, &old);
    printf("SIGUSR2 handler %s, SA_RESTART %d, masks SIGINT %d\n",
           old.sa_handler == on_usr2 ? "kept" : "lost", (old.sa_flags & SA_RESTART) != 0,
           sigismember(&old.sa_mask, SIGINT));
    sigaction(SIGPIPE, NULL, &old);
    printf("SIGPIPE %s\n", old.sa_handler == SIG_IGN ? "ignored" : "not ignored");
    raise(SIGUSR1);
    printf("survived SIGUSR1\n");
    return 0;
}
