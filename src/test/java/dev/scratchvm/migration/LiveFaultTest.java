package dev.scratchvm.migration;

import dev.scratchvm.control.Controller;
import dev.scratchvm.migration.CuttingProxy.At;
import dev.scratchvm.migration.CuttingProxy.Direction;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.vmm.Machine;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A live migration's connection fails at every step of protocol 2 — in the first round, at
 * the end of a later one, on the server's word that a round is durable, around the state and
 * the commit — while the guest appends numbered lines to a file. Whatever the step, the VM
 * ends up running in exactly one place and the file holds every line exactly once.
 */
@KvmTest
@DisplayName("Live migration under faults")
@Tag(KvmTest.TIMING) // the guest must still be at work when the cut or the kill lands: wall-clock bound
class LiveFaultTest {
    private static final long MEMORY = 32L << 20;
    private static final String[] WRITER = {"writer", "200", "lines.txt", "1000000"};
    /** Busy for seconds: long enough that a migration is surely under way when the server dies. */
    private static final String[] LONG_WRITER = {"writer", "200", "lines.txt", "8000000"};
    /** A budget no stop can meet, and a short timeout: several rounds, then stop and copy. */
    private static final LiveOptions ROUNDS = new LiveOptions(Duration.ofMillis(1), Duration.ofMillis(300),
            LiveOptions.OnTimeout.STOP_AND_COPY, false);

    @TempDir
    Path dir;

    static Stream<Arguments> cuts() {
        return Stream.of(
                Arguments.of(Direction.CLIENT_TO_SERVER, At.middle(MessageType.PREPARE), false),
                Arguments.of(Direction.CLIENT_TO_SERVER, At.middle(MessageType.MEMORY), false),
                Arguments.of(Direction.SERVER_TO_CLIENT, At.start(MessageType.ROUND_DONE, 0), false),
                Arguments.of(Direction.CLIENT_TO_SERVER, At.start(MessageType.ROUND, 0).nth(2), false),
                Arguments.of(Direction.SERVER_TO_CLIENT, At.middle(MessageType.ROUND_DONE).nth(3), false),
                Arguments.of(Direction.CLIENT_TO_SERVER, At.start(MessageType.ROUND, 0).nth(5), false),
                Arguments.of(Direction.CLIENT_TO_SERVER, At.middle(MessageType.STATE), false),
                Arguments.of(Direction.SERVER_TO_CLIENT, At.start(MessageType.READY, 0), false),
                Arguments.of(Direction.CLIENT_TO_SERVER, At.start(MessageType.COMMIT, 0), false),
                Arguments.of(Direction.CLIENT_TO_SERVER, At.end(MessageType.COMMIT, 0), true),
                Arguments.of(Direction.SERVER_TO_CLIENT, At.start(MessageType.COMMITTED, 0), true));
    }

