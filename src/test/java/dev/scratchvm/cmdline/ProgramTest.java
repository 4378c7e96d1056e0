package dev.scratchvm.cmdline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The command-line parser, on a small program declared here the way the real commands are. */
@DisplayName("Command-line parser")
class ProgramTest {
    /** What a command saw, for the assertions; each run gets a fresh list. */
    private final List<String> calls = new ArrayList<>();

    final class Copy implements Command {
        Path from, to;
        int times = 1;
        boolean verbose, force;
        final List<String> tags = new ArrayList<>();

        @Override
        public int call() {
            calls.add("copy " + from + " " + to + " x" + times + (verbose ? " -v" : "") + (force ? " -f" : "") + " " + tags);
            return 0;
        }
    }

    final class Exec implements Command {
        String program;
        final List<String> args = new ArrayList<>();
        boolean verbose;

        @Override
        public int call() {
            calls.add("exec " + program + " " + args + (verbose ? " -v" : ""));
            return 3;
        }
    }

    /** {@code ctl SOCK pause|snapshot FILE [--diff]|status [--json]}: sub-commands after a parameter. */
    static final class Ctl {
        String socket;
    }

    record Snapshot(Ctl ctl, List<String> calls, Path[] file, boolean[] diff) implements Command {
        @Override
        public int call() {
            calls.add("snapshot " + ctl.socket + " " + file[0] + (diff[0] ? " --diff" : ""));
            return 0;
        }
    }

    private Program program() {
        Spec<Copy> copy = Spec.of("copy", "Copy a file.", Copy::new)
                .parameter("FROM", "Source.", (c, v) -> c.from = Values.path(v))
                .optionalParameter("TO", "Target (default: out).", (c, v) -> c.to = Values.path(v))
                .option("--times", "N", "How often (default: 1).", (c, v) -> c.times = Values.integer(v))
                .repeatable("--tag", "T", "A tag (repeatable).", (c, v) -> c.tags.add(v))
                .flag("Talk.", c -> c.verbose = true, "-v", "--verbose")
                .flag("Overwrite.", c -> c.force = true, "-f", "--force");
        Spec<Exec> exec = Spec.of("exec", "Run a program.", Exec::new)
                .flag("Talk.", c -> c.verbose = true, "-v", "--verbose")
                .parameter("PROGRAM", "The program.", (c, v) -> c.program = v)
                .rest("ARGS", "Its arguments.", (c, v) -> c.args.add(v));
        Spec<Ctl> ctl = Spec.of("ctl", "Control a VM.", Ctl::new)
                .parameter("SOCK", "Control socket.", (c, v) -> c.socket = v)
                .subcommand(Spec.<Ctl, Command>sub("pause", "Pause it.", c -> () -> {
                    calls.add("pause " + c.socket);
                    return 0;
                }))
                .subcommand(Spec.<Ctl, Snapshot>sub("snapshot", "Snapshot it.", c -> new Snapshot(c, calls, new Path[1], new boolean[1]))
                        .parameter("FILE", "Image.", (s, v) -> s.file()[0] = Values.path(v))
                        .flag("Only pages changed since the last one.", s -> s.diff()[0] = true, "--diff"));
        Spec<Command> fail = Spec.<Command>of("fail", "Fails.", () -> () -> {
            throw new IllegalStateException("it broke\nsecond line");
        }).hidden();
        return new Program("tool", "tool 1.0", "A tool.", List.of(copy, exec, ctl, fail));
    }

    private record Outcome(int exit, String out, String err) {
    }

