package dev.scratchvm.cli;

import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.Outcome;

/** What happens when a guest run ends, shared by run, restore and serve. */
final class Session {
    private Session() {
    }

    static int finish(Machine machine, Outcome outcome, MachineConfig config) {
        return switch (outcome) {
            case Outcome.Exited e -> e.status();
            case Outcome.Killed k -> {
                System.err.println("scratchvm: " + k.reason());
                yield k.exitCode();
            }
            case Outcome.Failed f -> {
                System.err.println("scratchvm: " + f.reason());
                yield 70;
            }
            case Outcome.SaveRequested s -> {
                System.err.println("scratchvm: SAVE is not supported yet");
                yield 70;
            }
        };
    }
}
