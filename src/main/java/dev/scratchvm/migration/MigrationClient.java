package dev.scratchvm.migration;

import dev.scratchvm.image.PageFilter;
import dev.scratchvm.image.StateCodec;
import dev.scratchvm.migration.Messages.FileHeader;
import dev.scratchvm.migration.Messages.Purpose;
import dev.scratchvm.migration.Messages.Verdict;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.x86.Xcr;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.function.Consumer;

/**
 * The VMM_CLIENT side: sends one stopped VM and reports whether it now lives on the server.
 *
 * <p>The commit rule (docs/migration-protocol.md, "Two-phase handoff"): until the client starts
 * writing COMMIT, any failure leaves the VM with the client ({@link Result.Failed}). Once it
 * has, only the server can say how it ended; if the COMMITTED reply does not arrive, the client
 * asks the server with QUERY until {@link Timeouts#resolve()} runs out, and if it still cannot
 * tell, reports {@link Result.InDoubt}: the VM must then run on neither side by itself.
 */
public final class MigrationClient {
    /** Opens a connection to the server: TCP, or an in-memory pipe in tests. */
    @FunctionalInterface
    interface Connector {
        Transport connect() throws MigrationException;
    }

    private final Connector connector;
    private final String to;
    private final MigrationKey key;
    private final Timeouts timeouts;
    private final Consumer<String> log;
    private Messages.Preamble protocol = Messages.Preamble.CURRENT;
    /** What the stop costs besides pages and round trips: capture, encoding, the server's restore (measured: 1-3 ms). */
    private static final long FIXED_STOP_NANOS = 2_000_000;
    private static final long MIN_ROUND_NANOS = 1_000_000;

    public MigrationClient(Endpoint to, MigrationKey key, Timeouts timeouts, Consumer<String> log) {
        this(to, key, null, timeouts, log);
    }

    /** With {@code tls} not null, every connection is TLS 1.3 with the client's certificate (see {@link TlsSettings}). */
    public MigrationClient(Endpoint to, MigrationKey key, TlsSettings tls, Timeouts timeouts, Consumer<String> log) {
        this(() -> TlsTransport.connect(to, tls, timeouts), to.toString(), key, timeouts, log);
        warmUp = Handshake.warmUp(key);
    }

    /**
     * Speaks protocol 1 (a stopped VM, state first, no rounds) instead of the current one: for
     * a server that has not been upgraded, and to test that servers still serve such clients.
     */
    public MigrationClient protocol1() {
        protocol = Messages.Preamble.OLDEST;
        return this;
    }

    private Thread warmUp;

    /**
     * Rehearses a whole handshake, both sides in this process over a loopback socket with a
     * throwaway key, in the background: for a VMM that may be asked to migrate later
     * ({@code ctl SOCK migrate}), whose first migration would otherwise run its handshake and
     * sockets cold. Touches no key file.
     */
    public static Thread warmUpInBackground() {
        return Thread.ofVirtual().name("migration-warm-up").start(() -> {
            byte[] secret = new byte[32];
            new java.security.SecureRandom().nextBytes(secret);
            Handshake.rehearse(MigrationKey.of(secret), Timeouts.ofIdle(java.time.Duration.ofSeconds(5)));
        });
    }

    /** Waits (at most {@code limit}) for the background warm-up of the handshake's crypto and sockets. */
    public void awaitWarmUp(java.time.Duration limit) throws InterruptedException {
        if (warmUp != null) warmUp.join(limit);
    }

    MigrationClient(Connector connector, String to, MigrationKey key, Timeouts timeouts, Consumer<String> log) {
        this.connector = connector;
        this.to = to;
        this.key = key;
        this.timeouts = timeouts;
        this.log = log;
    }

    /** How a migration ended. */
    public sealed interface Result {
        /** The server owns the VM; this side must not run it again. */
        record Committed(Stats stats) implements Result {
        }

        /** The server does not have the VM; it continues here. {@code errno} is for the guest's SAVE. */
        record Failed(String reason, int errno) implements Result {
            /** The failure an exception describes; a refusal the server sent says so. */
            public static Failed of(MigrationException e) {
                return new Failed(e.fromPeer() ? "the server refused: " + e.getMessage() : e.getMessage(), e.errno());
            }
        }

        /** COMMIT was sent and the outcome could not be learned: run the VM on neither side automatically. */
        record InDoubt(String reason) implements Result {
        }
    }

