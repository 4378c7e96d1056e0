package dev.scratchvm.control;

import dev.scratchvm.migration.LiveOptions;
import dev.scratchvm.migration.Rehearsal;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;

/**
 * A live migration rehearsed as {@code ctl migrate} runs it: a throwaway machine under a
 * controller of its own (started paused, so its guest runs nothing), migrated by
 * {@link Controller#migrate}. It warms what the rehearsal's own live source cannot: the
 * controller's calls on the vCPU thread, the dirty log's harvest and the stop's capture.
 */
public final class RehearsedMigration {
    private RehearsedMigration() {
    }

    public static Rehearsal.Attempt of(MachineState state, MachineConfig config) {
        return client -> {
            try (Machine machine = Machine.restore(config, state, Machine.shell(config, state.memory().size()))) {
                Controller controller = Controller.of(machine, m -> false).startPaused();
                try {
                    return controller.migrate(client, LiveOptions.DEFAULT, null);
                } finally {
                    controller.close();
                }
            }
        };
    }
}
