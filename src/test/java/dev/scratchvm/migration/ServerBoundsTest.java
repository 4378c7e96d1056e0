package dev.scratchvm.migration;

import dev.scratchvm.migration.Attackers.End;
import dev.scratchvm.migration.Messages.Purpose;
import dev.scratchvm.migration.Messages.Verdict;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server's accept path under attack, over real loopback sockets, in this JVM and without
 * KVM: a legitimate client still authenticates and gets the server's answer (a status query's
 * OUTCOME) at once, whatever peers without the key do, and they leave nothing behind.
 */
@DisplayName("Migration server bounds for unauthenticated peers")
class ServerBoundsTest {
    private static final MigrationKey KEY = MigrationKey.of("server-bounds-test-key-0123".getBytes(StandardCharsets.UTF_8));
    private static final MigrationKey OTHER = MigrationKey.of("not-the-server-key-at-all-9".getBytes(StandardCharsets.UTF_8));
    /** A short handshake deadline keeps the test short; the rules are those of the default 3 s. */
    private static final Duration HANDSHAKE = Duration.ofMillis(1500);
    private static final Timeouts TIMEOUTS = new Timeouts(Duration.ofSeconds(2), HANDSHAKE, Duration.ofSeconds(3),
            Duration.ofSeconds(5), Duration.ofSeconds(6));

    private final List<String> log = new CopyOnWriteArrayList<>();
    @TempDir
    Path state;
    private Handoffs handoffs;
    private MigrationServer server;
    private Endpoint at;
    private InetSocketAddress address;

    @BeforeEach
    void listen() throws IOException {
        handoffs = Handoffs.open(state);
        server = MigrationServer.listen(new Endpoint("127.0.0.1", 0), new MigrationServer.Config(KEY, TIMEOUTS, null, handoffs, log::add), List.of());
        address = server.address();
        at = new Endpoint("127.0.0.1", address.getPort());
    }

    @AfterEach
    void close() {
        server.close();
        handoffs.close();
    }

    /** A real client: connect, authenticate, ask; returns the milliseconds from connect to the server's answer. */
    private double legitimateQuery() throws MigrationException {
        long start = System.nanoTime();
        try (ClientSession c = new ClientSession(SocketTransport.connect(at, TIMEOUTS), KEY)) {
            c.handshake(Purpose.QUERY, Handshake.nonce(), TIMEOUTS.handshake(), Messages.Preamble.CURRENT);
            assertThat(c.query(Handshake.nonce())).isEqualTo(Verdict.UNKNOWN);
        }
        return (System.nanoTime() - start) / 1e6;
    }

    @Test
    void underAFloodOfIdleSlowGarbageOversizedAndReplayedConnectionsALegitimateClientIsAnsweredWithinASecond() throws Exception {
        byte[] recorded = Attackers.recordSession(at, KEY, TIMEOUTS);
        legitimateQuery();   // warm code, as a long-running server has
        List<Double> latencies = new ArrayList<>();
        try (Attackers attack = new Attackers(address).start(200, recorded)) {
            // Let the flood fill every budget and the loris start trickling.
            long until = System.nanoTime() + Duration.ofMillis(700).toNanos();
            while (System.nanoTime() < until || attack.idleDropped.get() < 1000) Thread.sleep(20);
            for (int i = 0; i < 8; i++) {
                latencies.add(legitimateQuery());
                Thread.sleep(100);
            }
            // Keep attacking until a slow-loris connection has lived its whole life.
            until = System.nanoTime() + HANDSHAKE.plusSeconds(2).toNanos();
            while (attack.lorisLifetimes.isEmpty() && System.nanoTime() < until) Thread.sleep(20);
            System.out.printf("under attack: legitimate connect-to-answer %s ms; %d idle connections made (%d dropped), "
                            + "%d held at the end, %d unauthenticated on the server; %d oversized and %d garbage dropped, "
                            + "%d replays refused, %d other ends; slow-loris lived %s ms%n",
                    latencies.stream().map(l -> String.format("%.1f", l)).toList(), attack.idleConnections.get(),
                    attack.idleDropped.get(), attack.openSockets(), server.unauthenticated(), attack.hugeDropped.get(),
                    attack.garbageDropped.get(), attack.replaysRefused.get(), attack.other.get(), attack.lorisLifetimes);
            assertThat(attack.idleConnections.get()).as("the flood really ran").isGreaterThan(1000);
            assertThat(attack.hugeDropped.get()).isPositive();
            assertThat(attack.garbageDropped.get()).isPositive();
            assertThat(attack.replaysRefused.get()).isPositive();
            assertThat(attack.replaysAnswered.get()).as("a replay never authenticates").isZero();
            assertThat(attack.lorisLifetimes).isNotEmpty()
                    .allSatisfy(ms -> assertThat(ms).isLessThan(HANDSHAKE.toMillis() + 1000));
            assertThat(server.unauthenticated()).isLessThanOrEqualTo(Reception.MAX_UNAUTHENTICATED_PER_ADDRESS);
        }
        assertThat(latencies).allSatisfy(ms -> assertThat(ms).isLessThan(1000.0));
        assertThat(log).as("the log is not flooded").hasSizeLessThan(200);
    }

    @Test
    void aRecordedSessionReplayedOverTheNetworkIsRefusedForItsStaleProof() throws Exception {
        byte[] recorded = Attackers.recordSession(at, KEY, TIMEOUTS);
        try (Attackers replayer = new Attackers(address)) {
            assertThat(replayer.replay(recorded)).isEqualTo(End.AUTH_REFUSED);
            // And with the server's own nonce echoed back in a fresh HELLO, the old proof is still stale.
            assertThat(replayer.replay(recorded)).isEqualTo(End.AUTH_REFUSED);
        }
        assertThat(log).filteredOn(l -> l.contains("authentication failed")).hasSize(2);
        assertThat(legitimateQuery()).isLessThan(1000.0);
    }

