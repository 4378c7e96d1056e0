package dev.scratchvm.control;

import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.linux.Stdio;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * guest/tests/steer.c in a test directory, booted in this JVM with its standard input on
 * a FIFO the test writes to and its output in files, or run natively for reference.
 */
final class SteerGuest implements AutoCloseable {
    static final long MEMORY = 16L << 20;

    final Path dir;
    final Path stdout, stderr, fifo;
    private final int in, out, err;

    private SteerGuest(Path dir) throws Exception {
        this.dir = dir;
        Files.copy(GuestPrograms.build("steer", GuestPrograms.Libc.MUSL), dir.resolve("steer"),
                StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
        stdout = dir.resolve("stdout.txt");
        stderr = dir.resolve("stderr.txt");
        fifo = dir.resolve("stdin.fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertThat(mkfifo.waitFor()).as("mkfifo").isZero();
        // O_RDWR: opening a FIFO this way does not wait for a writer, and reads block until data comes.
        in = Libc.check("open fifo", Libc.open(fifo.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0));
        out = Libc.check("open stdout", Libc.open(stdout.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644));
        err = Libc.check("open stderr", Libc.open(stderr.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644));
    }

    static SteerGuest in(Path dir) throws Exception {
        return new SteerGuest(dir);
    }

    MachineConfig config() {
        return new MachineConfig(MEMORY, dir, new Trace(Trace.Level.NONE, System.err, ""), false, new Stdio(in, out, err));
    }

    /** A machine at the program's entry, for {@code steer ARGS}. */
    Machine boot(String... args) throws Exception {
        ElfImage elf = ElfImage.parse(Files.readAllBytes(dir.resolve("steer")), "steer");
        List<String> argv = new ArrayList<>(List.of("./steer"));
        argv.addAll(List.of(args));
        return Machine.boot(config(), elf, argv, List.of(), "./steer", new byte[16]);
    }

    String output() throws Exception {
        return Files.readString(stdout);
    }

    /** Waits until the guest has printed {@code text}. */
    void awaitOutput(String text) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!output().contains(text)) {
            if (System.nanoTime() > deadline) throw new AssertionError("the guest never printed '" + text + "': " + output());
            Thread.sleep(5);
        }
    }

    /** Waits until the guest has written something to {@code file}. */
    void awaitOutputFile(Path file) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!Files.exists(file) || Files.size(file) == 0) {
            if (System.nanoTime() > deadline) throw new AssertionError("the guest never wrote to " + file);
            Thread.sleep(1);
        }
    }

    /** What {@code steer ARGS} prints natively with {@code input} on stdin. */
    String nativeOutput(byte[] input, String... args) {
        var run = GuestPrograms.runNatively(GuestPrograms.build("steer", GuestPrograms.Libc.MUSL), dir, List.of(args), Map.of(),
                input, Duration.ofSeconds(60));
        assertThat(run.exitCode()).as("native steer: %s", run.stderr()).isZero();
        return run.stdout();
    }

    @Override
    public void close() {
        Libc.close(in);
        Libc.close(out);
        Libc.close(err);
    }
}
