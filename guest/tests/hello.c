/* Smallest end-to-end check: stdout, argv, envp and a non-zero exit status. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    printf("hello, world\n");
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    const char *g = getenv("GREETING");
    if (g)
        printf("GREETING=%s\n", g);
    else
        printf("GREETING unset\n");
    /* 3 rather than 0 so a test can tell the guest's exit status was forwarded. */
    return 3;
}
