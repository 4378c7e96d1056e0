package dev.scratchvm.cli;

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
            if (verbose) reportStart(machine, prefix);
            switch (outcome) {
                case Outcome.Exited e -> {
                    return e.status();
                }
                case Outcome.Killed k -> {
                    System.err.println(prefix + "scratchvm: " + k.reason());
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
}
