package dev.scratchvm.migration;

import dev.scratchvm.migration.Messages.Hello;
import dev.scratchvm.migration.Messages.Purpose;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Mutual authentication with the shared key, before any VM state moves. */
@DisplayName("Handshake")
class HandshakeTest {
    private static final MigrationKey KEY = MigrationKey.of("the-shared-secret-0123456789".getBytes(StandardCharsets.UTF_8));
    private static final MigrationKey OTHER = MigrationKey.of("another-secret-entirely-9876".getBytes(StandardCharsets.UTF_8));

    /** Runs the server side on another thread; returns its result or failure. */
    private static CompletableFuture<Hello> server(MemoryTransport t, MigrationKey key) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return Handshake.asServer(t, new FrameReader(t), new FrameWriter(t), key).hello();
            } catch (MigrationException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, r -> Thread.ofPlatform().daemon().start(r));
    }

    private static void client(MemoryTransport t, MigrationKey key, Hello hello) throws MigrationException {
        Handshake.asClient(t, new FrameReader(t), new FrameWriter(t), key, hello, Messages.Preamble.CURRENT);
    }

    private static MigrationException cause(CompletableFuture<?> f) {
        try {
            f.get();
            throw new AssertionError("expected the server to fail");
        } catch (ExecutionException e) {
            return (MigrationException) e.getCause();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void withTheSameKeyBothSidesAuthenticateAndTheServerLearnsThePurposeAndId() throws Exception {
        MemoryTransport[] pair = MemoryTransport.pair();
        CompletableFuture<Hello> server = server(pair[1], KEY);
        byte[] id = Handshake.nonce();
        client(pair[0], KEY, new Hello(Purpose.MIGRATE, id));
        assertThat(server.get().purpose()).isEqualTo(Purpose.MIGRATE);
        assertThat(server.get().nonce()).isEqualTo(id);
    }

    @Test
    void aClientWithAnotherKeyIsRejectedAndToldWhy() {
        MemoryTransport[] pair = MemoryTransport.pair();
        CompletableFuture<Hello> server = server(pair[1], KEY);
        assertThatThrownBy(() -> client(pair[0], OTHER, new Hello(Purpose.MIGRATE, Handshake.nonce())))
                .isInstanceOfSatisfying(MigrationException.class, e -> {
                    assertThat(e.fromPeer()).isTrue();
                    assertThat(e.code()).isEqualTo(ErrorCode.AUTH);
                    assertThat(e.getMessage()).isEqualTo("our key is not the server's (both sides need the same key file)");
                });
        assertThat(cause(server)).hasMessage("authentication failed (the client has a different key)");
    }

    @Test
    void aServerThatCannotProveTheKeyGetsNothingButAnError() throws Exception {
        // An impostor that speaks the protocol but answers AUTH with garbage.
        MemoryTransport[] pair = MemoryTransport.pair();
        CompletableFuture<Void> impostor = CompletableFuture.runAsync(() -> {
            try {
                MemoryTransport t = pair[1];
                FrameReader in = new FrameReader(t);
                FrameWriter out = new FrameWriter(t);
                t.readFully(ByteBuffer.allocate(Messages.Preamble.BYTES));
                out.sendRaw(Messages.Preamble.CURRENT.encode());
                in.next(MessageType.HELLO);
                in.rest();
                in.end();
                out.send(MessageType.CHALLENGE, ByteBuffer.wrap(Handshake.nonce()));
                in.next(MessageType.AUTH);
                in.rest();
                in.end();
                out.send(MessageType.AUTH, ByteBuffer.wrap(new byte[32]));
            } catch (MigrationException e) {
                throw new IllegalStateException(e);
            }
        }, r -> Thread.ofPlatform().daemon().start(r));
        assertThatThrownBy(() -> client(pair[0], KEY, new Hello(Purpose.MIGRATE, Handshake.nonce())))
                .hasMessageContaining("did not prove it holds the migration key");
        impostor.get();
        FrameMap sent = FrameMap.of(pair[0].written());
        assertThat(sent.frames()).extracting(FrameMap.Frame::type)
                .containsExactly(MessageType.HELLO, MessageType.AUTH, MessageType.ERROR);
    }

    @Test
    void aRecordedHandshakeCannotBeReplayed() throws Exception {
        MemoryTransport[] pair = MemoryTransport.pair();
        CompletableFuture<Hello> server = server(pair[1], KEY);
        client(pair[0], KEY, new Hello(Purpose.MIGRATE, Handshake.nonce()));
        server.get();
        // The same client bytes against a new server, which picks a new nonce.
        MemoryTransport replay = MemoryTransport.replaying(pair[0].written());
        assertThatThrownBy(() -> Handshake.asServer(replay, new FrameReader(replay), new FrameWriter(replay), KEY))
                .hasMessage("authentication failed (the client has a different key)");
    }

    @Test
    void theServerReadsNoStateBeforeTheClientHasAuthenticated() throws Exception {
        MemoryTransport[] pair = MemoryTransport.pair();
        CompletableFuture<Hello> server = server(pair[1], KEY);
        FrameWriter out = new FrameWriter(pair[0]);
        out.sendRaw(Messages.Preamble.CURRENT.encode());
        out.send(MessageType.HELLO, new Hello(Purpose.MIGRATE, Handshake.nonce()).encode());
        out.send(MessageType.STATE, ByteBuffer.allocate(100));
        assertThat(cause(server)).hasMessage("unexpected STATE message (expected AUTH)");
    }

    @Test
    void aPeerThatIsNotAMigrationPeerOrSpeaksAnotherMajorVersionIsToldSo() throws Exception {
        MemoryTransport http = MemoryTransport.replaying("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> Handshake.asServer(http, new FrameReader(http), new FrameWriter(http), KEY))
                .hasMessage("not a migration client (wrong magic bytes)");

        MemoryTransport[] pair = MemoryTransport.pair();
        CompletableFuture<Hello> server = server(pair[1], KEY);
        FrameWriter out = new FrameWriter(pair[0]);
        out.sendRaw(new Messages.Preamble(3, 0).encode());
        assertThat(cause(server)).hasMessage("peer speaks migration protocol 3.0, this VMM speaks 2.0");
        // The client of the future reads our preamble and an ERROR in the frozen format.
        FrameReader in = new FrameReader(pair[0]);
        ByteBuffer preamble = ByteBuffer.allocate(Messages.Preamble.BYTES);
        pair[0].readFully(preamble);
        assertThat(Messages.Preamble.decode(preamble)).isEqualTo(Messages.Preamble.CURRENT);
        assertThatThrownBy(() -> in.next(MessageType.CHALLENGE)).isInstanceOfSatisfying(MigrationException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.VERSION));
    }

    @Test
    void aServerAnswersAVersionOneClientInVersionOneAndACurrentClientInTheCurrentVersion() throws Exception {
        for (Messages.Preamble client : java.util.List.of(Messages.Preamble.OLDEST, Messages.Preamble.CURRENT)) {
            MemoryTransport[] pair = MemoryTransport.pair();
            CompletableFuture<Handshake.Greeting> server = CompletableFuture.supplyAsync(() -> {
                try {
                    return Handshake.asServer(pair[1], new FrameReader(pair[1]), new FrameWriter(pair[1]), KEY);
                } catch (MigrationException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            }, r -> Thread.ofPlatform().daemon().start(r));
            Handshake.asClient(pair[0], new FrameReader(pair[0]), new FrameWriter(pair[0]), KEY,
                    new Hello(Purpose.MIGRATE, Handshake.nonce()), client);
            assertThat(server.get().version()).isEqualTo(client);
        }
    }

    @Test
    void theProofsOfTheTwoSidesDifferSoOneCannotBeReflectedAsTheOther() {
        byte[] transcript = Arrays.copyOf("transcript".getBytes(StandardCharsets.UTF_8), 88);
        assertThat(KEY.proof(Handshake.CLIENT_LABEL, transcript)).isNotEqualTo(KEY.proof(Handshake.SERVER_LABEL, transcript));
    }
}
