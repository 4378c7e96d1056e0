package dev.scratchvm.vmm;

import dev.scratchvm.linux.Stdio;
import dev.scratchvm.linux.Trace;

import java.nio.file.Path;

/**
 * How to build a machine.
 *
 * @param memorySize guest memory in bytes (multiple of 2 MiB)
 * @param root       directory the guest sees as "/"
 * @param trace      system call trace settings
 * @param verbose    print registers with errors, and timings
 * @param stdio      host fds behind the guest's fd 0, 1 and 2
 * @param dirtyLog   KVM logs the pages the guest writes, so diff snapshots can be taken (on by default)
 */
public record MachineConfig(long memorySize, Path root, Trace trace, boolean verbose, Stdio stdio, boolean dirtyLog) {
    public static final long DEFAULT_MEMORY = 16L << 20;

    public MachineConfig(long memorySize, Path root, Trace trace, boolean verbose, Stdio stdio) {
        this(memorySize, root, trace, verbose, stdio, true);
    }

    public MachineConfig withDirtyLog(boolean on) {
        return new MachineConfig(memorySize, root, trace, verbose, stdio, on);
    }

    /** The guest shares the VMM's standard input, output and error. */
    public MachineConfig(long memorySize, Path root, Trace trace, boolean verbose) {
        this(memorySize, root, trace, verbose, Stdio.INHERIT);
    }
}
