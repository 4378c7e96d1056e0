package dev.scratchvm.migration;

import dev.scratchvm.control.Controller;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.vmm.Machine;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A running VM moves to a server while its guest goes on: memory in rounds, the guest stopped
 * only for the last pages and its state. Whatever the guest was doing, the output of the two
 * halves together is exactly an unmigrated native run's, and a migration that fails leaves
 * the guest running where it was, nothing lost.
 */
@KvmTest
@DisplayName("Live migration")
@Tag(KvmTest.TIMING) // the guest must still be at work when the migration starts and stops: wall-clock bound
class LiveMigrationTest {
    private static final long MEMORY = 64L << 20;
    private static final LiveOptions DEFAULT = LiveOptions.DEFAULT;

    @TempDir
    Path dir;

    @Test
    void aComputeLoopMovesMidwayAndPrintsTheChecksumOfAnUninterruptedRun() throws Exception {
        String expected = LiveVms.nativeOutput(dir, "steer", null, "compute", "600000000");
        try (LiveVms vms = new LiveVms(dir, MEMORY); Machine m = vms.boot("steer", MEMORY, "compute", "600000000");
             Controller c = Controller.of(m, x -> false).start()) {
            Thread.sleep(100);
            MigrationClient.Result r = c.migrate(vms.client(), DEFAULT, null);
            assertThat(r).isInstanceOf(MigrationClient.Result.Committed.class);
            assertThat(c.awaitEnd().exitStatus()).isZero();
            assertThat(vms.arrivedEnding.get(60, TimeUnit.SECONDS).exitStatus()).isZero();
            assertThat(vms.source.output() + vms.destination.output()).isEqualTo(expected);
        }
    }

    @Test
    void aGuestRewritingItsMemoryKeepsEveryPageThroughManyRounds() throws Exception {
        String expected = LiveVms.nativeOutput(dir, "live", null, "churn", "24", "400");
        try (LiveVms vms = new LiveVms(dir, MEMORY); Machine m = vms.boot("live", MEMORY, "churn", "24", "400");
             Controller c = Controller.of(m, x -> false).start()) {
            Thread.sleep(100);
            // A budget the busy guest cannot meet at once: several rounds, then a stop and copy.
            LiveOptions options = new LiveOptions(Duration.ofMillis(3), Duration.ofMillis(800), LiveOptions.OnTimeout.STOP_AND_COPY, false);
            MigrationClient.Result r = c.migrate(vms.client(), options, null);
            assertThat(r).isInstanceOfSatisfying(MigrationClient.Result.Committed.class,
                    ok -> assertThat(ok.stats().live().rounds()).isGreaterThan(2));
            assertThat(vms.arrivedEnding.get(120, TimeUnit.SECONDS).exitStatus()).isZero();
            assertThat(vms.source.output() + vms.destination.output()).isEqualTo(expected).startsWith("ok ");
        }
    }

    @Test
    void aGuestWritingAFileContinuouslyLeavesEveryLineInItOnce() throws Exception {
        Path nativeDir = Files.createDirectories(dir.resolve("native"));
        String expected = LiveVms.nativeOutput(dir, "steer", null, "writer", "1000", "lines.txt", "200000");
        String expectedFile = Files.readString(nativeDir.resolve("lines.txt"));
        try (LiveVms vms = new LiveVms(dir, MEMORY); Machine m = vms.boot("steer", MEMORY, "writer", "1000", "lines.txt", "200000");
             Controller c = Controller.of(m, x -> false).start()) {
            // Moved while it writes: once some lines are in (a fixed sleep lost the race to a fast host).
            Path file = vms.root.resolve("lines.txt");
            for (long until = System.nanoTime() + 10_000_000_000L; System.nanoTime() - until < 0; Thread.sleep(5)) {
                if (Files.exists(file) && Files.size(file) >= 10 * 27) break;
            }
            assertThat(c.migrate(vms.client(), DEFAULT, null)).isInstanceOf(MigrationClient.Result.Committed.class);
            assertThat(vms.arrivedEnding.get(120, TimeUnit.SECONDS).exitStatus()).isZero();
            assertThat(Files.readString(vms.root.resolve("lines.txt"))).isEqualTo(expectedFile);
            assertThat(vms.source.output() + vms.destination.output()).isEqualTo(expected);
        }
    }

    @Test
    @Tag(KvmTest.HARDWARE_PATH)
    void aGuestBlockedReadingStandardInputReadsWhatArrivesAtTheDestination() throws Exception {
        String expected = LiveVms.nativeOutput(dir, "steer", "over there\n".getBytes(StandardCharsets.UTF_8), "read");
        try (LiveVms vms = new LiveVms(dir, MEMORY); Machine m = vms.boot("steer", MEMORY, "read");
             Controller c = Controller.of(m, x -> false).start()) {
            awaitOutput(vms.source, "waiting for input");
            assertThat(c.migrate(vms.client(), DEFAULT, null)).isInstanceOf(MigrationClient.Result.Committed.class);
            vms.destination.input("over there\n");
            assertThat(vms.arrivedEnding.get(60, TimeUnit.SECONDS).exitStatus()).isZero();
            assertThat(vms.source.output() + vms.destination.output()).isEqualTo(expected);
        }
    }

