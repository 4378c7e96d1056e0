package dev.scratchvm.cli;

import dev.scratchvm.linux.Signals;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Outcome;

/** Drives a machine to its end and turns the outcome into an exit code; shared by run, restore and serve. */
final class Session {
    /** Exit code when the VMM itself gave up on the VM (EX_SOFTWARE). */
    static final int VM_FAILED = 70;

    private Session() {
    }

    static int run(Machine machine, SaveTarget saveTarget, String prefix, boolean verbose) {
        while (true) {
            Outcome outcome = machine.run();
            if (verbose) {
                reportStart(machine, prefix);
                reportMemory(machine, prefix);
            }
            switch (outcome) {
                case Outcome.Exited e -> {
                    return e.status();
                }
                case Outcome.Killed k -> {
                    // Like a shell, stay quiet about SIGPIPE: the reader went away, nothing failed.
                    if (k.signal() != Signals.SIGPIPE) System.err.println(prefix + "scratchvm: " + k.reason());
                    return k.exitCode();
                }
                case Outcome.Failed f -> {
                    System.err.println(prefix + "scratchvm: " + f.reason());
                    return VM_FAILED;
                }
                case Outcome.SaveRequested s -> {
                    verbose = false; // report the start only once
                    if (saveTarget.save(machine)) return 0;
                }
            }
        }
    }

    /** Launch (as stamped by the launcher) to the guest's first instruction in this VMM. */
    private static void reportStart(Machine machine, String prefix) {
        String launch = System.getenv("SCRATCHVM_LAUNCH_NS");
        if (launch == null || machine.firstEntryEpochNanos() == 0) return;
        try {
            double ms = (machine.firstEntryEpochNanos() - Long.parseLong(launch.trim())) / 1e6;
            System.err.printf("%slaunch to first guest instruction: %.1f ms%n", prefix, ms);
        } catch (NumberFormatException ignored) {
            // not stamped by our launcher
        }
    }

    /** The VMM's resident memory next to the part of it that is guest memory. */
    private static void reportMemory(Machine machine, String prefix) {
        try {
            long rssKb = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("VmRSS:")).map(l -> l.replaceAll("[^0-9]", "")).mapToLong(Long::parseLong)
                    .findFirst().orElse(0);
            double guest = machine.memory().residentBytes() / (double) (1 << 20);
            System.err.printf("%sVMM RSS %.1f MiB, guest memory resident %.1f MiB%n", prefix, rssKb / 1024.0, guest);
        } catch (java.io.IOException ignored) {
            // no /proc: nothing to report
        }
    }
}
