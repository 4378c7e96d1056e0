package dev.scratchvm.linux;

/**
 * Guest addresses [from, to) whose protections changed in a system call (mmap, munmap,
 * mprotect, mremap, brk). {@code reduced}: some page lost an access it had, so translations
 * cached from the old page tables would allow too much and must be dropped; a change that
 * only adds accesses needs no flush, since a stale translation can then only fault, and the
 * fault is found spurious and retried.
 */
public record ProtectionChange(long from, long to, boolean reduced) {
}