    private Outcome run(String... args) {
        calls.clear();
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit = program().execute(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), args);
        return new Outcome(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private void usageError(String expected, String... args) {
        Outcome o = run(args);
        assertThat(o.exit()).as(String.join(" ", args)).isEqualTo(Program.USAGE);
        assertThat(o.err()).as(String.join(" ", args)).isEqualTo(expected + "\n");
        assertThat(calls).isEmpty();
    }

    @Test
    @DisplayName("options before, between and after parameters; --name=value; clustered flags; repeatable options in order")
    void optionsAnywhere() {
        assertThat(run("copy", "--times", "2", "a", "-vf", "--tag=x", "b", "--tag", "y").exit()).isZero();
        assertThat(calls).containsExactly("copy a b x2 -v -f [x, y]");
        run("copy", "a");
        assertThat(calls).containsExactly("copy a null x1 []");
    }

    @Test
    @DisplayName("-- ends the options")
    void doubleDash() {
        run("copy", "--", "-v", "--times");
        assertThat(calls).containsExactly("copy -v --times x1 []");
    }

    @Test
    @DisplayName("everything after the first rest argument belongs to it, options included; the exit code is the command's")
    void rest() {
        Outcome o = run("exec", "-v", "prog", "-v", "--help", "--", "x");
        assertThat(o.exit()).isEqualTo(3);
        assertThat(calls).containsExactly("exec prog [-v, --help, --, x] -v");
    }

    @Test
    @DisplayName("usage mistakes: one line naming the option or parameter, exit 2")
    void mistakes() {
        usageError("tool: Unknown option: '--frob' (see 'tool copy --help')", "copy", "--frob", "a");
        usageError("tool: Unknown option: '-vx' (see 'tool copy --help')", "copy", "-vx", "a");
        usageError("tool: Missing required parameter: 'FROM' (see 'tool copy --help')", "copy");
        usageError("tool: Missing required parameter for option '--times' (N) (see 'tool copy --help')", "copy", "a", "--times");
        usageError("tool: Missing required parameter for option '--times' (N) (see 'tool copy --help')", "copy", "a", "--times", "-v");
        usageError("tool: Invalid value for option '--times': 'many' is not an int (see 'tool copy --help')", "copy", "--times=many", "a");
        usageError("tool: option '--times' (N) should be specified only once (see 'tool copy --help')", "copy", "--times=1", "--times=2", "a");
        usageError("tool: option '--verbose' should be specified only once (see 'tool copy --help')", "copy", "-vv", "a");
        usageError("tool: option '--force' takes no value (see 'tool copy --help')", "copy", "--force=yes", "a");
        usageError("tool: Unmatched argument at index 2: 'c' (see 'tool copy --help')", "copy", "a", "b", "c");
        usageError("tool: Unknown command: 'move' (see 'tool --help')", "move");
        usageError("tool: Missing required subcommand (see 'tool --help')");
    }

    @Test
    @DisplayName("sub-commands after a parameter, with their own parameters and flags, see the parent's values")
    void subcommands() {
        assertThat(run("ctl", "/run/vm.sock", "snapshot", "img", "--diff").exit()).isZero();
        assertThat(calls).containsExactly("snapshot /run/vm.sock img --diff");
        run("ctl", "s", "pause");
        assertThat(calls).containsExactly("pause s");
        usageError("tool: Missing required subcommand (see 'tool ctl --help')", "ctl", "s");
        usageError("tool: Unknown command: 'explode' (see 'tool ctl --help')", "ctl", "s", "explode");
        usageError("tool: Missing required parameter: 'FILE' (see 'tool ctl snapshot --help')", "ctl", "s", "snapshot");
        assertThat(run("ctl", "s", "snapshot", "--help").out()).startsWith("Usage: tool ctl snapshot [-hV] [--diff] FILE\n");
        assertThat(run("ctl", "--help").out()).startsWith("Usage: tool ctl [-hV] SOCK COMMAND\n")
                .contains("  pause     Pause it.\n", "  snapshot  Snapshot it.\n");
    }

    @Test
    @DisplayName("a failing command: one line, exit 70")
    void failure() {
        Outcome o = run("fail");
        assertThat(o.exit()).isEqualTo(Program.FAILED);
        assertThat(o.err()).isEqualTo("tool: it broke\n");
    }

    @Test
    @DisplayName("help and version, anywhere in a command")
    void helpAndVersion() {
        Outcome top = run("--help");
        assertThat(top.exit()).isZero();
        assertThat(top.out()).startsWith("Usage: tool [-hV] COMMAND\nA tool.\n")
                .contains("  copy  Copy a file.\n", "  help  Display help information about the specified command.\n")
                .doesNotContain("fail");
        assertThat(run("help").out()).isEqualTo(top.out());
        assertThat(run("-V").out()).isEqualTo("tool 1.0\n");
        assertThat(run("copy", "a", "--version").out()).isEqualTo("tool 1.0\n");
        String copy = run("copy", "a", "-h").out();
        assertThat(calls).isEmpty();
        assertThat(copy).isEqualTo(run("help", "copy").out()).isEqualTo("""
                Usage: tool copy [-fhvV] [--times=N] [--tag=T]... FROM [TO]
                Copy a file.
                      FROM        Source.
                      [TO]        Target (default: out).
                  -f, --force     Overwrite.
                  -h, --help      Show this help message and exit.
                      --tag=T     A tag (repeatable).
                      --times=N   How often (default: 1).
                  -v, --verbose   Talk.
                  -V, --version   Print version information and exit.
                """);
        usageError("tool: Unknown command: 'move' (see 'tool --help')", "help", "move");
    }

    @Test
    @DisplayName("declaring an option or sub-command twice is a programming error")
    void duplicates() {
        assertThatThrownBy(() -> Spec.of("x", "X.", Object::new).flag("A.", c -> { }, "--a").flag("B.", c -> { }, "--a"))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> Spec.of("x", "X.", Object::new).flag("Help.", c -> { }, "--help"))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> Spec.of("x", "X.", Object::new).rest("A", "A.", (c, v) -> { }).parameter("B", "B.", (c, v) -> { }))
                .isInstanceOf(IllegalStateException.class);
    }
}
