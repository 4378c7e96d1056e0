package dev.scratchvm.vmm;

import dev.scratchvm.linux.Trace;

import java.nio.file.Path;

/**
 * How to build a machine.
 *
 * @param memorySize guest memory in bytes (multiple of 2 MiB)
 * @param root       directory the guest sees as "/"
 * @param trace      system call trace settings
 * @param verbose    print registers with errors, and timings
 */
public record MachineConfig(long memorySize, Path root, Trace trace, boolean verbose) {
    public static final long DEFAULT_MEMORY = 16L << 20;
}
