package dev.scratchvm.migration;

import dev.scratchvm.migration.Messages.Accept;
import dev.scratchvm.migration.Messages.FileHeader;
import dev.scratchvm.migration.Messages.Hello;
import dev.scratchvm.migration.Messages.StateOffer;
import dev.scratchvm.migration.Messages.Verdict;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;

/** The server's half of one connection, one method per protocol step, in protocol order. */
final class ServerSession extends Session {
    ServerSession(Transport t, MigrationKey key) {
        super(t, key);
    }

    /** Authenticates the client within {@code limit}; nothing else is read before this succeeds. */
    Handshake.Greeting handshake(Duration limit) throws MigrationException {
        t.deadline(System.nanoTime() + limit.toNanos());
        Handshake.Greeting greeting = Handshake.asServer(t, in, out, key);
        t.deadline(0);
        return greeting;
    }

    /** Protocol 2: what the client will send. */
    Messages.Prepare receivePrepare() throws MigrationException {
        in.next(MessageType.PREPARE);
        Messages.Prepare p = Messages.Prepare.decode(in.rest());
        in.end();
        return p;
    }

    void prepared() throws MigrationException {
        out.send(MessageType.PREPARED);
    }

    /** Protocol 2: memory rounds into {@code memory} until STATE, which is then read. */
    StateOffer receiveRounds(Rounds.Receiver memory) throws MigrationException {
        memory.receive(in, out, java.util.Set.of(MessageType.STATE));
        return offer();
    }

    StateOffer receiveOffer() throws MigrationException {
        in.next(MessageType.STATE);
        return offer();
    }

    /** Protocol 2's END: after the files, the totals of every round and the transcript since the handshake. */
    void receiveEnd(Rounds.Receiver memory) throws MigrationException {
        int transcript = in.transcript();
        in.next(MessageType.END);
        Messages.End e = Messages.End.decode(in.rest());
        in.end();
        if (e.runs() != memory.runs() || e.pages() != memory.pages()) {
            throw MigrationException.protocol("END counts " + e.runs() + " runs, " + e.pages() + " pages, but "
                    + memory.runs() + " runs, " + memory.pages() + " pages arrived");
        }
        if (e.transcript() != transcript) {
            throw MigrationException.network("transcript checksum mismatch: messages were lost or reordered in transit", dev.scratchvm.sys.Errno.EIO);
        }
    }

    private StateOffer offer() throws MigrationException {
        StateOffer offer = StateOffer.decode(in.rest());
        in.end();
        return offer;
    }

    void accept(List<Integer> wantedFiles) throws MigrationException {
        out.send(MessageType.ACCEPT, new Accept(wantedFiles).encode());
    }

    /** Receives the contents of file {@code index} into {@code files}, which checks and installs it. */
    void receiveFile(FileInstaller files, int index) throws MigrationException {
        in.next(MessageType.FILE);
        FileHeader h = FileHeader.decode(in.rest());
        in.end();
        if (h.index() != index) throw MigrationException.protocol("FILE " + h.index() + " sent where file " + index + " was asked for");
        FileInstaller.Sink sink = files.begin(h);
        ByteBuffer buf = ByteBuffer.allocateDirect(Messages.FILE_CHUNK);
        long left = h.size();
        while (left > 0) {
            in.next(MessageType.FILE_DATA);
            long n = in.remaining();
            if (n == 0 || n > left) throw MigrationException.protocol("FILE_DATA of " + n + " bytes where " + left + " remain");
            buf.clear().limit((int) n);
            in.read(buf);
            in.end();
            sink.write(buf.flip());
            left -= n;
        }
        files.finish(sink);
    }

    /** Streams memory into the guest until END; see {@link MemoryStream#receive}. */
    MemoryStream.Stats receiveMemory(MemorySegment guest) throws MigrationException {
        return MemoryStream.receive(in, guest);
    }

    void ready() throws MigrationException {
        out.send(MessageType.READY);
    }

    /**
     * Waits for COMMIT twice as long as the idle timeout: a client that sent COMMIT and heard
     * nothing asks after one idle timeout, and its question must find the migration still
     * pending, so that the question, not a race of two timers, decides it.
     */
    void awaitCommit() throws MigrationException {
        long idle = transport().idleTimeout();
        transport().idleTimeout(2 * idle);
        try {
            in.expectEmpty(MessageType.COMMIT);
        } finally {
            transport().idleTimeout(idle);
        }
    }

    void committed() throws MigrationException {
        out.send(MessageType.COMMITTED);
    }

    void awaitBye() throws MigrationException {
        in.expectEmpty(MessageType.BYE);
    }

    byte[] receiveQuery() throws MigrationException {
        in.next(MessageType.QUERY);
        byte[] id = Messages.Query.decode(in.rest()).id();
        in.end();
        return id;
    }

    void answer(Verdict verdict) throws MigrationException {
        out.send(MessageType.OUTCOME, verdict.encode());
    }

    /** Tells the client why the server gives up. Best effort. */
    void reject(ErrorCode code, String message) {
        Handshake.trySend(out, code, message);
    }
}
