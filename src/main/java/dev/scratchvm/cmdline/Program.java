package dev.scratchvm.cmdline;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A program of commands ({@code scratchvm run ...}): parses a command line, prints help or the
 * version, or runs the command. A usage mistake is one line on stderr and exit code
 * {@link #USAGE}; a failure of the command itself is one line and {@link #FAILED}.
 */
public final class Program {
    /** Exit code for a command line that could not be parsed. */
    public static final int USAGE = 2;
    /** Exit code for a command that failed with an exception (EX_SOFTWARE). */
    public static final int FAILED = 70;

    private final String name;
    private final String version;
    private final String description;
    private final List<Spec<?>> commands;

    public Program(String name, String version, String description, List<Spec<?>> commands) {
        this.name = name;
        this.version = version;
        this.description = description;
        this.commands = List.copyOf(commands);
    }

    /** The same program with more commands (declared elsewhere, e.g. in a package this one must not know). */
    public Program with(Spec<?>... more) {
        List<Spec<?>> all = new ArrayList<>(commands);
        all.addAll(List.of(more));
        return new Program(name, version, description, all);
    }

    public String version() {
        return version;
    }

    /** Runs a command line and returns the process exit code. */
    public int execute(String... args) {
        return execute(System.out, System.err, args);
    }

    int execute(PrintStream out, PrintStream err, String... args) {
        Spec<Object> root = root(out, err);
        Parsed parsed;
        try {
            parsed = Parser.parse(root, name, List.of(args));
        } catch (UsageException e) {
            err.println(name + ": " + e.getMessage() + " (see '" + e.command() + " --help')");
            return USAGE;
        }
        // An if-chain, not a pattern switch: a switch on types bootstraps a method handle at
        // run time, which costs milliseconds at every start; instanceof costs nothing.
        if (parsed instanceof Parsed.Run r) {
            try {
                return r.command().call();
            } catch (Exception e) {
                err.println(name + ": " + oneLine(e));
                return FAILED;
            }
        }
        out.print(parsed instanceof Parsed.Help h ? Help.of(h.spec(), h.path()) : version + "\n");
        out.flush();
        return 0;
    }

    /** The program itself as a command whose sub-commands are the commands, and {@code help [COMMAND]}. */
    private Spec<Object> root(PrintStream out, PrintStream err) {
        Spec<Object> root = Spec.of(name, description, Object::new);
        for (Spec<?> c : commands) root.subcommand(c);
        root.subcommand(Spec.<Object, HelpCommand>sub("help", "Display help information about the specified command.", p -> new HelpCommand(root, out, err))
                .optionalParameter("COMMAND", "The command to explain.", (h, v) -> h.command = v));
        return root;
    }

    private final class HelpCommand implements Command {
        private final Spec<Object> root;
        private final PrintStream out, err;
        String command;

        HelpCommand(Spec<Object> root, PrintStream out, PrintStream err) {
            this.root = root;
            this.out = out;
            this.err = err;
        }

        @Override
        public int call() {
            Spec<?> spec = command == null ? root : root.subcommand(command);
            if (spec == null) {
                err.println(name + ": Unknown command: '" + command + "' (see '" + name + " --help')");
                return USAGE;
            }
            out.print(Help.of(spec, spec == root ? name : name + " " + command));
            out.flush();
            return 0;
        }
    }

    /** The single line a user sees for any failure. */
    public static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        return m.lines().findFirst().orElse(m);
    }
}
