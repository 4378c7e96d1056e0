package dev.scratchvm.migration;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.StateCodec;
import dev.scratchvm.image.StateRules;
import dev.scratchvm.kvm.Kvm;
import dev.scratchvm.migration.Messages.Hello;
import dev.scratchvm.migration.Messages.StateOffer;
import dev.scratchvm.migration.Messages.Verdict;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.VcpuState.CpuidEntry;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.vmm.CpuFeatures;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.Snapshots;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The VMM_SERVER side. One acceptor thread accepts connections and, with one selector, reads
 * each one's first flight (preamble and HELLO) without a thread per connection; unauthenticated
 * connections live within a small budget ({@link Admission}) and a deadline counted from
 * accept. A connection whose HELLO arrived is authenticated on its own virtual thread, which
 * also answers status queries; a migration is handed to the caller's thread,
 * which receives it, builds the VM paused, and — only once COMMIT is read and recorded —
 * returns it from {@link #next} to be run. One VM at a time: while one is arriving or running,
 * further migrations are refused as busy (their clients keep their VMs).
 */
public final class MigrationServer implements AutoCloseable {
    /** Unauthenticated connections at once, in all and from one address (IPv6: one /64); see {@link Admission}. */
    static final int MAX_UNAUTHENTICATED = 64, MAX_UNAUTHENTICATED_PER_ADDRESS = 8;
    /** Preamble and HELLO: what a client sends before it hears from the server. */
    static final int FIRST_FLIGHT = Messages.Preamble.BYTES + FrameWriter.HEADER + Messages.Hello.BYTES + FrameWriter.TRAILER;
    /** Connections the kernel queues until accepted: enough that a flood of connects does not crowd out a client's SYN. */
    private static final int BACKLOG = 1024;
    private static final int ACCEPT_BATCH = 16;

    /**
     * @param root    directory the guests see as "/"; {@code --with-files} writes below it
     * @param machine how to build each restored machine
     * @param log     one line per event, without a prefix
     */
    public record Config(MigrationKey key, Timeouts timeouts, MachineConfig machine, Handoffs handoffs, Consumer<String> log) {
    }

    /** A committed VM, ready to run: it is this server's now. */
    public static final class Arrival {
        private final Machine machine;
        private final long memoryBytes, bytesReceived, elapsedNanos;
        private final Outcomes.Entry outcome;

        private Arrival(Machine machine, long memoryBytes, long bytesReceived, long elapsedNanos, Outcomes.Entry outcome) {
            this.machine = machine;
            this.memoryBytes = memoryBytes;
            this.bytesReceived = bytesReceived;
            this.elapsedNanos = elapsedNanos;
            this.outcome = outcome;
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

    private record Incoming(ServerSession session, Outcomes.Entry outcome) {
    }

    private final ServerSocketChannel server;
    private final Config config;
    private final List<CpuidEntry> hostCpuid;
    private final Outcomes outcomes = new Outcomes();
    private final LinkedBlockingQueue<Incoming> queue = new LinkedBlockingQueue<>();
    private final AtomicBoolean busy = new AtomicBoolean();
    private final Admission admission = new Admission(MAX_UNAUTHENTICATED, MAX_UNAUTHENTICATED_PER_ADDRESS);
    private final Selector selector;
    /** Connections whose first flight the acceptor is reading; only the acceptor thread touches these. */
    private final Set<Waiting> waiting = new LinkedHashSet<>();
    private boolean flush;
    private final DropLog drops;
    private final Thread acceptor;
    private volatile boolean closed;

    /** A connection whose preamble and HELLO are still arriving: a socket, a 57-byte buffer and its ticket; no thread. */
    private static final class Waiting {
        final SocketChannel ch;
        final String peer;
        final ByteBuffer first = ByteBuffer.allocate(FIRST_FLIGHT);
        Admission.Ticket ticket;
        SelectionKey key;

        Waiting(SocketChannel ch, String peer) {
            this.ch = ch;
            this.peer = peer;
        }
    }

    /**
     * Log lines about unauthenticated connections, at most {@link #PER_SECOND} a second: a flood
     * must not become a flood of log lines. What is held back is counted in one line.
     */
    private static final class DropLog {
        private static final int PER_SECOND = 10;
        private static final long WINDOW = TimeUnit.SECONDS.toNanos(1);
        private final Consumer<String> log;
        private long windowStart;
        private int lines;
        private long held;

        DropLog(Consumer<String> log) {
            this.log = log;
            this.windowStart = System.nanoTime() - WINDOW;
        }

        synchronized void line(String text) {
            flush();
            if (lines++ < PER_SECOND) log.accept(text);
            else held++;
        }

        /** Ends the current window once its second is over, reporting what it held back. */
        synchronized void flush() {
            long now = System.nanoTime();
            if (now - windowStart < WINDOW) return;
            if (held > 0) log.accept("dropped " + held + " more unauthenticated connections in the last second (not logged one by one)");
            windowStart = now;
            lines = 0;
            held = 0;
        }

        synchronized boolean holding() {
            return held > 0;
        }

        /** When {@link #flush} has something to report, if {@link #holding}. */
        synchronized long due() {
            return windowStart + WINDOW;
        }
    }

    private MigrationServer(ServerSocketChannel server, Selector selector, Config config, List<CpuidEntry> hostCpuid) {
        this.server = server;
        this.selector = selector;
        this.config = config;
        this.hostCpuid = hostCpuid;
        this.drops = new DropLog(config.log());
        Thread.ofVirtual().name("migration-warm-up").start(() -> Handshake.rehearse(config.key(), config.timeouts()));
        this.acceptor = Thread.ofPlatform().name("migration-acceptor").daemon().start(this::acceptLoop);
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
        ServerSocketChannel ch = ServerSocketChannel.open();
        Selector sel = null;
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ch.setOption(StandardSocketOptions.SO_RCVBUF, SocketTransport.SOCKET_BUFFER);
            ch.bind(new InetSocketAddress(at.host(), at.port()), BACKLOG);
            ch.configureBlocking(false);
            sel = Selector.open();
            ch.register(sel, SelectionKey.OP_ACCEPT);
        } catch (IOException e) {
            if (sel != null) sel.close();
            ch.close();
            throw new IOException("cannot listen on " + at + ": " + e.getMessage(), e);
        }
        return new MigrationServer(ch, sel, config, hostCpuid);
    }

    /** Unauthenticated connections held now (for tests). */
    int unauthenticated() {
        return admission.size();
    }

    public InetSocketAddress address() {
        try {
            return (InetSocketAddress) server.getLocalAddress();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
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

    /** The VM returned by {@link #next} has finished: accept the next one. */
    public void done() {
        busy.set(false);
    }

    private void acceptLoop() {
        while (true) {
            try {
                if (flush) {
                    flush = false;
                    selector.selectNow();   // also completes the close of channels dropped since the last select
                } else {
                    selector.select(millisToNextWake());
                }
            } catch (ClosedSelectorException e) {
                break;
            } catch (IOException e) {
                config.log().accept("accept failed: " + e.getMessage());
                sleep(100);
                continue;
            }
            if (closed) break;
            try {
                boolean acceptable = false;
                for (SelectionKey k : selector.selectedKeys()) {
                    if (k.attachment() instanceof Waiting w) {
                        if (k.isValid()) readFirstFlight(w);
                    } else {
                        acceptable = true;
                    }
                }
                selector.selectedKeys().clear();
                // Data already here before new connections: a client that sent its HELLO is never the one pushed out.
                if (acceptable) acceptSome();
                expire();
                drops.flush();
            } catch (RuntimeException e) {
                // The acceptor must outlive anything one connection can cause.
                if (closed) break;
                selector.selectedKeys().clear();
                config.log().accept("acceptor: internal error: " + e);
                sleep(100);
            }
        }
        for (Waiting w : List.copyOf(waiting)) drop(w, null);
        for (Admission.Ticket t : admission.drain()) t.evict();
        try {
            selector.close();
        } catch (IOException ignored) {
            // Shutting down.
        }
    }

    /** Accepts what is queued, a batch at a time, each into the unauthenticated budget. */
    private void acceptSome() {
        for (int i = 0; i < ACCEPT_BATCH; i++) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                // Typically EMFILE: the descriptors are exhausted. Pausing keeps this from spinning.
                config.log().accept("accept failed: " + e.getMessage());
                sleep(100);
                return;
            }
            if (ch == null) return;
            InetSocketAddress from;
            try {
                ch.configureBlocking(false);
                from = (InetSocketAddress) ch.getRemoteAddress();
            } catch (IOException e) {
                abort(ch);
                continue;
            }
            if (from == null) {
                abort(ch);
                continue;
            }
            Waiting w = new Waiting(ch, Endpoint.format(from));
            List<Admission.Ticket> evicted = new ArrayList<>(1);
            w.ticket = admission.admit(from.getAddress(), System.nanoTime(), () -> drop(w, null), evicted);
            for (Admission.Ticket t : evicted) {
                t.evict();
                drops.line("dropped " + t + " (unauthenticated) to make room for " + w.peer + ": at most "
                        + MAX_UNAUTHENTICATED_PER_ADDRESS + " per address and " + MAX_UNAUTHENTICATED + " in all");
                flush = true;
            }
            try {
                w.key = ch.register(selector, SelectionKey.OP_READ, w);
            } catch (IOException e) {
                admission.release(w.ticket);
                abort(ch);
                continue;
            }
            waiting.add(w);
            readFirstFlight(w);
        }
    }

    /**
     * Reads what has arrived of the first flight (preamble and HELLO), without blocking. Once it
     * is complete, or shows the peer is not a current migration client, the connection goes on
     * to its own handshake thread; a peer whose first bytes are not the magic is dropped here.
     */
    private void readFirstFlight(Waiting w) {
        int n;
        try {
            n = w.ch.read(w.first);
        } catch (IOException e) {
            drop(w, "connection to " + w.peer + " lost: " + e.getMessage());
            return;
        }
        if (n < 0) {
            drop(w, "connection closed by " + w.peer);
            return;
        }
        if (n > 0) admission.reached(w.ticket, Admission.Stage.PARTIAL);
        switch (firstFlight(w.first)) {
            case INCOMPLETE -> { }
            case NOT_MIGRATION -> drop(w, "not a migration client (wrong magic bytes)");
            case COMPLETE, UNUSUAL -> handOver(w);
        }
    }

    enum FirstFlight { INCOMPLETE, COMPLETE, NOT_MIGRATION, UNUSUAL }

    /** Judges the bytes of a first flight read so far (position = bytes read). */
    static FirstFlight firstFlight(ByteBuffer b) {
        int have = b.position();
        byte[] magic = Messages.Preamble.MAGIC;
        for (int i = 0; i < Math.min(have, magic.length); i++) {
            if (b.get(i) != magic[i]) return FirstFlight.NOT_MIGRATION;
        }
        // Another major version, or a first frame other than a well-formed HELLO header: the handshake
        // thread answers as the protocol says (ERROR 2) or names the problem.
        if (have >= Messages.Preamble.BYTES && Short.toUnsignedInt(b.getShort(8)) != Messages.Preamble.CURRENT.major()) {
            return FirstFlight.UNUSUAL;
        }
        int h = Messages.Preamble.BYTES;
        if (have >= h + FrameWriter.HEADER && (b.get(h) != (byte) MessageType.HELLO.code || b.get(h + 1) != 0
                || b.getShort(h + 2) != 0 || b.getInt(h + 4) != Messages.Hello.BYTES)) {
            return FirstFlight.UNUSUAL;
        }
        return b.hasRemaining() ? FirstFlight.INCOMPLETE : FirstFlight.COMPLETE;
    }

    private void handOver(Waiting w) {
        waiting.remove(w);
        w.key.cancel();
        flush = true;
        admission.reached(w.ticket, w.first.hasRemaining() ? Admission.Stage.PARTIAL : Admission.Stage.HELLO);
        if (!w.ticket.onEvict(() -> abort(w.ch))) return;   // cannot happen on this thread; for clarity
        ByteBuffer first = w.first.flip();
        Thread.ofVirtual().name("migration-handshake").start(() -> handshake(w.ch, w.ticket, first));
    }

    /** Drops connections whose handshake deadline passed while their first flight was still arriving. */
    private void expire() {
        long now = System.nanoTime(), limit = config.timeouts().handshake().toNanos();
        for (Waiting w : List.copyOf(waiting)) {
            if (now - (w.ticket.since() + limit) >= 0) drop(w, "the handshake with " + w.peer + " did not finish in time");
        }
    }

    /** Until the next deadline or held-back log summary; 0 (no limit) when there is neither. */
    private long millisToNextWake() {
        boolean any = drops.holding();
        long next = drops.due(), limit = config.timeouts().handshake().toNanos();
        for (Waiting w : waiting) {
            long at = w.ticket.since() + limit;
            if (!any || at - next < 0) next = at;
            any = true;
        }
        if (!any) return 0;
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(next - System.nanoTime()) + 1);
    }

    /** Closes a connection still in its first flight; logs {@code why} unless null (evicted, or closing). */
    private void drop(Waiting w, String why) {
        waiting.remove(w);
        if (w.key != null) w.key.cancel();
        abort(w.ch);
        admission.release(w.ticket);
        flush = true;
        if (why != null) drops.line("dropped " + w.peer + ": " + why);
    }

    /** Authenticates one connection on its own thread, then answers a query or hands a migration over. */
    private void handshake(SocketChannel ch, Admission.Ticket ticket, ByteBuffer first) {
        SocketTransport t;
        try {
            t = SocketTransport.accepted(ch, config.timeouts(), first);
        } catch (IOException e) {
            admission.release(ticket);
            return;
        }
        if (!ticket.onEvict(t::abort)) {
            t.abort();
            return;
        }
        ServerSession s = new ServerSession(t, config.key());
        boolean handedOver = false;
        try {
            // The deadline counts from accept, so the time spent reading the first flight is included.
            long left = ticket.since() + config.timeouts().handshake().toNanos() - System.nanoTime();
            if (left <= 0) throw MigrationException.network("the handshake with " + t.peer() + " did not finish in time", Errno.ETIMEDOUT);
            Hello hello = s.handshake(Duration.ofNanos(left));
            // Authenticated: out of the unauthenticated budget; from here the session's own limits apply.
            if (!admission.release(ticket)) return;
            if (hello.purpose() == Messages.Purpose.QUERY) {
                byte[] id = s.receiveQuery();
                Outcomes.Entry e = outcomes.find(id);
                // After a restart, the journal knows the migrations the earlier process saw.
                Verdict v = e != null ? e.resolve() : Objects.requireNonNullElse(
                        config.handoffs().verdict(HexFormat.of().formatHex(id)), Verdict.UNKNOWN);
                s.answer(v);
                config.log().accept(t.peer() + " asked how migration " + (e == null ? "(unknown)" : e.shortId())
                        + " ended: " + v.name().toLowerCase(java.util.Locale.ROOT));
                return;
            }
            if (!busy.compareAndSet(false, true)) {
                s.reject(ErrorCode.BUSY, "the server is busy with another VM");
                config.log().accept("refused a VM from " + t.peer() + ": busy with another VM");
                return;
            }
            try {
                queue.put(new Incoming(s, outcomes.begin(hello.nonce(), t)));
                handedOver = true;
            } finally {
                if (!handedOver) busy.set(false);
            }
        } catch (MigrationException e) {
            if (!ticket.evicted()) drops.line("dropped " + t.peer() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            // One connection must never take the server down, nor print a stack trace.
            config.log().accept("dropped " + t.peer() + ": internal error: " + e);
        } finally {
            if (!handedOver) s.close();
            admission.release(ticket);
        }
    }

    /** Receives one VM; returns it once committed, or null (logged) when the migration failed. */
    private Arrival receive(Incoming in) {
        ServerSession s = in.session();
        String peer = s.transport().peer();
        long start = System.nanoTime();
        FileInstaller files = null;
        Machine machine = null;
        MigrationException[] streamFailure = new MigrationException[1];
        MemoryStream.Stats[] memory = new MemoryStream.Stats[1];
        try {
            StateOffer offer = s.receiveOffer();
            MachineState state;
            try {
                state = StateCodec.decode(offer.state());
            } catch (ImageException e) {
                throw MigrationException.protocol("the VM " + e.getMessage());
            }
            // Refused before any file or memory is received (Machine.restore checks again).
            String refused = StateRules.check(state);
            if (refused != null) throw MigrationException.rejected("the VM's state is refused: " + refused);
            List<String> missing = CpuFeatures.missing(state.vcpu().cpuid(), state.vcpu().xcrs(), hostCpuid);
            if (!missing.isEmpty()) throw MigrationException.rejected("this host's CPU lacks features the VM uses: " + String.join(", ", missing));
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
            // Durable before READY: once COMMIT is recorded, a killed server still has the VM.
            try {
                config.handoffs().prepare(in.outcome().id(), state, machine.memory().segment(), Snapshots.touchedPages(machine));
            } catch (IOException e) {
                throw MigrationException.local("cannot keep the VM durably here: " + e.getMessage());
            }
            s.ready();
            s.awaitCommit();
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
        } catch (MigrationException | RuntimeException e) {
            in.outcome().abort();
            config.handoffs().abort(in.outcome().id());
            String why = e.getMessage() != null ? e.getMessage() : e.toString();
            if (!(e instanceof MigrationException m && m.fromPeer())) {
                s.reject(e instanceof MigrationException m ? m.code() : ErrorCode.INTERNAL, why);
            }
            s.close();
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
        return new Arrival(machine, memory[0].bytes(), bytes, elapsed, in.outcome());
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

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Closes with a reset: nothing was sent that must arrive, and no TIME_WAIT is left behind. */
    private static void abort(SocketChannel ch) {
        try {
            ch.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException | RuntimeException ignored) {
            // Closed already, or the option refused: an ordinary close does as well.
        }
        try {
            ch.close();
        } catch (IOException ignored) {
            // Dropping it anyway.
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // Shutting down.
        }
        selector.wakeup();   // the acceptor closes what is still unauthenticated, and the selector
        for (Incoming in; (in = queue.poll()) != null; ) {
            in.outcome().abort();
            in.session().close();
        }
        acceptor.interrupt();
    }
}