    /**
     * What a committed migration moved, and where the time went.
     *
     * @param phaseNanos connect and handshake; STATE to ACCEPT; files; memory; END to READY (the server
     *                   builds the VM); COMMIT to COMMITTED (or to the QUERY answer)
     */
    public record Stats(long bytesSent, long memoryPages, long runs, int files, long elapsedNanos, long[] phaseNanos, Live live) {
        Stats(long bytesSent, long memoryPages, long runs, int files, long elapsedNanos, long[] phaseNanos) {
            this(bytesSent, memoryPages, runs, files, elapsedNanos, phaseNanos, null);
        }

        Stats withLive(Live l) {
            return new Stats(bytesSent, memoryPages, runs, files, elapsedNanos, phaseNanos, l);
        }

        /** The names of {@link #phaseNanos}, in order. */
        public static final String[] PHASES = {"handshake", "state", "files", "memory", "ready", "commit"};

        /** The phases as "handshake 1.2 ms, state 0.3 ms, ...". */
        public String phases() {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < PHASES.length; i++) {
                b.append(i == 0 ? "" : ", ").append(PHASES[i]).append(String.format(" %.1f ms", phaseNanos[i] / 1e6));
            }
            return b.toString();
        }
    }

    /**
     * What a live migration did beyond a cold one.
     *
     * @param rounds        memory rounds, the last one (sent with the guest stopped) included
     * @param downtimeNanos from the guest's stop here to COMMITTED (the server resumes it as it answers)
     * @param throttlePercent the most auto-converge slowed the guest (0: never)
     * @param stoppedByTimeout the guest was stopped because it did not converge in time (stop-and-copy)
     * @param coldBytes     guest memory in use at the end: about what a cold migration would have sent
     * @param stoppedEpochNanos when the guest stopped here (wall clock, ns since the epoch), to compare with when it resumed there
     * @param stopNanos     stopping the guest and capturing its state (the first part of the downtime)
     * @param lastRoundNanos sending the pages written since the last round, the guest stopped (the second part)
     */
    public record Live(int rounds, long downtimeNanos, int throttlePercent, boolean stoppedByTimeout, long coldBytes,
                       long stoppedEpochNanos, long stopNanos, long lastRoundNanos) {
    }

    /**
     * Migrates a stopped VM.
     *
     * @param guest    guest memory, exactly {@code state.memory().size()} bytes, not changing during the call
     * @param filter   pages that may be non-zero (the others are not read)
     * @param fileRoot when not null, the guest root whose open files are sent if the server lacks them
     */
    public Result migrate(MachineState state, MemorySegment guest, PageFilter filter, Path fileRoot) {
        return migrate(state, guest, filter, fileRoot, id -> { });
    }

    /** The sender's own record of the migration, kept in step with the protocol. */
    @FunctionalInterface
    public interface BeforeCommit {
        /** Called with the migration's id just before COMMIT goes out; a failure aborts the migration instead. */
        void committing(byte[] id) throws IOException;

        /**
         * Called once the server said COMMITTED, before this side says BYE: a server that got
         * BYE may go away, so whatever the sender must record about the outcome (an image
         * removed, a marker cleared) is durable first. A failure only withholds BYE; the
         * server then keeps the outcome for a QUERY.
         */
        default void committed() throws IOException {
        }
    }

    /** As {@link #migrate(MachineState, MemorySegment, PageFilter, Path)}, telling {@code beforeCommit} first. */
    public Result migrate(MachineState state, MemorySegment guest, PageFilter filter, Path fileRoot, BeforeCommit beforeCommit) {
        if (protocol.major() == 1) return migrate1(state, guest, filter, fileRoot, beforeCommit);
        Link link;
        try {
            link = prepare(state.memory().size(), state.vcpu().cpuid(), state.vcpu().xcrs());
        } catch (MigrationException e) {
            return Result.Failed.of(e);
        }
        return link.cold(state, guest, filter, fileRoot, beforeCommit);
    }

    /**
     * Opens a migration before the guest stops: connects, authenticates, and has the server
     * check CPU compatibility and set its memory aside (protocol 2's PREPARE). What is left for
     * the guest's downtime is memory, state and the commit.
     */
    public Link prepare(long memoryBytes, List<CpuidEntry> cpuid, List<Xcr> xcrs) throws MigrationException {
        if (protocol.major() == 1) throw new IllegalStateException("protocol 1 has no PREPARE");
        long start = System.nanoTime();
        byte[] id = Handshake.nonce();
        ClientSession s = authenticated(Purpose.MIGRATE, id);
        long handshake = System.nanoTime() - start;
        try {
            long asked = System.nanoTime();
            s.prepare(new Messages.Prepare(memoryBytes, cpuid, xcrs));
            return new Link(s, id, start, handshake, System.nanoTime() - asked, memoryBytes);
        } catch (MigrationException e) {
            if (!e.fromPeer()) s.abort(e.code(), e.getMessage());
            s.close();
            throw e;
        }
    }

    /** A prepared migration (protocol 2): an authenticated connection to a server that has memory ready for the VM. */
    public final class Link implements AutoCloseable {
        private final ClientSession s;
        private final byte[] id;
        private final long handshakeNanos, rttNanos, memoryBytes;
        /** Where the migration's elapsed time counts from: the connection, or a cold migration's start. */
        private long begin;
        private int rounds;
        private long runs, pages;
        private boolean done;
        /** Set while the guest runs and its memory may change under a frame being sent. */
        private Rounds.Staging staging;

        private Link(ClientSession s, byte[] id, long start, long handshakeNanos, long rttNanos, long memoryBytes) {
            this.s = s;
            this.id = id;
            this.begin = start;
            this.handshakeNanos = handshakeNanos;
            this.rttNanos = rttNanos;
            this.memoryBytes = memoryBytes;
        }

        /** Migrates the VM, stopped already, in one round. */
        public Result cold(MachineState state, MemorySegment guest, PageFilter filter, Path fileRoot, BeforeCommit beforeCommit) {
            // A link opened early waited for the guest's SAVE: the migration itself starts now.
            begin = System.nanoTime();
            long[] phases = new long[6];
            phases[0] = handshakeNanos;
            long mark = System.nanoTime();
            try {
                if (state.memory().size() != memoryBytes) throw MigrationException.local("the VM's memory is not the size the migration was prepared for");
                send(guest, filter, true, false);
                mark = lap(phases, 3, mark);
            } catch (MigrationException e) {
                return fail(e);
            }
            return finish(state, fileRoot, beforeCommit, phases, mark);
        }

        /**
         * Migrates a running VM: memory in rounds while the guest runs, each round the pages it
         * wrote during the last, until the rest fits the downtime budget (or the timeout
         * decides); then the guest stops, and the last pages, its state and the commit follow.
         * On {@link Result.Failed} the guest is the caller's to resume if it was stopped.
         */
        public Result live(LiveSource vm, LiveOptions options, Consumer<RoundReport> progress, Path fileRoot, BeforeCommit beforeCommit) {
            long[] phases = new long[6];
            phases[0] = handshakeNanos;
            long began = System.nanoTime();
            long deadline = began + options.timeout().toNanos();
            // What stopping costs besides the pages: capturing and encoding the state, three round trips
            // (STATE/ACCEPT, END/READY, COMMIT/COMMITTED) and the server building the VM.
            long fixedNanos = 3 * Math.min(rttNanos, 1_000_000) + FIXED_STOP_NANOS;
            double bandwidth = 0;
            int throttle = 0, maxThrottle = 0;
            boolean timedOut = false;
            LiveSource.Stopped stopped;
            long stoppedAt, stoppedEpoch = 0, captured, lastRound;
            try {
                java.util.BitSet pagesNow = vm.startTracking();
                long roundStart = System.nanoTime();
                staging = new Rounds.Staging();
                Rounds.Sent sent = send(vm.memory(), PageFilter.of(pagesNow), vm.firstRoundSkipsZeroPages());
                while (true) {
                    java.util.BitSet dirty = vm.dirty();
                    long now = System.nanoTime(), took = Math.max(1, now - roundStart);
                    double rate = sent.bytes() * 1e9 / took;
                    // The link's speed: what the larger rounds showed (small rounds are all latency).
                    if (sent.bytes() >= (1 << 20) || bandwidth == 0) bandwidth = Math.max(bandwidth, rate);
                    long dirtyBytes = dirty.cardinality() * (long) Messages.PAGE;
                    long estimate = fixedNanos + (long) (dirtyBytes * 1e9 / Math.max(bandwidth, 1));
                    double dirtyRate = dirtyBytes * 1e9 / took;
                    progress.accept(new RoundReport(rounds - 1, sent.pages(), sent.bytes(), dirty.cardinality(), dirtyRate, rate, estimate, throttle));
                    if (options.stopsNow(estimate, dirtyBytes, sent.bytes())) {
                        stoppedAt = System.nanoTime();
                        stoppedEpoch = epochNanos();
                        stopped = stopWith(vm, dirty);
                        break;
                    }
                    if (now - deadline >= 0) {
                        if (options.onTimeout() == LiveOptions.OnTimeout.ABORT) {
                            throw MigrationException.local(String.format("the guest did not converge in %s: it dirties %.1f MiB/s, "
                                    + "and stopping it now would take ~%.0f ms (budget %d ms); it keeps running here",
                                    SocketTransport.seconds(options.timeout().toNanos()), dirtyRate / 1048576.0, estimate / 1e6,
                                    options.downtime().toMillis()));
                        }
                        timedOut = true;
                        stoppedAt = System.nanoTime();
                        stoppedEpoch = epochNanos();
                        stopped = stopWith(vm, dirty);
                        break;
                    }
                    if (options.autoConverge() && rounds >= 3 && throttle < 99 && dirtyRate > bandwidth / 4) {
                        throttle = Math.min(99, throttle == 0 ? 20 : throttle + 10);
                        maxThrottle = throttle;
                        vm.throttle(throttle);
                    }
                    // Rounds at least 1 ms apart: each harvest stops the guest for a moment.
                    long gap = MIN_ROUND_NANOS - (System.nanoTime() - roundStart);
                    if (gap > 0 && dirty.isEmpty()) java.util.concurrent.locks.LockSupport.parkNanos(gap);
                    roundStart = System.nanoTime();
                    sent = send(vm.memory(), PageFilter.of(dirty), false);
                }
                captured = System.nanoTime();
                vm.throttle(0);
                phases[3] = stoppedAt - began;
                staging = null;   // the guest is stopped: its memory holds still
                send(vm.memory(), PageFilter.of(stopped.dirty()), false, false);
                lastRound = System.nanoTime();
            } catch (MigrationException e) {
                vm.throttle(0);
                return fail(e);
            }
            Result r = finish(stopped.state(), fileRoot, beforeCommit, phases, lastRound);
            if (r instanceof Result.Committed c) {
                long downtime = System.nanoTime() - stoppedAt;
                return new Result.Committed(c.stats().withLive(new Live(rounds, downtime, maxThrottle, timedOut, vm.bytesInUse(), stoppedEpoch,
                        captured - stoppedAt, lastRound - captured)));
            }
            return r;
        }

        private LiveSource.Stopped stopWith(LiveSource vm, java.util.BitSet pending) throws MigrationException {
            LiveSource.Stopped s = vm.stop();
            s.dirty().or(pending);
            return s;
        }

        /**
         * One round while the guest runs: a PLAN of what comes (so the server can fault its
         * memory in ahead), the runs, ROUND, and the server's word that the round is durable.
         */
        private Rounds.Sent send(MemorySegment guest, PageFilter filter, boolean first) throws MigrationException {
            return send(guest, filter, first, true);
        }

        /** A round; the last one (the guest stopped) is not closed by ROUND: STATE follows it. */
        private Rounds.Sent send(MemorySegment guest, PageFilter filter, boolean first, boolean close) throws MigrationException {
            if (first) s.plan(Rounds.plan(filter, guest.byteSize() / Messages.PAGE));
            Rounds.Sent sent = Rounds.send(s.out(), guest, filter, first, staging);
            if (close) {
                s.round(new Messages.Round(rounds, sent.runs(), sent.pages(), s.out().transcript()));
                s.awaitRoundDone(rounds);
            }
            rounds++;
            runs += sent.runs();
            pages += sent.pages();
            return sent;
        }

        /** STATE, files, END, then the two-phase commit, as in protocol 1. */
        private Result finish(MachineState state, Path fileRoot, BeforeCommit beforeCommit, long[] phases, long mark) {
            byte[] encoded;
            List<Integer> wanted;
            try {
                try {
                    encoded = StateCodec.encode(state);
                } catch (IllegalArgumentException e) {
                    throw MigrationException.local(e.getMessage());
                }
                if (fileRoot == null) {
                    // No files to offer, so the server's ACCEPT will want none: END goes with STATE, one round trip fewer.
                    s.state(encoded, false);
                    s.end(0, new MemoryStream.Stats(runs, pages));
                    wanted = s.accepted();
                    if (!wanted.isEmpty()) throw MigrationException.protocol("the server asked for files that were not offered");
                    mark = lap(phases, 1, mark);
                } else {
                    wanted = s.offer(encoded, true);
                    mark = lap(phases, 1, mark);
                    for (int i : wanted) sendFile(s, state, i, fileRoot);
                    mark = lap(phases, 2, mark);
                    s.end(wanted.size(), new MemoryStream.Stats(runs, pages));
                }
                s.awaitReady(timeouts.ready());
                mark = lap(phases, 4, mark);
                committing(beforeCommit, id);
            } catch (MigrationException e) {
                return fail(e);
            }
            done = true;
            return commit(s, id, new MemoryStream.Stats(runs, pages), wanted.size(), begin, phases, mark, beforeCommit);
        }

        private Result fail(MigrationException e) {
            done = true;
            if (!e.fromPeer()) s.abort(e.code(), e.getMessage());
            s.close();
            return Result.Failed.of(e);
        }

        /** Gives the migration up if it has not ended: the server discards what it received. */
        @Override
        public void close() {
            if (!done) fail(MigrationException.local("the migration was abandoned before the VM stopped"));
        }
    }

    private Result migrate1(MachineState state, MemorySegment guest, PageFilter filter, Path fileRoot, BeforeCommit beforeCommit) {
        long start = System.nanoTime();
        byte[] encoded;
        try {
            encoded = StateCodec.encode(state);
        } catch (IllegalArgumentException e) {
            return new Result.Failed(e.getMessage(), dev.scratchvm.sys.Errno.EIO);
        }
        byte[] id = Handshake.nonce();
        long[] phases = new long[6];
        long mark = System.nanoTime();
        ClientSession s = null;
        MemoryStream.Stats memory;
        List<Integer> wanted;
        try {
            s = authenticated(Purpose.MIGRATE, id);
            mark = lap(phases, 0, mark);
            wanted = s.offer(encoded, fileRoot != null);
            mark = lap(phases, 1, mark);
            for (int i : wanted) sendFile(s, state, i, fileRoot);
            mark = lap(phases, 2, mark);
            memory = s.sendMemory(guest, filter);
            s.end(wanted.size(), memory);
            mark = lap(phases, 3, mark);
            s.awaitReady(timeouts.ready());
            mark = lap(phases, 4, mark);
            committing(beforeCommit, id);
        } catch (MigrationException e) {
            if (s != null) {
                if (!e.fromPeer()) s.abort(e.code(), e.getMessage());
                s.close();
            }
            return Result.Failed.of(e);
        }
        return commit(s, id, memory, wanted.size(), start, phases, mark, beforeCommit);
    }

    /** COMMIT and what follows; from the first byte of COMMIT on, the server may own the VM: no local resume without its word. */
    private Result commit(ClientSession s, byte[] id, MemoryStream.Stats memory, int files, long start, long[] phases, long mark,
                          BeforeCommit beforeCommit) {
        try (ClientSession c = s) {
            c.commit();
            c.awaitCommitted();
            try {
                beforeCommit.committed();
                c.bye();
            } catch (IOException e) {
                log.accept("the VM now runs on " + to + ", but recording that here failed: " + e.getMessage());
            }
            lap(phases, 5, mark);
            return committed(c.transport().bytesWritten(), memory, files, start, phases);
        } catch (MigrationException e) {
            if (e.fromPeer()) {
                // The server answered COMMIT with ERROR: it has aborted, definitively.
                return new Result.Failed("the server aborted: " + e.getMessage(), e.errno());
            }
            log.accept("connection lost after COMMIT (" + e.getMessage() + "); asking " + to + " whether it took the VM");
            return resolve(id, e.getMessage(), s.transport().bytesWritten(), memory, files, start, phases, mark);
        }
    }

    /** Tells the sender's own record that COMMIT is about to go out; a failure aborts instead. */
    private static void committing(BeforeCommit beforeCommit, byte[] id) throws MigrationException {
        try {
            beforeCommit.committing(id);
        } catch (IOException e) {
            throw MigrationException.local("cannot record the migration before COMMIT: " + e.getMessage());
        }
    }

    private static long epochNanos() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    private static long lap(long[] phases, int i, long since) {
        long now = System.nanoTime();
        phases[i] = now - since;
        return now;
    }

    private static Result committed(long bytes, MemoryStream.Stats memory, int files, long start, long[] phases) {
        return new Result.Committed(new Stats(bytes, memory.pages(), memory.runs(), files, System.nanoTime() - start, phases));
    }

    /** After COMMIT went out unanswered: the server's record decides. */
    private Result resolve(byte[] id, String why, long bytes, MemoryStream.Stats memory, int files, long start,
                           long[] phases, long commitStart) {
        long until = System.nanoTime() + timeouts.resolve().toNanos();
        String last = why;
        while (System.nanoTime() - until < 0) {
            try {
                switch (query(id)) {
                    case COMMITTED -> {
                        log.accept("the server confirms it took the VM");
                        lap(phases, 5, commitStart);
                        return committed(bytes, memory, files, start, phases);
                    }
                    case ABORTED -> {
                        return new Result.Failed("connection lost before the server read COMMIT (" + why
                                + "); the server confirms it discarded the VM", MigrationException.ECONNABORTED);
                    }
                    case UNKNOWN -> {
                        return new Result.InDoubt("connection lost after COMMIT (" + why
                                + ") and the server has no record of the migration");
                    }
                }
            } catch (MigrationException e) {
                last = e.getMessage();
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return new Result.InDoubt("connection lost after COMMIT (" + why + ") and the server could not be asked within "
                + SocketTransport.seconds(timeouts.resolve().toNanos()) + " (" + last + ")");
    }

    /**
     * Connects and authenticates. A connection reset before the handshake is done is tried again
     * within the handshake timeout: nothing has happened yet, and a server flooded by
     * unauthenticated peers may have had to drop this connection to make room.
     */
    private ClientSession authenticated(Purpose purpose, byte[] id) throws MigrationException {
        long until = System.nanoTime() + timeouts.handshake().toNanos();
        while (true) {
            ClientSession s = new ClientSession(connector.connect(), key);
            try {
                s.handshake(purpose, id, timeouts.handshake(), protocol);
                return s;
            } catch (MigrationException e) {
                s.close();
                if (e.fromPeer() || e.errno() != MigrationException.ECONNRESET || System.nanoTime() - until > 0) throw e;
                log.accept("the server reset the connection before authentication; connecting again");
                // The server may have seen this id already: a migration never reuses one.
                System.arraycopy(Handshake.nonce(), 0, id, 0, id.length);
            }
        }
    }

    /** What a server's record says of a migration. */
    public enum Record { COMMITTED, ABORTED, UNKNOWN }

    /** Asks the server, once, how migration {@code id} ended; its record is final. */
    public Record query(byte[] id) throws MigrationException {
        try (ClientSession q = authenticated(Purpose.QUERY, Handshake.nonce())) {
            return switch (q.query(id)) {
                case COMMITTED -> Record.COMMITTED;
                case ABORTED -> Record.ABORTED;
                case UNKNOWN -> Record.UNKNOWN;
            };
        }
    }

    /** Sends file {@code index} of the state, read from below {@code root}; it must still match its fingerprint. */
    private static void sendFile(ClientSession s, MachineState state, int index, Path root) throws MigrationException {
        List<OpenFileState> files = state.kernel().files();
        if (index < 0 || index >= files.size() || files.get(index).kind() != FileKind.REGULAR) {
            throw MigrationException.protocol("the server asked for file " + index + ", which is not a regular file of the VM");
        }
        if (root == null) throw MigrationException.protocol("the server asked for file contents that were not offered");
        OpenFileState f = files.get(index);
        Path p = GuestPaths.under(root, f.path());
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            int mode = (Integer) Files.getAttribute(p, "unix:mode") & 07777;
            long size = f.fingerprint().size();
            if (ch.size() != size) throw MigrationException.local("file " + p + " changed after the VM was saved");
            int crc = s.sendFile(new FileHeader(index, size, mode), ch);
            if (crc != f.fingerprint().crc32c()) throw MigrationException.local("file " + p + " changed after the VM was saved");
        } catch (IOException e) {
            throw MigrationException.local("cannot read " + p + " to send it: " + e.getMessage());
        }
    }
}
