package dev.scratchvm.migration;

import dev.scratchvm.image.PageFilter;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.Machine;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Whole migrations of a throwaway VM to a throwaway server in this process, over loopback,
 * with a throwaway key and state directory: handshake, PREPARE, memory, STATE, the server's
 * restore and copy, READY, COMMIT. A VMM that is about to send or receive a VM runs them
 * before it does, so that the real one, whose stop is the guest's downtime, runs code the JIT
 * has compiled: measured on 2 CPUs, a first migration's phases each cost several times their
 * warm cost. Touches nothing of the user's (no key file, no state directory, no guest root).
 */
public final class Rehearsal {
    private static final Timeouts TIMEOUTS = Timeouts.ofIdle(Duration.ofSeconds(5));

    private Rehearsal() {
    }

    /**
     * Migrates {@code state} (its files under {@code config}'s root) until {@code untilNanos}
     * ({@link System#nanoTime}), at most {@code rounds} times. Only an optimisation: the first
     * failure ends it quietly.
     *
     * @return how many migrations committed
     */
    public static int run(MachineState state, MachineConfig config, long untilNanos, int rounds) {
        Path dir = null;
        int committed = 0;
        try (Arena arena = Arena.ofConfined()) {
            dir = Files.createTempDirectory("scratchvm-rehearsal-");
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            MigrationKey key = MigrationKey.of(secret);
            MemorySegment memory = arena.allocate(state.memory().size(), 4096);
            PageFilter pages = page -> page < 16;
            try (Handoffs handoffs = Handoffs.open(dir.resolve("state"));
                 MigrationServer server = MigrationServer.listen(new Endpoint("127.0.0.1", 0),
                         new MigrationServer.Config(key, TIMEOUTS, config, handoffs, line -> { }))) {
                MigrationClient client = new MigrationClient(new Endpoint("127.0.0.1", server.address().getPort()), key, TIMEOUTS,
                        line -> { });
                while (committed < rounds && System.nanoTime() - untilNanos < 0 && once(server, handoffs, client, state, memory, pages)) {
                    committed++;
                }
            }
        } catch (IOException | RuntimeException | InterruptedException e) {
            // A rehearsal that fails changes nothing but timing.
        } finally {
            remove(dir);
        }
        return committed;
    }

    private static boolean once(MigrationServer server, Handoffs handoffs, MigrationClient client, MachineState state,
                                MemorySegment memory, PageFilter pages) throws InterruptedException, IOException {
        Thread receiver = Thread.ofPlatform().daemon().name("migration-rehearsal").start(() -> {
            try {
                MigrationServer.Arrival a = server.next();
                try (Machine m = a.machine()) {
                    handoffs.started(a.id());
                }
                server.done();
            } catch (InterruptedException | IOException e) {
                // Seen by the client as a failure.
            }
        });
        try {
            MigrationClient.Link link = client.prepare(state.memory().size(), state.vcpu().cpuid(), state.vcpu().xcrs());
            return link.cold(state, memory, pages, null, id -> { }) instanceof MigrationClient.Result.Committed;
        } catch (MigrationException e) {
            return false;
        } finally {
            receiver.join(TIMEOUTS.handshake().toMillis());
            receiver.interrupt();
        }
    }

    private static void remove(Path dir) {
        if (dir == null) return;
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException ignored) {
            // A temporary directory left behind.
        }
    }
}
