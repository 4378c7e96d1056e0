package dev.scratchvm.cli;

import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Outcome;

/** Drives a machine to its end and turns the outcome into an exit code; shared by run, restore and serve. */
final class Session {
    /** Exit code when the VMM itself gave up on the VM (EX_SOFTWARE). */
    static final int VM_FAILED = 70;

    private Session() {
    }

    static int run(Machine machine, SaveTarget saveTarget, String prefix) {
        while (true) {
            Outcome outcome = machine.run();
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
                    if (saveTarget.save(machine)) return 0;
                }
            }
        }
    }
}
