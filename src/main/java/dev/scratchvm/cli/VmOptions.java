package dev.scratchvm.cli;

import dev.scratchvm.linux.Trace;
import dev.scratchvm.vmm.MachineConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Options shared by the commands that run a VM. */
final class VmOptions {
    @Option(names = "--root", paramLabel = "DIR", description = "Directory the guest sees as / (default: current directory).")
    Path root = Path.of(".");

    @Option(names = "--trace", paramLabel = "files|all|none", description = "System call trace on stderr (default: ${DEFAULT-VALUE}).")
    String trace = "files";

    @Option(names = {"-v", "--verbose"}, description = "Registers with errors, and timings.")
    boolean verbose;

    Trace.Level traceLevel() {
        return switch (trace) {
            case "files" -> Trace.Level.FILES;
            case "all" -> Trace.Level.ALL;
            case "none" -> Trace.Level.NONE;
            default -> throw new IllegalArgumentException("--trace must be files, all or none, not '" + trace + "'");
        };
    }

    MachineConfig config(long memory, String prefix) {
        return new MachineConfig(memory, root, new Trace(traceLevel(), System.err, prefix), verbose);
    }
}
