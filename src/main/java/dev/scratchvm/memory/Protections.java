package dev.scratchvm.memory;

/**
 * The access the guest program has to each page of its memory, as the process's address space
 * defines it (mappings and their PROT_* bits): what the page tables must enforce and what the
 * VMM checks when it touches guest memory on the program's behalf.
 */
public interface Protections {
    /** A page no mapping covers: any access faults with SEGV_MAPERR. */
    int UNMAPPED = -1;
    int READ = 1, WRITE = 2, EXEC = 4;

    /** Receives one run of pages with the same protection. */
    @FunctionalInterface
    interface Run {
        void accept(long start, long end, int prot);
    }

    /**
     * Reports [from, to) as consecutive runs, in ascending order, each with its protection:
     * {@link #UNMAPPED}, or PROT_* bits (0 for PROT_NONE).
     */
    void forEachRun(long from, long to, Run run);

    /** The protection of the page holding {@code addr}. */
    default int at(long addr) {
        int[] p = {UNMAPPED};
        forEachRun(addr & -GuestMemory.PAGE_SIZE, (addr & -GuestMemory.PAGE_SIZE) + GuestMemory.PAGE_SIZE, (s, e, prot) -> p[0] = prot);
        return p[0];
    }

    /** Whether the CPU lets the program touch a page with {@code prot} at all (x86: write or exec imply read). */
    static boolean accessible(int prot) {
        return prot > 0;
    }
}
