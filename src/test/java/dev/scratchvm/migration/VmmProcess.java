package dev.scratchvm.migration;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A VMM (client or server) as its own JVM process, as {@code ./scratchvm} starts it, whose
 * stderr lines can be awaited while it runs. Closing it kills whatever is still running, so a
 * failing test leaves no server behind.
 */
final class VmmProcess implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final String MAIN = "dev.scratchvm.cli.Main";
    /** As the launcher: JVM warnings on stderr, never in the guest's stdout; C1 and serial GC start faster. */
    private static final List<String> JVM_OPTIONS = List.of("--enable-native-access=ALL-UNNAMED",
            "-Xlog:disable", "-Xlog:all=warning:stderr", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto");

    private final Process process;
    private final List<String> command;
    private final List<String> err = new ArrayList<>();
    private final StringBuilder out = new StringBuilder();
    private final Thread errReader, outReader;

    private VmmProcess(Process process, List<String> command) {
        this.process = process;
        this.command = command;
        this.errReader = drain(process.getErrorStream(), line -> {
            synchronized (err) {
                err.add(line);
                err.notifyAll();
            }
        });
        this.outReader = drain(process.getInputStream(), line -> {
            synchronized (out) {
                out.append(line).append('\n');
            }
        });
    }

    /** Starts {@code scratchvm ARGS...} in {@code cwd}. */
    static VmmProcess start(Path cwd, String... args) {
        return start(cwd, List.of(), args);
    }

    /** As {@link #start(Path, String...)}, behind a wrapper such as {@code ip netns exec NS}. */
    static VmmProcess start(Path cwd, List<String> wrapper, String... args) {
        List<String> cmd = new ArrayList<>(wrapper);
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(JVM_OPTIONS);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(MAIN);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        try {
            return new VmmProcess(pb.start(), cmd);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the VMM: " + cmd, e);
        }
    }

    private static Thread drain(InputStream in, java.util.function.Consumer<String> sink) {
        return Thread.ofPlatform().daemon().name("vmm-output").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) sink.accept(line);
            } catch (IOException ignored) {
                // The process was killed; keep what arrived.
            }
        });
    }

    /** Waits for a stderr line matching {@code regex}; returns its match. Fails if the process ends first. */
    Matcher awaitLine(String regex, Duration timeout) {
        Pattern p = Pattern.compile(regex);
        long until = System.nanoTime() + timeout.toNanos();
        int seen = 0;
        synchronized (err) {
            while (true) {
                for (; seen < err.size(); seen++) {
                    Matcher m = p.matcher(err.get(seen));
                    if (m.matches()) return m;
                }
                long left = until - System.nanoTime();
                if (left <= 0 || (!process.isAlive() && !errReader.isAlive())) {
                    throw new AssertionError("no line matching " + regex + (process.isAlive() ? " within " + timeout : " before the VMM exited")
                            + "\n" + this);
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

    /** The exit status; kills the process and fails when it does not exit in time. */
    int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor();
                throw new AssertionError("VMM did not exit within " + timeout + "\n" + this);
            }
            errReader.join(5_000);
            outReader.join(5_000);
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted");
        }
    }

    int awaitExit() {
        return awaitExit(TIMEOUT);
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL, as a crash would; waits until it is gone. */
    void kill() {
        try {
            process.destroyForcibly().waitFor();
            errReader.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    List<String> stderrLines() {
        synchronized (err) {
            return List.copyOf(err);
        }
    }

    String stdout() {
        synchronized (out) {
            return out.toString();
        }
    }

    long count(Predicate<String> line) {
        return stderrLines().stream().filter(line).count();
    }

    @Override
    public void close() {
        if (process.isAlive()) kill();
    }

    @Override
    public String toString() {
        int main = command.indexOf(MAIN);
        return "scratchvm " + String.join(" ", command.subList(main + 1, command.size()))
                + (process.isAlive() ? " (running)" : " -> exit " + process.exitValue())
                + "\n--- stderr ---\n" + String.join("\n", stderrLines()) + "\n--- stdout ---\n" + stdout();
    }
}
