package dev.scratchvm.cli;

import dev.scratchvm.linux.Trace;
import dev.scratchvm.vmm.MachineConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Options shared by the commands that run a VM. */
final class VmOptions {
    @Option(names = "--root", paramLabel = "DIR", description = "Directory the guest sees as / (default: current directory).")
    Path root = Path.of(".");

    @Option(names = "--trace", paramLabel = "files|all|none", converter = TraceLevelConverter.class,
            description = "System call trace on stderr: file calls, all calls, or none (default: files).")
    Trace.Level trace = Trace.Level.FILES;

    @Option(names = {"-v", "--verbose"}, description = "Registers with errors, and timings.")
    boolean verbose;

    /** Parses files|all|none; anything else is a usage error. */
    static final class TraceLevelConverter implements picocli.CommandLine.ITypeConverter<Trace.Level> {
        @Override
        public Trace.Level convert(String value) {
            return switch (value) {
                case "files" -> Trace.Level.FILES;
                case "all" -> Trace.Level.ALL;
                case "none" -> Trace.Level.NONE;
                default -> throw new picocli.CommandLine.TypeConversionException("must be files, all or none, not '" + value + "'");
            };
        }
    }

    MachineConfig config(long memory, String prefix) {
        return new MachineConfig(memory, root, new Trace(trace, System.err, prefix), verbose);
    }
}
