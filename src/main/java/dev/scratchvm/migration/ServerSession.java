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
    Hello handshake(Duration limit) throws MigrationException {
        t.deadline(System.nanoTime() + limit.toNanos());
        Hello hello = Handshake.asServer(t, in, out, key);
        t.deadline(0);
        return hello;
    }

    StateOffer receiveOffer() throws MigrationException {
        in.next(MessageType.STATE);
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
