package dev.scratchvm.migration;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.StateCodec;
import dev.scratchvm.image.StateRules;
import dev.scratchvm.kvm.Kvm;
import dev.scratchvm.migration.Messages.Hello;
import dev.scratchvm.migration.Messages.StateOffer;
import dev.scratchvm.migration.Messages.Verdict;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.vmm.CpuFeatures;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.Snapshots;
import dev.scratchvm.x86.CpuidEntry;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The VMM_SERVER side. {@link Reception} takes connections in, within a budget for
 * unauthenticated peers; a connection whose HELLO arrived is authenticated here on its own
 * virtual thread, which also answers status queries; a migration is handed to the caller's thread,
 * which receives it, builds the VM paused, and — only once COMMIT is read and recorded —
 * returns it from {@link #next} to be run. One VM at a time: while one is arriving or running,
 * further migrations are refused as busy (their clients keep their VMs).
 */
public final class MigrationServer implements AutoCloseable {
    /**
     * @param root    directory the guests see as "/"; {@code --with-files} writes below it
     * @param machine how to build each restored machine
     * @param log     one line per event, without a prefix
     * @param tls     when not null, clients must connect with TLS (mutual: a certificate from the CA); null for plaintext
     */
    public record Config(MigrationKey key, Timeouts timeouts, MachineConfig machine, Handoffs handoffs, Consumer<String> log,
                         TlsSettings tls) {
        /** Without TLS. */
        public Config(MigrationKey key, Timeouts timeouts, MachineConfig machine, Handoffs handoffs, Consumer<String> log) {
            this(key, timeouts, machine, handoffs, log, null);
        }
    }

    /**
     * Where a received migration's time went on this side, in order; each span ends where the
     * next begins, so they add up to the migration's elapsed time (protocol 1 has no prepare
     * or rounds, and restores as memory arrives: its memory is in "restore").
     */
    public static final String[] PHASES = {"prepare", "rounds", "state", "restore", "durable", "ready", "commit"};
    private static final int PREPARE = 0, ROUNDS = 1, STATE = 2, RESTORE = 3, DURABLE = 4, READY = 5, COMMIT = 6;

    /** A committed VM, ready to run: it is this server's now. */
    public static final class Arrival {
        private final Machine machine;
        private final long memoryBytes, bytesReceived, elapsedNanos;
        private final long[] phaseNanos;
        private final Outcomes.Entry outcome;

        private Arrival(Machine machine, long memoryBytes, long bytesReceived, long elapsedNanos, long[] phaseNanos, Outcomes.Entry outcome) {
            this.machine = machine;
            this.memoryBytes = memoryBytes;
            this.bytesReceived = bytesReceived;
            this.elapsedNanos = elapsedNanos;
            this.phaseNanos = phaseNanos;
            this.outcome = outcome;
        }

        /**
         * Nanoseconds spent in each of {@link #PHASES}: PREPARE to PREPARED (the shell and the spool),
         * the memory rounds up to STATE, STATE to END (checks, ACCEPT, files), the restore, the wait
         * for the durable copy after it, READY to COMMIT (the client's round trip), and recording COMMIT.
         */
        public long[] phaseNanos() {
            return phaseNanos.clone();
        }

        /** The phases as "prepare 1.2 ms, rounds 3.4 ms, ...". */
        public String phases() {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < PHASES.length; i++) {
                b.append(i == 0 ? "" : ", ").append(PHASES[i]).append(String.format(" %.1f ms", phaseNanos[i] / 1e6));
            }
            return b.toString();
        }

        /** The restored machine, paused until its first {@code run()}; the caller closes it. */
        public Machine machine() {
            return machine;
        }

        /** Bytes of guest memory that arrived (non-zero pages). */
        public long memoryBytes() {
            return memoryBytes;
        }

        /** Bytes read from the connection, framing included. */
        public long bytesReceived() {
            return bytesReceived;
        }

        /** From taking the connection to reading COMMIT. */
        public long elapsedNanos() {
            return elapsedNanos;
        }

        /** The migration's id: tell {@link Handoffs#started} before the guest runs. */
        public String id() {
            return outcome.id();
        }

        /** Waits until the client has learned the outcome (BYE, or a QUERY answered), so it will not need to ask. */
        public boolean awaitClientConfirmed(Duration limit) throws InterruptedException {
            return outcome.awaitConfirmed(limit);
        }
    }

    private record Incoming(ServerSession session, Outcomes.Entry outcome, int protocol) {
    }

    private final Reception reception;
    private final Config config;
    private final List<CpuidEntry> hostCpuid;
    private final Outcomes outcomes = new Outcomes();
    private final LinkedBlockingQueue<Incoming> queue = new LinkedBlockingQueue<>();
    private final AtomicBoolean busy = new AtomicBoolean();

    private MigrationServer(Endpoint at, Config config, List<CpuidEntry> hostCpuid) throws IOException {
        this.config = config;
        this.hostCpuid = hostCpuid;
        Thread.ofVirtual().name("migration-warm-up").start(() -> Handshake.rehearse(config.key(), config.timeouts()));
        this.reception = Reception.open(at, config.timeouts(), config.log(), this::handshake, config.tls() != null);
    }

    /** Binds {@code at} (port 0 picks a free port) and starts accepting. */
    public static MigrationServer listen(Endpoint at, Config config) throws IOException {
        List<CpuidEntry> cpuid;
        try (Kvm kvm = Kvm.open()) {
            cpuid = kvm.supportedCpuid();
        }
        return listen(at, config, cpuid);
    }

    /** As {@link #listen(Endpoint, Config)}, with the host's CPUID given: no KVM needed until a VM arrives. */
    static MigrationServer listen(Endpoint at, Config config, List<CpuidEntry> hostCpuid) throws IOException {
        return new MigrationServer(at, config, hostCpuid);
    }

    /**
     * Runs the durable copy's code (a throwaway spool of {@code state}'s size in a temporary
     * directory) once, so that the first migration's last flush, part of its downtime, runs
     * warm code. For the VMM's warm-up thread; failures are ignored.
     */
    public static void rehearseDurableCopy(MachineState state) {
        Spool.rehearse(state);
    }

    /** Unauthenticated connections held now (for tests). */
    int unauthenticated() {
        return reception.unauthenticated();
    }

    public InetSocketAddress address() {
        return reception.address();
    }

    /**
     * Blocks until a VM has arrived and been committed; failed attempts are logged and
     * skipped. Call {@link #done} when the returned VM has finished.
     */
    public Arrival next() throws InterruptedException {
        while (true) {
            Arrival a = receive(queue.take());
            if (a != null) return a;
            busy.set(false);
        }
    }

    /** Migrations a client asked about since this server started (hex ids). */
    private final java.util.Set<String> queried = new java.util.HashSet<>();

    private synchronized void queried(String id) {
        queried.add(id);
        notifyAll();
    }

    /** Waits until a client has asked how migration {@code id} (hex) ended, at most {@code limit}; true if one did. */
    public synchronized boolean awaitQueried(String id, Duration limit) throws InterruptedException {
        long until = System.nanoTime() + limit.toNanos();
        while (!queried.contains(id)) {
            long left = until - System.nanoTime();
            if (left <= 0) return false;
            java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    /** The VM returned by {@link #next} has finished: accept the next one. */
    public void done() {
        busy.set(false);
    }

    /** Authenticates one connection on its own thread, then answers a query or hands a migration over. */
    private void handshake(SocketChannel ch, Admission.Ticket ticket, ByteBuffer first) {
        SocketTransport raw;
        try {
            raw = SocketTransport.accepted(ch, config.timeouts(), first);
        } catch (IOException e) {
            reception.release(ticket);
            return;
        }
        if (!ticket.onEvict(raw::abort)) {
            raw.abort();
            return;
        }
        boolean tlsClient = TlsTransport.looksLikeTls(first);
        Transport t = config.tls() != null && tlsClient ? TlsTransport.server(raw, config.tls()) : raw;
        ServerSession s = new ServerSession(t, config.key());
        boolean handedOver = false;
        String dropped = null;
        try {
            if (tlsClient != (config.tls() != null)) throw TlsTransport.refuseMismatch(raw, tlsClient, config.timeouts());
            // The deadline counts from accept, so the time spent reading the first flight is included.
            long left = ticket.since() + config.timeouts().handshake().toNanos() - System.nanoTime();
            if (left <= 0) throw MigrationException.network("the handshake with " + t.peer() + " did not finish in time", Errno.ETIMEDOUT);
            Handshake.Greeting greeting = s.handshake(Duration.ofNanos(left));
            Hello hello = greeting.hello();
            // Authenticated: out of the unauthenticated budget; from here the session's own limits apply.
            if (!reception.release(ticket)) return;
            if (hello.purpose() == Messages.Purpose.QUERY) {
                byte[] id = s.receiveQuery();
                Outcomes.Entry e = outcomes.find(id);
                // After a restart, the journal knows the migrations the earlier process saw.
                Verdict v = e != null ? e.resolve() : Objects.requireNonNullElse(
                        config.handoffs().verdict(HexFormat.of().formatHex(id)), Verdict.UNKNOWN);
                s.answer(v);
                config.log().accept(t.peer() + " asked how migration " + (e == null ? "(unknown)" : e.shortId())
                        + " ended: " + v.name().toLowerCase(java.util.Locale.ROOT));
                queried(HexFormat.of().formatHex(id));
                return;
            }
            if (!busy.compareAndSet(false, true)) {
                s.reject(ErrorCode.BUSY, "the server is busy with another VM");
                config.log().accept("refused a VM from " + t.peer() + ": busy with another VM");
                return;
            }
            try {
                queue.put(new Incoming(s, outcomes.begin(hello.nonce(), t), greeting.version().major()));
                handedOver = true;
            } finally {
                if (!handedOver) busy.set(false);
            }
        } catch (MigrationException e) {
            if (!ticket.evicted()) dropped = "dropped " + t.peer() + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            // One connection must never take the server down, nor print a stack trace.
            config.log().accept("dropped " + t.peer() + ": internal error: " + e);
        } finally {
            // Out of the budget, then logged, then closed: when the log says a connection was dropped
            // it no longer counts, and when the peer sees the close the line is written.
            reception.release(ticket);
            if (dropped != null) reception.dropped(dropped);
            if (!handedOver) s.close();
        }
    }

    /** Receives one VM; returns it once committed, or null (logged) when the migration failed. */
    private Arrival receive(Incoming in) {
        ServerSession s = in.session();
        String peer = s.transport().peer();
        long start = System.nanoTime(), mark = start;
        long[] phases = new long[PHASES.length];
        FileInstaller files = null;
        Machine machine = null;
        MigrationException[] streamFailure = new MigrationException[1];
        MemoryStream.Stats[] memory = new MemoryStream.Stats[1];
        Machine.Shell early = null;
        Prefaulter prefaulter = null;
        Spool spool = null;
        try {
            StateOffer offer;
            Rounds.Receiver rounds = null;
            Messages.Prepare prepare = null;
            if (in.protocol() >= 2) {
                // Protocol 2: refuse, or set memory aside, while the guest still runs at the client.
                prepare = s.receivePrepare();
                String size = StateRules.checkMemorySize(prepare.memoryBytes());
                if (size != null) throw MigrationException.rejected("the VM's " + size);
                refuseMissingCpuFeatures(prepare.cpuid(), prepare.xcrs());
                try {
                    early = Machine.shell(config.machine(), prepare.memoryBytes());
                } catch (RuntimeException e) {
                    throw MigrationException.rejected("cannot set up a VM here: " + e.getMessage());
                }
                prefaulter = new Prefaulter(early.memory().segment());
                try {
                    spool = config.handoffs().spool(in.outcome().id(), early.memory().segment());
                } catch (IOException e) {
                    throw MigrationException.local("cannot keep the VM durably here: " + e.getMessage());
                }
                s.prepared();
                mark = lap(phases, PREPARE, mark);
                rounds = new Rounds.Receiver(early.memory().segment(), prefaulter, spool);
                offer = s.receiveRounds(rounds);
                mark = lap(phases, ROUNDS, mark);
            } else {
                offer = s.receiveOffer();
            }
            MachineState state;
            try {
                state = StateCodec.decode(offer.state());
            } catch (ImageException e) {
                throw MigrationException.protocol("the VM " + e.getMessage());
            }
            // Refused before any file or memory is received (Machine.restore checks again).
            String refused = StateRules.check(state);
            if (refused != null) throw MigrationException.rejected("the VM's state is refused: " + refused);
            refuseMissingCpuFeatures(state.vcpu().cpuid(), state.vcpu().xcrs());
            if (prepare != null && state.memory().size() != prepare.memoryBytes()) {
                throw MigrationException.protocol("STATE has " + state.memory().size() + " bytes of memory, PREPARE said " + prepare.memoryBytes());
            }
            List<Integer> wanted = List.of();
            if (offer.filesOffered()) {
                files = FileInstaller.plan(config.machine().root(), state.kernel(),
                        path -> config.handoffs().creating(in.outcome().id(), path));
                wanted = files.wanted();
            }
            s.accept(wanted);
            config.log().accept("receiving a VM from " + peer + " (" + (state.memory().size() >> 20) + " MiB of memory, "
                    + state.kernel().files().size() + " open files" + (wanted.isEmpty() ? "" : ", " + wanted.size() + " sent along") + ")");
            for (int i : wanted) s.receiveFile(files, i);
            java.util.concurrent.CompletableFuture<Void> durable = null;
            if (rounds != null) {
                s.receiveEnd(rounds);
                mark = lap(phases, STATE, mark);
                prefaulter.close();
                memory[0] = new MemoryStream.Stats(rounds.runs(), rounds.pages());
                // The spool's last flush and the restore go on at once: one is the disk's work, the other the CPU's.
                Spool last = spool;
                durable = java.util.concurrent.CompletableFuture.runAsync(() -> {
                    try {
                        last.finish(state);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, r -> Thread.ofVirtual().name("migration-spool-finish").start(r));
                Machine.Shell filled = early;
                early = null;   // the machine owns it now, also if the restore fails
                try {
                    machine = Machine.restore(config.machine(), state, filled);
                } catch (Machine.RestoreException e) {
                    durable.handle((v, x) -> null).join();
                    throw MigrationException.rejected("cannot restore the VM here: " + e.getMessage());
                }
                mark = lap(phases, RESTORE, mark);
            } else {
                mark = lap(phases, STATE, mark);
                try {
                    machine = Machine.restore(config.machine(), state, mem -> {
                        try {
                            memory[0] = s.receiveMemory(mem.segment());
                        } catch (MigrationException e) {
                            streamFailure[0] = e;
                            throw e;
                        }
                    });
                } catch (Machine.RestoreException e) {
                    if (streamFailure[0] != null) throw streamFailure[0];
                    throw MigrationException.rejected("cannot restore the VM here: " + e.getMessage());
                }
                mark = lap(phases, RESTORE, mark);
            }
            // Durable before READY: once COMMIT is recorded, a killed server still has the VM.
            try {
                if (durable != null) {
                    try {
                        durable.join();
                    } catch (java.util.concurrent.CompletionException e) {
                        throw e.getCause() instanceof java.io.UncheckedIOException u ? u.getCause() : new IOException(e.getCause());
                    }
                    spool.close();
                } else {
                    config.handoffs().prepare(in.outcome().id(), state, machine.memory().segment(), Snapshots.touchedPages(machine));
                }
            } catch (IOException e) {
                throw MigrationException.local("cannot keep the VM durably here: " + e.getMessage());
            }
            mark = lap(phases, DURABLE, mark);
            s.ready();
            s.awaitCommit();
            mark = lap(phases, READY, mark);
            boolean committed;
            try {
                committed = in.outcome().commit(() -> config.handoffs().commit(in.outcome().id()));
            } catch (IOException e) {
                throw MigrationException.local("cannot record the commit durably: " + e.getMessage());
            }
            if (!committed) {
                throw new MigrationException("a status query aborted the migration before COMMIT arrived",
                        ErrorCode.ABORTED.errno(), ErrorCode.ABORTED);
            }
            lap(phases, COMMIT, mark);
        } catch (MigrationException | RuntimeException e) {
            in.outcome().abort();
            config.handoffs().abort(in.outcome().id());
            String why = e.getMessage() != null ? e.getMessage() : e.toString();
            if (!(e instanceof MigrationException m && m.fromPeer())) {
                s.reject(e instanceof MigrationException m ? m.code() : ErrorCode.INTERNAL, why);
            }
            s.close();
            if (spool != null) spool.close();
            if (prefaulter != null) prefaulter.close();
            if (early != null) early.close();
            if (machine != null) machine.close();
            if (files != null) files.rollback();
            config.log().accept("VM from " + peer + " not taken: " + (e instanceof MigrationException m && m.fromPeer()
                    ? "the client gave up: " : "") + why + " (discarded; the client keeps it)");
            return null;
        }
        // Committed: the VM is the server's now, whatever happens to the connection. Nothing below may fail.
        if (files != null) files.commit();
        long bytes = s.transport().bytesRead(), elapsed = System.nanoTime() - start;
        confirmInBackground(s, in.outcome());
        config.log().accept(String.format("VM from %s committed (%d pages, %.1f MiB in %.0f ms)", peer,
                memory[0].pages(), memory[0].bytes() / 1048576.0, elapsed / 1e6));
        return new Arrival(machine, memory[0].bytes(), bytes, elapsed, phases, in.outcome());
    }

    private static long lap(long[] phases, int i, long since) {
        long now = System.nanoTime();
        phases[i] += now - since;
        return now;
    }

    private void refuseMissingCpuFeatures(List<CpuidEntry> cpuid, List<dev.scratchvm.x86.Xcr> xcrs) throws MigrationException {
        List<String> missing = CpuFeatures.missing(cpuid, xcrs, hostCpuid);
        if (!missing.isEmpty()) throw MigrationException.rejected("this host's CPU lacks features the VM uses: " + String.join(", ", missing));
    }

    /** Tells the client it committed, then waits for its BYE off the VM's thread. */
    private void confirmInBackground(ServerSession s, Outcomes.Entry outcome) {
        try {
            s.committed();
        } catch (MigrationException e) {
            s.close();   // the client will ask with a QUERY
            return;
        }
        Thread.ofVirtual().name("migration-bye").start(() -> {
            try (s) {
                s.awaitBye();
                outcome.confirm();
            } catch (MigrationException ignored) {
                // No BYE: the client will ask with a QUERY if it needs to.
            }
        });
    }

    @Override
    public void close() {
        reception.close();
        for (Incoming in; (in = queue.poll()) != null; ) {
            in.outcome().abort();
            in.session().close();
        }
    }
}
