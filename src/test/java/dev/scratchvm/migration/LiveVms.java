package dev.scratchvm.migration;

import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.control.Controller;
import dev.scratchvm.linux.Stdio;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A source VM under a controller and a migration server, both in this JVM, sharing one root
 * directory (shared storage, as on one host) but each with its own standard input (a FIFO)
 * and output files: what the guest printed before the move is in the source's, after it in
 * the destination's.
 */
final class LiveVms implements AutoCloseable {
    static final byte[] KEY_BYTES = "live-migration-test-key-0123456789".getBytes();
    static final MigrationKey KEY = MigrationKey.of(KEY_BYTES);
    static final Timeouts TIMEOUTS = Timeouts.ofIdle(Duration.ofSeconds(10));

    final Path root;
    final Side source, destination;
    final Handoffs handoffs;
    final MigrationServer server;
    private final TlsSettings clientTls;
    final List<String> serverLog = new ArrayList<>();
    /** How the VM that arrived ended (completes only if one arrived). */
    final CompletableFuture<Controller.Ending> arrivedEnding = new CompletableFuture<>();
    private final Thread serving;

    /** One VMM's view of the guest's standard streams. */
    static final class Side implements AutoCloseable {
        final Path stdout, fifo;
        private final int in, out, err;

        Side(Path dir, String name) throws Exception {
            stdout = dir.resolve(name + ".out");
            fifo = dir.resolve(name + ".in");
            Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
            assertThat(mkfifo.waitFor()).as("mkfifo").isZero();
            // O_RDWR: opening a FIFO this way does not wait for a writer, and reads block until data comes.
            in = Libc.check("open fifo", Libc.open(fifo.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0));
            out = Libc.check("open stdout", Libc.open(stdout.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644));
            err = Libc.check("open stderr", Libc.open(dir.resolve(name + ".err").toString(),
                    Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644));
        }

        MachineConfig config(Path root, long memory) {
            return new MachineConfig(memory, root, new Trace(Trace.Level.NONE, System.err, ""), false, new Stdio(in, out, err));
        }

        String output() throws IOException {
            return Files.readString(stdout);
        }

        void input(String text) throws IOException {
            Files.writeString(fifo, text);
        }

        @Override
        public void close() {
            Libc.close(in);
            Libc.close(out);
            Libc.close(err);
        }
    }

    LiveVms(Path dir, long memory) throws Exception {
        this(dir, memory, null, null);
    }

    /** With {@code serverTls} and {@code clientTls} (both null for plaintext): the connection is TLS. */
    LiveVms(Path dir, long memory, TlsSettings serverTls, TlsSettings clientTls) throws Exception {
        this.clientTls = clientTls;
        root = Files.createDirectories(dir.resolve("root"));
        source = new Side(dir, "source");
        destination = new Side(dir, "destination");
        handoffs = Handoffs.open(dir.resolve("server-state"));
        server = MigrationServer.listen(new Endpoint("127.0.0.1", 0), new MigrationServer.Config(KEY, TIMEOUTS,
                destination.config(root, memory), handoffs, line -> {
            synchronized (serverLog) {
                serverLog.add(line);
            }
        }, serverTls));
        serving = Thread.ofPlatform().daemon().name("test-server").start(() -> {
            try {
                MigrationServer.Arrival a = server.next();
                handoffs.started(a.id());
                try (Machine m = a.machine(); Controller c = Controller.of(m, x -> false).start()) {
                    arrivedEnding.complete(c.awaitEnd());
                }
            } catch (InterruptedException e) {
                // closing
            } catch (Exception e) {
                arrivedEnding.completeExceptionally(e);
            }
        });
    }

    /** guest/tests/{@code program}.c, built and put in the shared root. */
    Path install(String program) throws IOException {
        Path p = root.resolve(program);
        Files.copy(GuestPrograms.build(program, GuestPrograms.Libc.MUSL), p, StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.COPY_ATTRIBUTES);
        return p;
    }

    /** Boots {@code program args} on the source side, {@code memory} bytes, from the shared root. */
    Machine boot(String program, long memory, String... args) throws Exception {
        Path p = install(program);
        List<String> argv = new ArrayList<>(List.of("./" + program));
        argv.addAll(List.of(args));
        return Machine.boot(source.config(root, memory), ElfImage.parse(Files.readAllBytes(p), program), argv, List.of(),
                "./" + program, new byte[16]);
    }

    /** What the program prints natively, with {@code stdin} (null for none), run in a directory of its own. */
    static String nativeOutput(Path dir, String program, byte[] stdin, String... args) throws IOException {
        Path d = Files.createDirectories(dir.resolve("native"));
        GuestPrograms.NativeRun r = GuestPrograms.runNatively(GuestPrograms.build(program, GuestPrograms.Libc.MUSL), d,
                List.of(args), java.util.Map.of(), stdin, Duration.ofSeconds(120));
        assertThat(r.exitCode()).as("native %s: %s", program, r.stderr()).isZero();
        return r.stdout();
    }

    MigrationClient client() {
        return client(new Endpoint("127.0.0.1", server.address().getPort()));
    }

    MigrationClient client(Endpoint to) {
        return new MigrationClient(to, KEY, clientTls, TIMEOUTS, line -> { });
    }

    List<String> serverLog() {
        synchronized (serverLog) {
            return List.copyOf(serverLog);
        }
    }

    @Override
    public void close() throws Exception {
        server.close();
        serving.interrupt();
        serving.join(10_000);
        handoffs.close();
        source.close();
        destination.close();
    }
}
