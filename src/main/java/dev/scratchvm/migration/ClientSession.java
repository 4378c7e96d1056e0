package dev.scratchvm.migration;

import dev.scratchvm.image.PageFilter;
import dev.scratchvm.migration.Messages.Accept;
import dev.scratchvm.migration.Messages.FileHeader;
import dev.scratchvm.migration.Messages.Hello;
import dev.scratchvm.migration.Messages.Purpose;
import dev.scratchvm.migration.Messages.StateOffer;
import dev.scratchvm.migration.Messages.Verdict;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.time.Duration;
import java.util.List;
import java.util.zip.CRC32C;

/** The client's half of one connection, one method per protocol step, in protocol order. */
final class ClientSession extends Session {
    ClientSession(Transport t, MigrationKey key) {
        super(t, key);
    }

    void handshake(Purpose purpose, byte[] nonce, Duration limit, Messages.Preamble version) throws MigrationException {
        t.deadline(System.nanoTime() + limit.toNanos());
        Handshake.asClient(t, in, out, key, new Hello(purpose, nonce), version);
        t.deadline(0);
    }

    /** Protocol 2: announces the VM and waits until the server has checked it and set memory aside. */
    void prepare(Messages.Prepare p) throws MigrationException {
        out.send(MessageType.PREPARE, p.encode());
        in.expectEmpty(MessageType.PREPARED);
    }

    void plan(Messages.Plan p) throws MigrationException {
        out.send(MessageType.PLAN, p.encode());
    }

    void round(Messages.Round r) throws MigrationException {
        out.send(MessageType.ROUND, r.encode());
    }

    /** Waits until the server says round {@code n} is in its memory and on its disk. */
    void awaitRoundDone(int n) throws MigrationException {
        in.next(MessageType.ROUND_DONE);
        byte[] p = in.rest();
        in.end();
        if (p.length != 4 || java.nio.ByteBuffer.wrap(p).getInt() != n) throw MigrationException.protocol("ROUND_DONE for another round than " + n);
    }

    FrameWriter out() {
        return out;
    }

    /** Offers the VM; returns the indexes of the files whose contents the server wants. */
    List<Integer> offer(byte[] state, boolean filesOffered) throws MigrationException {
        state(state, filesOffered);
        return accepted();
    }

    void state(byte[] state, boolean filesOffered) throws MigrationException {
        out.send(MessageType.STATE, new StateOffer(filesOffered ? StateOffer.FILES_OFFERED : 0, state).encode());
    }

    /** The server's ACCEPT: the indexes of the files whose contents it wants. */
    List<Integer> accepted() throws MigrationException {
        in.next(MessageType.ACCEPT);
        Accept a = Accept.decode(in.rest());
        in.end();
        return a.wantedFiles();
    }

    /**
     * Sends one file's contents and returns its CRC32C, computed over exactly the bytes sent.
     * The caller compares it with the fingerprint saved in the state.
     */
    int sendFile(FileHeader header, ReadableByteChannel content) throws MigrationException {
        out.send(MessageType.FILE, header.encode());
        ByteBuffer buf = ByteBuffer.allocateDirect(Messages.FILE_CHUNK);
        CRC32C crc = new CRC32C();
        long left = header.size();
        try {
            while (left > 0) {
                buf.clear().limit((int) Math.min(buf.capacity(), left));
                while (buf.hasRemaining()) {
                    if (content.read(buf) < 0) throw MigrationException.local("file became shorter while being sent");
                }
                buf.flip();
                crc.update(buf.duplicate());
                left -= buf.remaining();
                out.send(MessageType.FILE_DATA, buf);
            }
        } catch (IOException e) {
            throw MigrationException.local("cannot read file: " + e.getMessage());
        }
        return (int) crc.getValue();
    }

    MemoryStream.Stats sendMemory(MemorySegment guest, PageFilter filter) throws MigrationException {
        return MemoryStream.send(out, guest, filter);
    }

    void end(int files, MemoryStream.Stats memory) throws MigrationException {
        out.send(MessageType.END, new Messages.End(files, memory.runs(), memory.pages(), out.transcript()).encode());
    }

    /** Waits, longer than the idle timeout, while the server builds the VM. */
    void awaitReady(Duration limit) throws MigrationException {
        long idle = t.idleTimeout();
        t.idleTimeout(limit.toNanos());
        try {
            in.expectEmpty(MessageType.READY);
        } finally {
            t.idleTimeout(idle);
        }
    }

    void commit() throws MigrationException {
        out.send(MessageType.COMMIT);
    }

    void awaitCommitted() throws MigrationException {
        in.expectEmpty(MessageType.COMMITTED);
    }

    /** Tells the server we learned the outcome, so it need not wait for a QUERY. Best effort. */
    void bye() {
        try {
            out.send(MessageType.BYE);
        } catch (MigrationException ignored) {
            // The server then keeps the outcome for a QUERY that never comes; harmless.
        }
    }

    Verdict query(byte[] id) throws MigrationException {
        out.send(MessageType.QUERY, new Messages.Query(id).encode());
        in.next(MessageType.OUTCOME);
        Verdict v = Verdict.decode(in.rest());
        in.end();
        return v;
    }

    /** Tells the server why we give up. Best effort. */
    void abort(ErrorCode code, String message) {
        Handshake.trySend(out, code, message);
    }
}
