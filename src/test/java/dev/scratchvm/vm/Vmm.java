package dev.scratchvm.vm;

import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the VMM the way a user does, as its own process: the JDK running the tests, this
 * class path, {@code dev.scratchvm.cli.Main ARGS}, in a chosen working directory. A run that
 * does not finish within its timeout is killed and fails the test.
 */
final class Vmm {
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    /**
     * JVM options that only make start-up cheaper (each test starts a VMM): C1 only, the serial
     * collector, the default CDS archive. Unified logging is off so a JVM warning can never end
     * up in the guest's stdout.
     */
    private static final List<String> JVM_OPTIONS = List.of("--enable-native-access=ALL-UNNAMED",
            "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto", "-Xlog:disable");

    /** How a VMM process ended: its exit code and everything it printed. */
    record Result(int exit, String stdout, String stderr) {
        List<String> stderrLines() {
            return stderr.lines().toList();
        }

        /** For assertion messages: the whole run at a glance. */
        String describe() {
            return "exit " + exit + "\n--- stdout:\n" + abbreviate(stdout) + "\n--- stderr:\n" + abbreviate(stderr);
        }

        private static String abbreviate(String s) {
            return s.length() <= 4000 ? s : s.substring(0, 4000) + "\n... (" + s.length() + " chars)";
        }
    }

    private Vmm() {
    }

    /** {@code scratchvm ARGS} in {@code dir}, stdin from /dev/null. */
    static Result run(Path dir, String... args) {
        return run(dir, null, DEFAULT_TIMEOUT, Arrays.asList(args));
    }

    /** {@code scratchvm ARGS} in {@code dir}, with {@code stdin} as its standard input. */
    static Result runWithInput(Path dir, byte[] stdin, String... args) {
        return run(dir, stdin, DEFAULT_TIMEOUT, Arrays.asList(args));
    }

    /**
     * @param stdin bytes for standard input, or null for /dev/null
     * @param timeout the process is killed and the test fails after this long
     */
    static Result run(Path dir, byte[] stdin, Duration timeout, List<String> args) {
        return run(dir, stdin, timeout, command(args), args);
    }

    /** The command line that runs {@code scratchvm ARGS}, for tests that wrap it in another program. */
    static List<String> command(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(JVM_OPTIONS);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.scratchvm.cli.Main");
        cmd.addAll(args);
        return cmd;
    }

    /** Runs {@code cmd} (the VMM, possibly wrapped) as {@link #run(Path, byte[], Duration, List)} does. */
    static Result run(Path dir, byte[] stdin, Duration timeout, List<String> cmd, List<String> args) {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        if (stdin == null) pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the VMM: " + cmd, e);
        }
        Drain out = new Drain(p.getInputStream(), "vmm-stdout");
        Drain err = new Drain(p.getErrorStream(), "vmm-stderr");
        if (stdin != null) {
            Thread.ofPlatform().daemon().name("vmm-stdin").start(() -> {
                try (OutputStream os = p.getOutputStream()) {
                    os.write(stdin);
                } catch (IOException ignored) {
                    // The guest may exit without reading all of its input.
                }
            });
        }
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                fail("scratchvm " + String.join(" ", args) + " did not finish within " + timeout
                        + " and was killed\n--- stdout so far:\n" + out.text() + "\n--- stderr so far:\n" + err.text());
            }
            return new Result(p.exitValue(), out.text(), err.text());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running the VMM", e);
        }
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** Reads a stream to its end on its own thread, so neither pipe can fill up and block the VMM. */
    private static final class Drain {
        private final Thread thread;
        private volatile byte[] bytes = new byte[0];

        Drain(InputStream in, String name) {
            thread = Thread.ofPlatform().daemon().name(name).start(() -> {
                try (in) {
                    bytes = in.readAllBytes();
                } catch (IOException ignored) {
                    // Closed when a timed-out process is killed; keep what arrived.
                }
            });
        }

        String text() throws InterruptedException {
            thread.join(10_000);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }
}