    @Test
    void aGuestThatNeverConvergesKeepsRunningHereWhenTheTimeoutAborts() throws Exception {
        try (LiveVms vms = new LiveVms(dir, MEMORY); Machine m = vms.boot("live", MEMORY, "rate", "16", "65536", "3");
             Controller c = Controller.of(m, x -> false).start()) {
            Thread.sleep(200);
            // 1 ms is less than the stop alone costs: no round can ever fit it.
            LiveOptions options = new LiveOptions(Duration.ofMillis(1), Duration.ofMillis(500), LiveOptions.OnTimeout.ABORT, false);
            MigrationClient.Result r = c.migrate(vms.client(), options, null);
            assertThat(r).isInstanceOfSatisfying(MigrationClient.Result.Failed.class,
                    f -> assertThat(f.reason()).contains("did not converge").contains("keeps running here"));
            assertThat(c.state()).isEqualTo(Controller.State.RUNNING);
            assertThat(c.awaitEnd().exitStatus()).isZero();
            assertThat(vms.source.output()).isEqualTo("done\n");
            assertThat(vms.arrivedEnding).isNotDone();
            awaitLog(vms, "not taken");
        }
    }

    @Test
    void aGuestThatNeverConvergesIsStoppedAndCopiedWhenTheUserChoseThat() throws Exception {
        try (LiveVms vms = new LiveVms(dir, MEMORY); Machine m = vms.boot("live", MEMORY, "rate", "16", "65536", "3");
             Controller c = Controller.of(m, x -> false).start()) {
            Thread.sleep(200);
            LiveOptions options = new LiveOptions(Duration.ofMillis(1), Duration.ofMillis(500), LiveOptions.OnTimeout.STOP_AND_COPY, true);
            MigrationClient.Result r = c.migrate(vms.client(), options, null);
            assertThat(r).isInstanceOfSatisfying(MigrationClient.Result.Committed.class,
                    ok -> assertThat(ok.stats().live().stoppedByTimeout()).isTrue());
            assertThat(vms.arrivedEnding.get(60, TimeUnit.SECONDS).exitStatus()).isZero();
            assertThat(vms.source.output() + vms.destination.output()).isEqualTo("done\n");
        }
    }

    @Test
    void operationsThatWouldChangeTheVmAreRefusedWhileItMigrates() throws Exception {
        try (LiveVms vms = new LiveVms(dir, MEMORY); Machine m = vms.boot("live", MEMORY, "rate", "16", "65536", "3");
             Controller c = Controller.of(m, x -> false).start()) {
            Thread.sleep(200);
            LiveOptions options = new LiveOptions(Duration.ofMillis(1), Duration.ofMillis(800), LiveOptions.OnTimeout.ABORT, false);
            var migration = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return c.migrate(vms.client(), options, null);
                } catch (dev.scratchvm.control.ControlException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(300);   // rounds are going on
            org.assertj.core.api.Assertions.assertThatThrownBy(c::pause).hasMessageContaining("migration");
            org.assertj.core.api.Assertions.assertThatThrownBy(c::stop).hasMessageContaining("migration");
            assertThat(migration.get(30, TimeUnit.SECONDS)).isInstanceOf(MigrationClient.Result.Failed.class);
            c.pause();
            c.resume();
            assertThat(c.awaitEnd().exitStatus()).isZero();
        }
    }

    @Test
    void aVersionOneClientIsStillServedByTheNewServer() throws Exception {
        String expected = LiveVms.nativeOutput(dir, "steer", null, "compute", "3000000");
        try (LiveVms vms = new LiveVms(dir, MEMORY); Machine m = vms.boot("steer", MEMORY, "compute", "3000000")) {
            // A VM that has not run yet is as stopped as one at SAVE: protocol 1 moves it in one piece.
            MigrationClient.Result r = vms.client().protocol1().migrate(m.capture(), m.memory().segment(),
                    dev.scratchvm.vmm.Snapshots.touchedPages(m), null);
            assertThat(r).isInstanceOf(MigrationClient.Result.Committed.class);
            assertThat(vms.arrivedEnding.get(60, TimeUnit.SECONDS).exitStatus()).isZero();
            assertThat(vms.destination.output()).isEqualTo(expected);
        }
    }

    private static void awaitOutput(LiveVms.Side side, String text) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!side.output().contains(text)) {
            if (System.nanoTime() > deadline) throw new AssertionError("the guest never printed '" + text + "'");
            Thread.sleep(5);
        }
    }

    static void awaitLog(LiveVms vms, String text) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (vms.serverLog().stream().noneMatch(l -> l.contains(text))) {
            if (System.nanoTime() > deadline) throw new AssertionError("the server never logged '" + text + "': " + vms.serverLog());
            Thread.sleep(5);
        }
    }
}
