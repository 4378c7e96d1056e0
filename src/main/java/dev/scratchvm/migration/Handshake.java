package dev.scratchvm.migration;

import dev.scratchvm.migration.Messages.Auth;
import dev.scratchvm.migration.Messages.Challenge;
import dev.scratchvm.migration.Messages.Hello;
import dev.scratchvm.migration.Messages.Preamble;

import java.nio.ByteBuffer;
import java.security.SecureRandom;

/**
 * Mutual authentication, the same for every connection:
 * <pre>
 *   C → S  preamble, HELLO(purpose, client nonce)
 *   S → C  preamble, CHALLENGE(server nonce)
 *   C → S  AUTH(HMAC(key, "scratchvm-migration-1 client" ‖ 0 ‖ transcript))
 *   S → C  AUTH(HMAC(key, "scratchvm-migration-1 server" ‖ 0 ‖ transcript))
 * </pre>
 * where the transcript is both preambles, the HELLO and the CHALLENGE payloads. Fresh nonces on
 * both sides stop replays; the distinct labels stop one side's proof being reflected as the
 * other's. The server reads nothing but these small frames before the client has proved itself,
 * and the client sends no VM state before the server has.
 */
final class Handshake {
    static final String CLIENT_LABEL = "scratchvm-migration-1 client", SERVER_LABEL = "scratchvm-migration-1 server";
    private static final SecureRandom RANDOM = new SecureRandom();

    private Handshake() {
    }

    /**
     * Does the one-time work of the first handshake (seeding SecureRandom, loading the JCA MAC
     * provider and the NIO selector provider) on a background thread, so that it does not add
     * to the guest's downtime later. Safe to call any number of times.
     */
    static Thread warmUp(MigrationKey key) {
        return Thread.ofVirtual().name("migration-warm-up").start(() -> {
            try {
                key.proof(CLIENT_LABEL, nonce());
                java.nio.channels.Selector.open().close();
                java.nio.channels.SocketChannel.open().close();
            } catch (java.io.IOException | RuntimeException ignored) {
                // Only an optimisation; the real handshake reports any real problem.
            }
        });
    }

