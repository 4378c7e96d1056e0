package dev.scratchvm.cli;

import dev.scratchvm.cmdline.Program;

import java.util.List;

/**
 * The VMM's commands: {@code scratchvm run|restore|inspect|serve|migrate|demo ...}. The program's
 * entry point, {@code dev.scratchvm.Main}, adds the benchmark; this class's own main runs the VMM
 * commands alone (new VMM processes started by the demo).
 */
public final class Main {
    /** Declaration order is the order of the command list in help. */
    public static final Program PROGRAM = new Program("scratchvm", "scratchvm 0.1.0",
            "A micro VMM on Linux KVM: runs a static x86-64 Linux program in a VM that can be saved, restored and migrated.",
            List.of(RunCommand.SPEC, RestoreCommand.SPEC, InspectCommand.SPEC, ServeCommand.SPEC, MigrateCommand.SPEC,
                    CtlCommand.SPEC, ImageCommand.SPEC, DemoCommand.SPEC, TrainCommand.SPEC));

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line and returns the process exit code; errors become one line on stderr. */
    public static int execute(String... args) {
        return PROGRAM.execute(args);
    }
}
