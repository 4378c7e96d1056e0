package dev.scratchvm.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point: {@code scratchvm COMMAND ...}. */
@Command(name = "scratchvm", mixinStandardHelpOptions = true, version = "scratchvm 0.1.0",
        description = "A micro VMM on Linux KVM: runs a static x86-64 Linux program in a VM that can be saved, restored and migrated.",
        subcommands = {RunCommand.class, RestoreCommand.class, InspectCommand.class, DemoCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line and returns the process exit code; errors become one line on stderr. */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            System.err.println("scratchvm: " + Errors.oneLine(e));
            return 70;
        });
        return cli.execute(args);
    }
}
