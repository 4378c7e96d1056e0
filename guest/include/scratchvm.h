/*
 * Guest-side interface to ScratchVM.
 *
 * ScratchVM intercepts one extra system call number, chosen far above anything
 * Linux allocates, so the same static binary runs unchanged on a real kernel.
 */
#ifndef SCRATCHVM_H
#define SCRATCHVM_H

#define SCRATCHVM_SYS_SAVE 0x5c00

/*
 * Ask the VMM to save the whole VM (memory, vCPU, open files) at this point.
 *
 * Returns:
 *   0         in a VM resumed from the saved state (restore or migration);
 *   -errno    if the save failed and the VM kept running in the same VMM;
 *   -ENOSYS   (-38) when not running under ScratchVM: Linux rejects the number.
 *
 * Issued as a raw syscall instruction rather than through libc's syscall(),
 * so the result is the kernel convention (negative errno) under every libc and
 * errno is left untouched. The instruction clobbers rcx and r11 only.
 */
static inline long SAVE(void)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"((long)SCRATCHVM_SYS_SAVE)
                     : "rcx", "r11", "memory");
    return ret;
}

#endif /* SCRATCHVM_H */
