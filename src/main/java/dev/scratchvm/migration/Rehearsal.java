package dev.scratchvm.migration;

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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
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
    /** The pages the rehearsal's VM sends: enough for runs, frames and the server's copy to run as they do for real. */
    private static final int USED_PAGES = 16;
    private static final Timeouts TIMEOUTS = Timeouts.ofIdle(Duration.ofSeconds(5));

    private Rehearsal() {
    }

    /**
     * One rehearsed migration, by a path of the VMM's own (its controller's live migration,
     * say): migrates a throwaway VM through {@code client}, which talks to the rehearsal's server.
     */
    @FunctionalInterface
    public interface Attempt {
        MigrationClient.Result migrate(MigrationClient client) throws Exception;
    }

    /**
     * Migrates {@code state} (its files under {@code config}'s root) until {@code untilNanos}
     * ({@link System#nanoTime}), at most {@code rounds} times: cold, then live, then by each of
     * {@code more}, in turn, since a VMM may be asked for any and their stops run different code.
     * Only an optimisation: the first failure ends it quietly.
     *
     * @return how many migrations committed
     */
    public static int run(MachineState state, MachineConfig config, long untilNanos, int rounds, Attempt... more) {
        Path dir = null;
        int committed = 0;
        try (Arena arena = Arena.ofConfined()) {
            dir = Files.createTempDirectory("scratchvm-rehearsal-");
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            MigrationKey key = MigrationKey.of(secret);
            MemorySegment memory = arena.allocate(state.memory().size(), 4096);
            memory.asSlice(0, USED_PAGES * (long) Messages.PAGE).fill((byte) 0x5a);   // zero pages would not be sent
            List<Attempt> attempts = new ArrayList<>();
            attempts.add(client -> cold(client, state, memory));
            attempts.add(client -> live(client, new Still(memory, state)));
            attempts.addAll(List.of(more));
            try (Handoffs handoffs = Handoffs.open(dir.resolve("state"));
                 MigrationServer server = MigrationServer.listen(new Endpoint("127.0.0.1", 0),
                         new MigrationServer.Config(key, TIMEOUTS, config, handoffs, line -> { }))) {
                MigrationClient client = new MigrationClient(new Endpoint("127.0.0.1", server.address().getPort()), key, TIMEOUTS,
                        line -> { });
                while (committed < rounds && System.nanoTime() - untilNanos < 0
                        && once(server, handoffs, client, attempts.get(committed % attempts.size()))) {
                    committed++;
                }
            }
        } catch (Exception e) {
            // A rehearsal that fails changes nothing but timing.
        } finally {
            remove(dir);
        }
        return committed;
    }

    private static MigrationClient.Result cold(MigrationClient client, MachineState state, MemorySegment memory) throws MigrationException {
        try (MigrationClient.Link link = client.prepare(state.memory().size(), state.vcpu().cpuid(), state.vcpu().xcrs())) {
            return link.cold(state, memory, page -> page < USED_PAGES, null, id -> { });
        }
    }

    private static MigrationClient.Result live(MigrationClient client, Still vm) throws MigrationException {
        MachineState state = vm.state();
        try (MigrationClient.Link link = client.prepare(state.memory().size(), state.vcpu().cpuid(), state.vcpu().xcrs())) {
            return link.live(vm, LiveOptions.DEFAULT, report -> { }, null, id -> { });
        }
    }

    private static boolean once(MigrationServer server, Handoffs handoffs, MigrationClient client, Attempt attempt) throws Exception {
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
            return attempt.migrate(client) instanceof MigrationClient.Result.Committed;
        } finally {
            receiver.join(TIMEOUTS.handshake().toMillis());
            receiver.interrupt();
        }
    }

    /** A live source whose guest writes nothing: its first round sends the pages in use, and it stops at once. */
    private record Still(MemorySegment memory, MachineState state) implements LiveSource {
        @Override
        public java.util.BitSet startTracking() {
            java.util.BitSet pages = new java.util.BitSet();
            pages.set(0, USED_PAGES);
            return pages;
        }

        @Override
        public java.util.BitSet dirty() {
            return new java.util.BitSet();
        }

        @Override
        public void throttle(int percent) {
        }

        @Override
        public Stopped stop() {
            java.util.BitSet last = new java.util.BitSet();
            last.set(0);
            return new Stopped(last, state);
        }

        @Override
        public long bytesInUse() {
            return USED_PAGES * (long) Messages.PAGE;
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
