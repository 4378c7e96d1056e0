package dev.scratchvm.migration;

import dev.scratchvm.image.PageFilter;
import dev.scratchvm.image.StateCodec;
import dev.scratchvm.migration.Messages.FileHeader;
import dev.scratchvm.migration.Messages.Purpose;
import dev.scratchvm.migration.Messages.Verdict;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.MachineState;

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

    public MigrationClient(Endpoint to, MigrationKey key, Timeouts timeouts, Consumer<String> log) {
        this(to, key, null, timeouts, log);
    }

    /** With {@code tls} not null, every connection is TLS 1.3 with the client's certificate (see {@link TlsSettings}). */
    public MigrationClient(Endpoint to, MigrationKey key, TlsSettings tls, Timeouts timeouts, Consumer<String> log) {
        this(() -> TlsTransport.connect(to, tls, timeouts), to.toString(), key, timeouts, log);
        warmUp = Handshake.warmUp(key);
    }

    private Thread warmUp;

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
    public record Stats(long bytesSent, long memoryPages, long runs, int files, long elapsedNanos, long[] phaseNanos) {
        /** The phases as "handshake 1.2 ms, state 0.3 ms, ...". */
        public String phases() {
            String[] names = {"handshake", "state", "files", "memory", "ready", "commit"};
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < names.length; i++) {
                b.append(i == 0 ? "" : ", ").append(names[i]).append(String.format(" %.1f ms", phaseNanos[i] / 1e6));
            }
            return b.toString();
        }
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
            try {
                beforeCommit.committing(id);
            } catch (IOException e) {
                throw MigrationException.local("cannot record the migration before COMMIT: " + e.getMessage());
            }
        } catch (MigrationException e) {
            if (s != null) {
                if (!e.fromPeer()) s.abort(e.code(), e.getMessage());
                s.close();
            }
            return new Result.Failed(e.fromPeer() ? "the server refused: " + e.getMessage() : e.getMessage(), e.errno());
        }
        // From the first byte of COMMIT on, the server may own the VM: no local resume without its word.
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
            return committed(c.transport().bytesWritten(), memory, wanted.size(), start, phases);
        } catch (MigrationException e) {
            if (e.fromPeer()) {
                // The server answered COMMIT with ERROR: it has aborted, definitively.
                return new Result.Failed("the server aborted: " + e.getMessage(), e.errno());
            }
            log.accept("connection lost after COMMIT (" + e.getMessage() + "); asking " + to + " whether it took the VM");
            return resolve(id, e.getMessage(), s.transport().bytesWritten(), memory, wanted.size(), start, phases, mark);
        }
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
                s.handshake(purpose, id, timeouts.handshake());
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