    /**
     * A full handshake between two sessions of this process over a loopback socket, neither
     * of them known to the server's acceptor: the server's first real handshake then runs
     * warm code (measured: 16 ms cold, 3 ms warm, all of it guest downtime).
     */
    static void rehearse(MigrationKey key, Timeouts timeouts) {
        try (java.nio.channels.ServerSocketChannel listener = java.nio.channels.ServerSocketChannel.open()) {
            listener.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0));
            Endpoint self = new Endpoint("127.0.0.1", ((java.net.InetSocketAddress) listener.getLocalAddress()).getPort());
            Thread client = Thread.ofVirtual().name("migration-rehearsal").start(() -> {
                try (ClientSession c = new ClientSession(SocketTransport.connect(self, timeouts), key)) {
                    c.handshake(Messages.Purpose.QUERY, nonce(), timeouts.handshake(), Preamble.CURRENT);
                } catch (MigrationException ignored) {
                    // only a rehearsal
                }
            });
            try (ServerSession s = new ServerSession(SocketTransport.accepted(listener.accept(), timeouts), key)) {
                s.handshake(timeouts.handshake());
            }
            client.join(timeouts.handshake());
        } catch (java.io.IOException | MigrationException | RuntimeException | InterruptedException ignored) {
            // Only an optimisation; the real handshake reports any real problem.
        }
    }

    static byte[] nonce() {
        byte[] n = new byte[Messages.NONCE];
        RANDOM.nextBytes(n);
        return n;
    }

    static byte[] transcript(Preamble client, Preamble server, Hello hello, Challenge challenge) {
        ByteBuffer b = ByteBuffer.allocate(2 * Preamble.BYTES + Hello.BYTES + Challenge.BYTES);
        return b.put(client.encode()).put(server.encode()).put(hello.encode()).put(challenge.encode()).array();
    }

    /** Client side. Returns normally only when both sides proved they hold {@code key}. */
    static void asClient(Transport t, FrameReader in, FrameWriter out, MigrationKey key, Hello hello, Preamble mine)
            throws MigrationException {
        out.sendRaw(mine.encode());
        out.send(MessageType.HELLO, hello.encode());
        ByteBuffer raw = ByteBuffer.allocate(Preamble.BYTES);
        t.readFully(raw);
        Preamble theirs = Preamble.decode(raw);
        if (theirs == null) throw MigrationException.protocol(t.peer() + " is not a ScratchVM migration server (wrong magic bytes)");
        if (theirs.major() != mine.major()) {
            try {
                in.next(MessageType.ERROR);   // the server explains in a frozen format, if it can
            } catch (MigrationException e) {
                if (!e.fromPeer()) throw versionMismatch(theirs, mine);
                throw e;
            }
            throw versionMismatch(theirs, mine);
        }
        in.next(MessageType.CHALLENGE);
        Challenge challenge = Challenge.decode(in.rest());
        in.end();
        byte[] transcript = transcript(mine, theirs, hello, challenge);
        out.send(MessageType.AUTH, new Auth(key.proof(CLIENT_LABEL, transcript)).encode());
        try {
            in.next(MessageType.AUTH);
        } catch (MigrationException e) {
            if (e.fromPeer() && e.code() == ErrorCode.AUTH) {
                throw MigrationException.fromPeer(ErrorCode.AUTH, "our key is not the server's (both sides need the same key file)");
            }
            throw e;
        }
        Auth proof = Auth.decode(in.rest());
        in.end();
        if (!MigrationKey.same(proof.mac(), key.proof(SERVER_LABEL, transcript))) {
            trySend(out, ErrorCode.AUTH, "server proof does not match");
            throw new MigrationException(t.peer() + " did not prove it holds the migration key (a different key, or not our server)",
                    ErrorCode.AUTH.errno(), ErrorCode.AUTH);
        }
        in.startTranscript();
        out.startTranscript();
    }

    /** What the server learned in a successful handshake: the client's HELLO and the protocol both now speak. */
    record Greeting(Hello hello, Preamble version) {
    }

    /**
     * Server side. Returns the client's HELLO once the client proved it holds {@code key}. A
     * client of any version the server speaks ({@link Preamble#served}) is answered in its own
     * version; the preambles are in the transcript, so neither side can be talked down.
     */
    static Greeting asServer(Transport t, FrameReader in, FrameWriter out, MigrationKey key) throws MigrationException {
        ByteBuffer raw = ByteBuffer.allocate(Preamble.BYTES);
        t.readFully(raw);
        Preamble theirs = Preamble.decode(raw);
        if (theirs == null) throw MigrationException.protocol("not a migration client (wrong magic bytes)");
        Preamble mine = Preamble.served(theirs.major()) ? new Preamble(theirs.major(), 0) : Preamble.CURRENT;
        out.sendRaw(mine.encode());
        if (theirs.major() != mine.major()) {
            MigrationException e = new MigrationException(versionMismatch(theirs, mine).getMessage(),
                    ErrorCode.VERSION.errno(), ErrorCode.VERSION);
            trySend(out, ErrorCode.VERSION, "this server speaks migration protocol " + Preamble.OLDEST + " to " + mine + ", not " + theirs);
            throw e;
        }
        in.next(MessageType.HELLO);
        Hello hello = Hello.decode(in.rest());
        in.end();
        Challenge challenge = new Challenge(nonce());
        out.send(MessageType.CHALLENGE, challenge.encode());
        in.next(MessageType.AUTH);
        Auth proof = Auth.decode(in.rest());
        in.end();
        byte[] transcript = transcript(theirs, mine, hello, challenge);
        if (!MigrationKey.same(proof.mac(), key.proof(CLIENT_LABEL, transcript))) {
            trySend(out, ErrorCode.AUTH, "authentication failed");
            throw new MigrationException("authentication failed (the client has a different key)", ErrorCode.AUTH.errno(), ErrorCode.AUTH);
        }
        out.send(MessageType.AUTH, new Auth(key.proof(SERVER_LABEL, transcript)).encode());
        in.startTranscript();
        out.startTranscript();
        return new Greeting(hello, mine);
    }

    private static MigrationException versionMismatch(Preamble theirs, Preamble mine) {
        return new MigrationException("peer speaks migration protocol " + theirs + ", this VMM speaks " + mine,
                ErrorCode.VERSION.errno(), ErrorCode.VERSION);
    }

    /** Best effort: the connection may already be gone, and the real failure is what matters. */
    static void trySend(FrameWriter out, ErrorCode code, String message) {
        try {
            out.send(MessageType.ERROR, new Messages.ErrorReply(code, message).encode());
        } catch (MigrationException | RuntimeException ignored) {
            // Nothing to add: the caller reports its own failure.
        }
    }
}