    @ParameterizedTest(name = "{0} cut at {1}: the VM ends up at the server: {2}")
    @MethodSource("cuts")
    void aCutConnectionLeavesTheVmInExactlyOnePlaceAndEveryLineWrittenOnce(Direction direction, At at, boolean moves) throws Exception {
        String expectedFile = nativeFile();
        try (LiveVms vms = new LiveVms(dir, MEMORY); Machine m = vms.boot("steer", MEMORY, WRITER);
             Controller c = Controller.of(m, x -> false).start();
             CuttingProxy proxy = CuttingProxy.cutting(vms.server.address().getPort(), direction, at)) {
            Thread.sleep(100);
            MigrationClient.Result r = c.migrate(vms.client(Endpoint.parse(proxy.address(), "proxy", false)), ROUNDS, null);
            // Until the server has read COMMIT the VM stays here; from then on it is the server's (learned by a query).
            assertThat(r).isInstanceOf(moves ? MigrationClient.Result.Committed.class : MigrationClient.Result.Failed.class);
            switch (r) {
                case MigrationClient.Result.Committed ok -> {
                    assertThat(c.awaitEnd().exitStatus()).isZero();
                    assertThat(vms.arrivedEnding.get(120, TimeUnit.SECONDS).exitStatus()).isZero();
                }
                case MigrationClient.Result.Failed f -> {
                    assertThat(f.reason()).as("the migration ran while the guest did").doesNotContain("has ended");
                    // The guest goes on here; the server took nothing.
                    assertThat(c.awaitEnd().exitStatus()).isZero();
                    LiveMigrationTest.awaitLog(vms, "not taken");
                    assertThat(vms.arrivedEnding).isNotDone();
                }
                case MigrationClient.Result.InDoubt d -> throw new AssertionError("in doubt although the server could be asked: " + d.reason());
            }
            assertThat(Files.readString(vms.root.resolve("lines.txt"))).isEqualTo(expectedFile);
            assertThat(vms.source.output() + vms.destination.output()).isEqualTo("wrote 200 lines\n");
            try (var left = Files.list(dir.resolve("server-state"))) {
                assertThat(left.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".pages") || n.endsWith(".state")))
                        .as("spool files left behind").isEmpty();
            }
        }
    }

    @Test
    void aServerKilledMidRoundLeavesTheGuestRunningHere() throws Exception {
        String expectedFile = nativeFile(LONG_WRITER);
        Path serverRoot = Files.createDirectories(dir.resolve("server-root"));
        Path key = Lab.key(dir, new String(LiveVms.KEY_BYTES));
        try (LiveVms vms = new LiveVms(dir, MEMORY); Machine m = vms.boot("steer", MEMORY, LONG_WRITER);
             Controller c = Controller.of(m, x -> false).start();
             Lab.Server server = Lab.server(serverRoot, key, "--state-dir", dir.resolve("killed-state").toString())) {
            Thread.sleep(100);
            Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(300);   // rounds are under way: with a 1 ms budget they go on until the timeout
                    server.process().kill();
                } catch (InterruptedException ignored) {
                    // test ends
                }
            });
            LiveOptions slow = new LiveOptions(Duration.ofMillis(1), Duration.ofSeconds(5), LiveOptions.OnTimeout.ABORT, false);
            MigrationClient.Result r = c.migrate(vms.client(new Endpoint("127.0.0.1", server.port())), slow, null);
            assertThat(r).isInstanceOfSatisfying(MigrationClient.Result.Failed.class,
                    f -> assertThat(f.reason()).doesNotContain("has ended").doesNotContain("converge"));
            assertThat(c.awaitEnd().exitStatus()).isZero();
            assertThat(Files.readString(vms.root.resolve("lines.txt"))).isEqualTo(expectedFile);
        }
        // Started again on its state directory, the killed server discards what it had.
        try (Lab.Server again = Lab.server(serverRoot, key, "--state-dir", dir.resolve("killed-state").toString())) {
            try (var left = Files.list(dir.resolve("killed-state"))) {
                assertThat(left.map(p -> p.getFileName().toString())).containsOnly("lock", "journal");
            }
        }
    }

    /**
     * The source VMM killed while it waits for READY (every round, the state and END sent) or
     * for COMMITTED: before COMMIT the server discards the VM and it runs nowhere, as any VM
     * whose VMM is killed; after COMMIT the server runs it to its end, every line once.
     */
    @ParameterizedTest(name = "source killed while waiting for {0}")
    @org.junit.jupiter.params.provider.EnumSource(value = MessageType.class, names = {"READY", "COMMITTED"})
    void aSourceKilledAfterItsLastRoundLosesNothingAndDoublesNothing(MessageType waitingFor) throws Exception {
        String expectedFile = nativeFile();
        try (LiveVms vms = new LiveVms(dir, MEMORY);
             CuttingProxy proxy = CuttingProxy.holding(vms.server.address().getPort(), Direction.SERVER_TO_CLIENT, At.start(waitingFor, 0))) {
            vms.install("steer");
            Path key = Lab.key(dir, new String(LiveVms.KEY_BYTES));
            dev.scratchvm.testing.VmmProcess source = dev.scratchvm.testing.VmmProcess.start(vms.root, "run", "--trace", "none",
                    "--key-file", key.toString(), "--api-sock", dir.resolve("vm.sock").toString(), "./steer", WRITER[0], WRITER[1], WRITER[2], WRITER[3]);
            try (source) {
                awaitFile(dir.resolve("vm.sock"));
                Thread.sleep(100);
                Thread.ofVirtual().start(() -> {
                    try {
                        dev.scratchvm.control.ApiClient.migrate(dir.resolve("vm.sock"), proxy.address(), 1000, 30, "abort", false, false);
                    } catch (java.io.IOException ignored) {
                        // the VMM answering it is killed
                    }
                });
                assertThat(proxy.awaitHolding(60)).as("the migration reached %s: %s; server: %s", waitingFor, source, vms.serverLog()).isTrue();
                source.kill();
                proxy.release();
            }
            if (waitingFor == MessageType.READY) {
                LiveMigrationTest.awaitLog(vms, "not taken");
                assertThat(vms.arrivedEnding).isNotDone();
                String written = Files.readString(vms.root.resolve("lines.txt"));
                assertThat(expectedFile).startsWith(written);   // what it wrote, once, up to where it died
            } else {
                assertThat(vms.arrivedEnding.get(120, TimeUnit.SECONDS).exitStatus()).isZero();
                assertThat(Files.readString(vms.root.resolve("lines.txt"))).isEqualTo(expectedFile);
            }
        }
    }

    private static void awaitFile(Path p) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!Files.exists(p)) {
            if (System.nanoTime() > deadline) throw new AssertionError(p + " never appeared");
            Thread.sleep(10);
        }
    }

    private String nativeFile() throws Exception {
        return nativeFile(WRITER);
    }

    private String nativeFile(String[] writer) throws Exception {
        LiveVms.nativeOutput(dir, "steer", null, writer);
        return Files.readString(dir.resolve("native").resolve("lines.txt"));
    }
}