    @Test
    void aSlowLorisIsDroppedAtTheHandshakeDeadlineAndAnOversizedLengthAtItsHeader() throws Exception {
        try (Attackers attack = new Attackers(address)) {
            long lived = attack.slowLoris(200);
            assertThat(lived).isBetween(HANDSHAKE.toMillis() - 50, HANDSHAKE.toMillis() + 500);
            long start = System.nanoTime();
            assertThat(attack.exchange(Attackers.hugeLength())).hasSize(Messages.Preamble.BYTES);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(500));
        }
        assertThat(log).anyMatch(l -> l.matches("dropped 127\\.0\\.0\\.1:\\d+: the handshake with .* did not finish in time"))
                .anyMatch(l -> l.matches("dropped 127\\.0\\.0\\.1:\\d+: HELLO message of 2147483648 bytes exceeds its limit of 33"));
    }

    /**
     * Every attack, 100 times each, then the server's descriptors and mappings are what they
     * were. A warm-up round first makes the JVM's one-time resources (the virtual-thread
     * pollers' epoll descriptors, carrier thread stacks, JIT code) part of the baseline.
     * Tolerance: descriptors 2 (a lazily opened JVM file), mappings 24 lines (the heap, JIT code
     * cache and malloc arenas grow and shrink in mappings on their own); a leak per connection
     * would show as hundreds.
     */
    @Test
    void fortyFailedConnectionsOfEachKindLeaveNoDescriptorOrMappingBehind() throws Exception {
        byte[] recorded = Attackers.recordSession(at, KEY, TIMEOUTS);
        runEveryAttack(10, recorded);
        settle();
        int fdsBefore = fds(), mapsBefore = maps();
        long start = System.nanoTime();
        // 280 failed connections: a leak of one descriptor in ten would show well past the slack of 2.
        runEveryAttack(40, recorded);
        double seconds = (System.nanoTime() - start) / 1e9;
        settle();
        int fdsAfter = fds(), mapsAfter = maps();
        for (int i = 0; i < 20 && (fdsAfter > fdsBefore + 2 || mapsAfter > mapsBefore + 24); i++) {
            Thread.sleep(100);   // threads still finishing their close
            fdsAfter = fds();
            mapsAfter = maps();
        }
        System.out.printf("%d attacks of 7 kinds in %.1f s: descriptors %d before, %d after; mappings %d before, %d after%n",
                280, seconds, fdsBefore, fdsAfter, mapsBefore, mapsAfter);
        assertThat(fdsAfter).isBetween(fdsBefore - 2, fdsBefore + 2);
        assertThat(mapsAfter).isBetween(mapsBefore - 24, mapsBefore + 24);
        assertThat(legitimateQuery()).isLessThan(1000.0);
    }

    /** {@code n} of each: idle, slow-loris, oversized, garbage, replay, wrong key, wrong version. */
    private void runEveryAttack(int n, byte[] recorded) throws Exception {
        Random random = new Random(7);
        try (Attackers attack = new Attackers(address); ExecutorService pool = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().daemon().factory())) {
            List<Future<?>> all = new ArrayList<>();
            // Idle and slow-loris connections all at once: most are pushed out by the next ones, the last by the deadline.
            // (A connection evicted so soon that the reset beats connect() to the client ends as an exception.)
            IntStream.range(0, n).forEach(i -> all.add(pool.submit(() -> {
                try {
                    attack.idle();
                } catch (IOException dropped) {
                    // as intended
                }
                return null;
            })));
            IntStream.range(0, n).forEach(i -> all.add(pool.submit(() -> {
                try {
                    return attack.slowLoris(300);
                } catch (IOException dropped) {
                    return null;
                }
            })));
            for (Future<?> f : all) f.get();
            all.clear();
            List<Callable<Object>> quick = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                byte[] g = Attackers.garbage(random);
                quick.add(() -> attack.exchange(Attackers.hugeLength()));
                quick.add(() -> attack.exchange(g));
                quick.add(() -> assertThat(attack.replay(recorded)).isEqualTo(End.AUTH_REFUSED));
                quick.add(() -> {
                    try (ClientSession c = new ClientSession(SocketTransport.connect(at, TIMEOUTS), OTHER)) {
                        c.handshake(Purpose.QUERY, Handshake.nonce(), TIMEOUTS.handshake(), Messages.Preamble.CURRENT);
                        throw new AssertionError("authenticated with the wrong key");
                    } catch (MigrationException e) {
                        assertThat(e.code()).isEqualTo(ErrorCode.AUTH);
                    }
                    return null;
                });
                quick.add(() -> attack.exchange(new Messages.Preamble(2, 0).encode().array()));
            }
            Collections.shuffle(quick, random);
            // A few at a time: within the per-address budget, so each ends by its own failure, not by eviction.
            try (ExecutorService few = Executors.newFixedThreadPool(Reception.MAX_UNAUTHENTICATED_PER_ADDRESS / 2)) {
                for (Future<?> f : few.invokeAll(quick)) f.get();
            }
        }
    }

    private void settle() throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (server.unauthenticated() > 0 && System.nanoTime() < until) Thread.sleep(10);
        assertThat(server.unauthenticated()).isZero();
        System.gc();
        Thread.sleep(200);
    }

    private static int fds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.count();
        }
    }

    private static int maps() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).size();
    }
}
