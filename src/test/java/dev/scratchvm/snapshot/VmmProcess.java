package dev.scratchvm.snapshot;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts the VMM as a brand-new JVM process, as {@code ./scratchvm} does, in a given working
 * directory (which is also the guest's root), and collects what it printed. Every save and
 * every restore in these tests goes through one of these, so nothing survives between steps
 * except the files on disk.
 */
final class VmmProcess {
    static final Duration TIMEOUT = Duration.ofSeconds(90);

    /** What one VMM process did. Trace lines and VMM messages are on stderr; the guest's stdout is stdout. */
    record Result(List<String> command, int exitCode, String stdout, String stderr, Duration elapsed) {
        List<String> stderrLines() {
            return stderr.lines().toList();
        }

        @Override
        public String toString() {
            return String.join(" ", command.subList(command.indexOf(MAIN) + 1, command.size())) + " -> exit " + exitCode
                    + " in " + elapsed.toMillis() + " ms\n--- stdout ---\n" + stdout + "--- stderr ---\n" + stderr;
        }
    }

    private static final String MAIN = "dev.scratchvm.cli.Main";
    /**
     * As the launcher: JVM warnings go to stderr, never into the guest's stdout. The rest only
     * makes start-up cheaper (C1 only, serial GC, the default CDS archive).
     */
    private static final List<String> JVM_OPTIONS = List.of("--enable-native-access=ALL-UNNAMED",
            "-Xlog:disable", "-Xlog:all=warning:stderr", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto");

    private VmmProcess() {
    }

    /** Runs {@code scratchvm ARGS...} in {@code cwd} with stdin from /dev/null. */
    static Result run(Path cwd, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(JVM_OPTIONS);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(MAIN);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        long start = System.nanoTime();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the VMM: " + cmd, e);
        }
        Drain out = new Drain(p.getInputStream()), err = new Drain(p.getErrorStream());
        try {
            if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                throw new AssertionError("VMM did not finish within " + TIMEOUT + ": " + String.join(" ", args)
                        + "\nstdout:\n" + out.text() + "\nstderr:\n" + err.text());
            }
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
            return new Result(List.copyOf(cmd), p.exitValue(), out.text(), err.text(), elapsed);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running the VMM", e);
        }
    }

    /** Reads a pipe to the end on its own thread, so a chatty VMM never blocks. */
    private static final class Drain {
        private final Thread thread;
        private volatile byte[] bytes = new byte[0];

        Drain(InputStream in) {
            thread = Thread.ofPlatform().daemon().name("vmm-output").start(() -> {
                try (in) {
                    bytes = in.readAllBytes();
                } catch (IOException ignored) {
                    // the process was killed; keep what arrived
                }
            });
        }

        String text() throws InterruptedException {
            thread.join(10_000);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }
}
