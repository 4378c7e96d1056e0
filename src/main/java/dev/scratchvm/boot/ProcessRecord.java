package dev.scratchvm.boot;

import dev.scratchvm.memory.GuestMemory;

/**
 * What Linux keeps in its mm_struct about a program's start (arg_start/arg_end, env_end, the
 * program headers) and ScratchVM keeps in guest memory instead, so that it is saved and
 * restored with the memory and needs no state field: a small record in the top bytes of the
 * stack, above the argument strings, which the guest never references. /proc/self/cmdline
 * reads the arguments from the guest's memory as Linux does, so a program that rewrites its
 * argv shows there; a program that scribbles over the record only loses its /proc details.
 */
public record ProcessRecord(long argStart, long argEnd, long envEnd, long phdr, long phnum, long bias) {
    /** Bytes at the top of guest memory the record occupies. */
    public static final int SIZE = 64;
    private static final long MAGIC = 0x31434f5250_4d5653L; // "SVMPROC1" little-endian

    void write(GuestMemory memory) {
        long at = memory.size() - SIZE;
        long[] words = {MAGIC, argStart, argEnd, envEnd, phdr, phnum, bias, 0};
        for (int i = 0; i < words.length; i++) memory.writeLong(at + 8L * i, words[i]);
    }

    /** The record boot left, or null when the memory holds none (an older image) or a damaged one. */
    public static ProcessRecord read(GuestMemory memory) {
        long at = memory.size() - SIZE;
        if (!memory.contains(at, SIZE) || memory.readLong(at) != MAGIC) return null;
        ProcessRecord r = new ProcessRecord(memory.readLong(at + 8), memory.readLong(at + 16), memory.readLong(at + 24),
                memory.readLong(at + 32), memory.readLong(at + 40), memory.readLong(at + 48));
        boolean sane = r.argStart > 0 && r.argStart <= r.argEnd && r.argEnd <= r.envEnd && r.envEnd < at
                && r.phnum >= 0 && r.phnum <= 0xffff;
        return sane ? r : null;
    }

    /** The program's path as it was started (AT_EXECFN): the string right after the environment. */
    public String execfn(GuestMemory memory) {
        String s = memory.cString(envEnd, 4096);
        return s == null ? "" : s;
    }
}
