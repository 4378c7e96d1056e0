package dev.scratchvm.testing;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The VMM run the way a user runs it, as its own process: the JDK running the tests, this class
 * path, {@code dev.scratchvm.cli.Main ARGS}, in a chosen working directory (which is also the
 * guest's root). Nothing survives between two runs except the files on disk.
 *
 * <p>{@link #run} waits for the VMM to finish and returns a {@link Result}; {@link #start} leaves
 * it running (a {@code serve}, say) so that its stderr lines can be awaited. {@link #runProgram}
 * runs any other program the same way, e.g. a guest binary natively or the VMM behind a wrapper.
 * Both pipes are read on their own threads, so a chatty child can never block on a full pipe. A
 * child that outlives its timeout is killed and fails the test with what it printed so far;
 * closing a started process kills whatever is still running, so a failing test leaves nothing
 * behind.
 */
public final class VmmProcess implements AutoCloseable {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private static final String MAIN = "dev.scratchvm.cli.Main";
    /**
     * As the launcher: JVM warnings go to stderr, never into the guest's stdout. The rest only
     * makes start-up cheaper (each test starts a VMM): C1 only, serial GC, the default CDS archive.
     */
    private static final List<String> JVM_OPTIONS = List.of("--enable-native-access=ALL-UNNAMED",
            "-Xlog:disable", "-Xlog:all=warning:stderr", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");
    /**
     * An AOT cache for these VMM processes (made by {@link #trainAotCache}), or null: under
     * emulation it cuts each VMM start by seconds. The JVM takes it only with this class path.
     */
    private static volatile Path aotCache;

    /** How a process ended: its exit code (128 + N when killed by signal N) and everything it printed. */
    public record Result(int exit, String stdout, String stderr) {
        public List<String> stderrLines() {
            return stderr.lines().toList();
        }

        /** For assertion messages: the whole run at a glance. */
        public String describe() {
            return "exit " + exit + output(stdout, stderr);
        }

        @Override
        public String toString() {
            return describe();
        }
    }

    private final Process process;
    /** What the process is called in messages: {@code scratchvm ARGS}, or its command line. */
    private final String name;
    private final Pipe out, err;

    private VmmProcess(Process process, String name) {
        this.process = process;
        this.name = name;
        this.out = new Pipe(process.getInputStream(), "child-stdout");
        this.err = new Pipe(process.getErrorStream(), "child-stderr");
    }

    /** The command line that runs {@code scratchvm ARGS}, for tests that wrap it in another program. */
    public static List<String> command(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(JVM_OPTIONS);
        Path cache = aotCache;
        cmd.add(cache != null ? "-XX:AOTCache=" + cache : "-Xshare:auto");
        cmd.add("-cp");
        cmd.add(System.getProperty("scratchvm.test.vmmClassPath", System.getProperty("java.class.path")));
        cmd.add(MAIN);
        cmd.addAll(args);
        return cmd;
    }

    /**
     * Records an AOT cache for the VMM processes this JVM starts, from one training run of the
     * VMM (a glibc program run until it saves itself: boot, system calls, capture, image
     * writing), and uses it from then on. Returns what happened, for the log; a failed
     * training changes nothing.
     */
    public static String trainAotCache(Path cache, Duration timeout) {
        Path dir = cache.getParent();
        Path program = GuestPrograms.build("tls_save", GuestPrograms.Libc.GLIBC);
        List<String> cmd = new ArrayList<>(command(List.of("run", "--trace=none", "--image",
                dir.resolve(cache.getFileName() + ".img").toString(), program.toString())));
        cmd.remove("-Xshare:auto");
        cmd.add(cmd.indexOf(MAIN) - 2, "-XX:AOTCacheOutput=" + cache);
        long start = System.nanoTime();
        String failure;
        try {
            Result r = start(dir, cmd, null, null, "scratchvm run (AOT training)").finish(timeout);
            failure = r.exit() != 0 || !Files.isRegularFile(cache) ? r.describe().lines().findFirst().orElse("") : null;
        } catch (AssertionError | RuntimeException e) {
            failure = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
        }
        long secs = Duration.ofNanos(System.nanoTime() - start).toSeconds();
        if (failure != null) {
            return "no AOT cache for VMM processes (training failed after " + secs + " s: " + failure + ")";
        }
        aotCache = cache;
        return "VMM processes start from an AOT cache (trained in " + secs + " s)";
    }

    /** {@code scratchvm ARGS} in {@code dir}, stdin from /dev/null, within {@link #DEFAULT_TIMEOUT}. */
    public static Result run(Path dir, String... args) {
        return run(dir, null, DEFAULT_TIMEOUT, List.of(args));
    }

    /** {@code scratchvm ARGS} in {@code dir}, with {@code stdin} as its standard input. */
    public static Result runWithInput(Path dir, byte[] stdin, String... args) {
        return run(dir, stdin, DEFAULT_TIMEOUT, List.of(args));
    }

    /**
     * @param stdin bytes for standard input, or null for /dev/null
     * @param timeout the process is killed and the test fails after this long
     */
    public static Result run(Path dir, byte[] stdin, Duration timeout, List<String> args) {
        return start(dir, command(args), null, stdin, vmmName(args)).finish(timeout);
    }

    /**
     * Runs any program, {@code cmd} (its path first), in {@code dir} as {@link #run(Path, byte[],
     * Duration, List)} runs the VMM.
     *
     * @param env the complete environment of the child (nothing is inherited), or null to inherit
     *     this JVM's
     */
    public static Result runProgram(Path dir, List<String> cmd, Map<String, String> env, byte[] stdin,
            Duration timeout) {
        return start(dir, cmd, env, stdin, String.join(" ", cmd)).finish(timeout);
    }

    /** Starts {@code scratchvm ARGS} in {@code dir}, stdin from /dev/null, and leaves it running. */
    public static VmmProcess start(Path dir, String... args) {
        return start(dir, List.of(), args);
    }

    /** As {@link #start(Path, String...)}, behind a wrapper such as {@code ip netns exec NS}. */
    public static VmmProcess start(Path dir, List<String> wrapper, String... args) {
        List<String> cmd = new ArrayList<>(wrapper);
        cmd.addAll(command(List.of(args)));
        return start(dir, cmd, null, null, vmmName(List.of(args)));
    }

    private static String vmmName(List<String> args) {
        return "scratchvm " + String.join(" ", args);
    }

    private static VmmProcess start(Path dir, List<String> cmd, Map<String, String> env, byte[] stdin, String name) {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        if (env != null) {
            pb.environment().clear();
            pb.environment().putAll(env);
        }
        if (stdin == null) pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + ": " + cmd, e);
        }
        if (stdin != null) {
            Thread.ofPlatform().daemon().name("child-stdin").start(() -> {
                try (OutputStream os = p.getOutputStream()) {
                    os.write(stdin);
                } catch (IOException ignored) {
                    // The child may exit without reading all of its input.
                }
            });
        }
        return new VmmProcess(p, name);
    }

    /** Waits for the process to end ({@link #awaitExit(Duration)}) and returns all it printed. */
    private Result finish(Duration timeout) {
        int exit = awaitExit(timeout);
        return new Result(exit, out.text(), err.text());
    }

    /** Waits for a stderr line matching {@code regex}; returns its match. Fails if the process ends first. */
    public Matcher awaitLine(String regex, Duration timeout) {
        Pattern pattern = Pattern.compile(regex);
        long until = System.nanoTime() + timeout.toNanos();
        int seen = 0;
        synchronized (err) {
            while (true) {
                List<String> lines = err.lines();
                for (; seen < lines.size(); seen++) {
                    Matcher m = pattern.matcher(lines.get(seen));
                    if (m.matches()) return m;
                }
                long left = until - System.nanoTime();
                if (left <= 0 || (err.ended() && !process.isAlive())) {
                    throw new AssertionError("no line matching " + regex
                            + (process.isAlive() ? " within " + timeout : " before the VMM exited") + "\n" + this);
                }
                try {
                    err.wait(Math.max(1, Math.min(100, left / 1_000_000)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted");
                }
            }
        }
    }

    /** The exit status; kills the process and fails the test when it does not finish in time. */
    public int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                out.join();
                err.join();
                throw new AssertionError(name + " did not finish within " + timeout + " and was killed"
                        + output(out.text(), err.text()));
            }
            out.join();
            err.join();
            return process.exitValue();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + name, e);
        }
    }

    /** {@link #awaitExit(Duration)} within {@link #DEFAULT_TIMEOUT}. */
    public int awaitExit() {
        return awaitExit(DEFAULT_TIMEOUT);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL, as a crash would; waits until it is gone. */
    public void kill() {
        try {
            process.destroyForcibly().waitFor();
            err.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The complete lines on stderr so far. */
    public List<String> stderrLines() {
        return err.lines();
    }

    /** Stdout so far. */
    public String stdout() {
        return out.text();
    }

    /** How many stderr lines so far match {@code line}. */
    public long count(Predicate<String> line) {
        return stderrLines().stream().filter(line).count();
    }

    @Override
    public void close() {
        if (process.isAlive()) kill();
    }

    @Override
    public String toString() {
        return name + (process.isAlive() ? " (running)" : " -> exit " + process.exitValue()) + output(out.text(), err.text());
    }

    private static String output(String stdout, String stderr) {
        return "\n--- stdout:\n" + abbreviate(stdout) + "\n--- stderr:\n" + abbreviate(stderr);
    }

    private static String abbreviate(String s) {
        return s.length() <= 4000 ? s : s.substring(0, 4000) + "\n... (" + s.length() + " chars)";
    }

    /** Reads one of the child's pipes to its end on its own thread; waiters on it are woken as bytes arrive. */
    private static final class Pipe {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final Thread thread;
        private boolean ended;

        Pipe(InputStream in, String name) {
            thread = Thread.ofPlatform().daemon().name(name).start(() -> {
                byte[] buffer = new byte[8192];
                try (in) {
                    for (int n; (n = in.read(buffer)) >= 0; ) {
                        synchronized (this) {
                            bytes.write(buffer, 0, n);
                            notifyAll();
                        }
                    }
                } catch (IOException ignored) {
                    // Closed when the process is killed; keep what arrived.
                } finally {
                    synchronized (this) {
                        ended = true;
                        notifyAll();
                    }
                }
            });
        }

        synchronized String text() {
            return bytes.toString(StandardCharsets.UTF_8);
        }

        synchronized boolean ended() {
            return ended;
        }

        /** The lines so far: those ended by a newline, and once the pipe has ended, the last one too. */
        synchronized List<String> lines() {
            String text = text();
            return (ended ? text : text.substring(0, text.lastIndexOf('\n') + 1)).lines().toList();
        }

        /** Waits (a bounded while) until everything written before the pipe closed has been read. */
        void join() throws InterruptedException {
            thread.join(10_000);
        }
    }
}
