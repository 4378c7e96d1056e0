package dev.scratchvm.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/** Entry point: {@code scratchvm COMMAND ...}. */
@Command(name = "scratchvm", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = "A micro VMM on Linux KVM: runs a static x86-64 Linux program in a VM that can be saved, restored and migrated.")
public final class Main {
    static final String VERSION = "scratchvm 0.1.0";

    /** Exit code for a command line that could not be parsed. */
    static final int USAGE = 2;

    /** The subcommands. Only the one being run is built: picocli's model building is reflective and costs start-up time. */
    private static final Map<String, Supplier<Object>> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("run", RunCommand::new);
        COMMANDS.put("restore", RestoreCommand::new);
        COMMANDS.put("inspect", InspectCommand::new);
        COMMANDS.put("serve", ServeCommand::new);
        COMMANDS.put("migrate", MigrateCommand::new);
        COMMANDS.put("demo", DemoCommand::new);
        COMMANDS.put("bench", BenchCommand::new);
        COMMANDS.put("train", TrainCommand::new);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line and returns the process exit code; errors become one line on stderr. */
    public static int execute(String... args) {
        CommandLine cli;
        String[] rest;
        if (args.length > 0 && COMMANDS.containsKey(args[0])) {
            cli = new CommandLine(COMMANDS.get(args[0]).get());
            cli.setCommandName("scratchvm " + args[0]);
            rest = Arrays.copyOfRange(args, 1, args.length);
        } else {
            cli = new CommandLine(new Main());
            COMMANDS.forEach((name, command) -> cli.addSubcommand(name, command.get()));
            cli.addSubcommand("help", new CommandLine.HelpCommand());
            rest = args;
        }
        // For run, everything after the program name belongs to the program: "run prog -v" passes -v to it.
        if (cli.getCommand() instanceof RunCommand) cli.setStopAtPositional(true);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            System.err.println("scratchvm: " + Errors.oneLine(e));
            return 70;
        });
        cli.setParameterExceptionHandler((e, a) -> {
            System.err.println("scratchvm: " + Errors.oneLine(e) + " (see '" + e.getCommandLine().getCommandName() + " --help')");
            return USAGE;
        });
        return cli.execute(rest);
    }
}
