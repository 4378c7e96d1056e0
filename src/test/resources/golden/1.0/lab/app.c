/*
 * The lab application: writes one line, saves the VM, writes another.
 * Run natively it writes both lines at once (SAVE() returns -ENOSYS).
 * Under ScratchVM the first run stops at SAVE(); a restore from the image
 * writes the second line through the same, still-open fd.
 */
#include <fcntl.h>
#include <unistd.h>

#include "scratchvm.h"

int main(void)
{
    int fd = open("./ay_caramba", O_RDWR | O_CREAT, 0777);
    write(fd, "Hello World !!!\n", 16);
    SAVE();
    write(fd, "Bye Bye !!!\n", 12);
    close(fd);
    return 0;
}
