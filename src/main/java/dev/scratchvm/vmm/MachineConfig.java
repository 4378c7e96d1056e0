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
 */
public record MachineConfig(long memorySize, Path root, Trace trace, boolean verbose, Stdio stdio) {
    public static final long DEFAULT_MEMORY = 16L << 20;

    /** The guest shares the VMM's standard input, output and error. */
    public MachineConfig(long memorySize, Path root, Trace trace, boolean verbose) {
        this(memorySize, root, trace, verbose, Stdio.INHERIT);
    }
}
