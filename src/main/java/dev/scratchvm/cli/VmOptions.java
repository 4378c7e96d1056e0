package dev.scratchvm.cli;

import dev.scratchvm.cmdline.Option;
import dev.scratchvm.cmdline.Values;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.vmm.MachineConfig;

import java.nio.file.Path;
import java.util.List;

/** Options shared by the commands that run a VM. */
final class VmOptions {
    static final List<Option<VmOptions>> OPTIONS = List.of(
            Option.value("--root", "DIR", "Directory the guest sees as / (default: current directory).",
                    (o, v) -> o.root = Values.path(v)),
            Option.value("--trace", "files|all|none", "System call trace on stderr: file calls, all calls, or none (default: files).",
                    (o, v) -> o.trace = traceLevel(v)),
            Option.flag("Registers with errors, and timings.", o -> o.verbose = true, "-v", "--verbose"),
            Option.value("--api-sock", "PATH", "Serve the control API on this Unix socket (see 'scratchvm ctl').",
                    (o, v) -> o.apiSock = Values.path(v)),
            Option.value("--metrics", "FILE", "Write what the VMM measures to FILE, one JSON object per line.",
                    (o, v) -> o.metricsFile = Values.path(v)));

    Path root = Path.of(".");
    Trace.Level trace = Trace.Level.FILES;
    boolean verbose;
    /** Where to serve the control API, or null. */
    Path apiSock;
    /** Where --metrics writes, or null. */
    Path metricsFile;

    /** The metrics file, opened (truncated) now. */
    Metrics metrics() {
        if (metricsFile == null) return Metrics.NONE;
        try {
            return Metrics.open(metricsFile);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("--metrics " + metricsFile + ": " + e.getMessage());
        }
    }

    /** Parses files|all|none; anything else is a usage error. */
    private static Trace.Level traceLevel(String value) {
        return switch (value) {
            case "files" -> Trace.Level.FILES;
            case "all" -> Trace.Level.ALL;
            case "none" -> Trace.Level.NONE;
            default -> throw new IllegalArgumentException("must be files, all or none, not '" + value + "'");
        };
    }

    MachineConfig config(long memory, String prefix) {
        return new MachineConfig(memory, root, new Trace(trace, System.err, prefix), verbose);
    }
}
