package dev.scratchvm.migration;

import dev.scratchvm.migration.Messages.Hello;
import dev.scratchvm.migration.Messages.Purpose;
import dev.scratchvm.migration.ScriptedServer.AtCommit;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Whatever part of the client's stream reaches the server — cut short anywhere, or with any byte
 * damaged — the server never gets as far as taking the VM unless all of it arrived intact.
 */
class ProtocolProperties {
    /**
     * Everything a client sends after the handshake, for one whole migration of the sample guest.
     * Recorded on first use, not in a static initializer: the server side runs on another thread.
     */
    private static byte[] stream;

    private static synchronized byte[] stream() {
        if (stream == null) stream = recordClientStream();
        return stream;
    }

    private static byte[] recordClientStream() {
        MemoryTransport[] pair = MemoryTransport.pair();
        ScriptedServer server = new ScriptedServer(AtCommit.COMMIT);
        CompletableFuture<Void> serverSide = CompletableFuture.runAsync(() -> {
            try (ServerSession s = new ServerSession(pair[1], ScriptedServer.KEY)) {
                s.handshake(Duration.ofSeconds(5));
                server.receive(s);
                s.ready();
                s.awaitCommit();
                s.committed();
            } catch (MigrationException e) {
                throw new IllegalStateException(e);
            }
        }, r -> Thread.ofPlatform().daemon().start(r));
        try (ClientSession c = new ClientSession(pair[0], ScriptedServer.KEY)) {
            c.handshake(Purpose.MIGRATE, Handshake.nonce(), Duration.ofSeconds(5), Messages.Preamble.OLDEST);
            int handshake = pair[0].written().length;
            c.offer(dev.scratchvm.image.StateCodec.encode(ProtocolTest.STATE), false);
            MemoryStream.Stats stats = c.sendMemory(ProtocolTest.sampleGuest(), p -> true);
            c.end(0, stats);
            c.awaitReady(Duration.ofSeconds(5));
            c.commit();
            c.awaitCommitted();
            serverSide.join();
            byte[] all = pair[0].written();
            return Arrays.copyOfRange(all, handshake, all.length);
        } catch (MigrationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Feeds {@code bytes} to a server that has just authenticated its client; true if it committed. */
    private static boolean serverCommits(byte[] bytes) {
        ScriptedServer server = new ScriptedServer(AtCommit.COMMIT);
        try (ServerSession s = new ServerSession(MemoryTransport.replaying(bytes), ScriptedServer.KEY)) {
            server.receive(s);
            s.ready();
            s.awaitCommit();
            return true;
        } catch (MigrationException e) {
            return false;
        }
    }

    @Example
    void theWholeStreamCommits() {
        assertThat(serverCommits(stream())).isTrue();
    }

    @Property(tries = 400)
    void aStreamCutShortAnywhereNeverCommits(@ForAll @IntRange(min = 0, max = Integer.MAX_VALUE - 1) int cut) {
        int at = cut % stream().length;
        assertThat(serverCommits(Arrays.copyOf(stream(), at))).as("cut at %d of %d", at, stream().length).isFalse();
    }

    @Example
    void aStreamCutShortAtEveryOneOfItsFirstAndLastBytesNeverCommits() {
        for (int at = 0; at < 2048; at++) assertThat(serverCommits(Arrays.copyOf(stream(), at))).as("cut at %d", at).isFalse();
        for (int at = stream().length - 2048; at < stream().length; at++) {
            assertThat(serverCommits(Arrays.copyOf(stream(), at))).as("cut at %d", at).isFalse();
        }
    }

    @Property(tries = 400)
    void aStreamWithAnyByteDamagedNeverCommits(@ForAll @IntRange(min = 0, max = Integer.MAX_VALUE - 1) int position,
                                              @ForAll @IntRange(min = 1, max = 255) int flip) {
        byte[] damaged = stream().clone();
        int at = position % (damaged.length - FrameWriter.HEADER - FrameWriter.TRAILER);   // not in COMMIT itself
        damaged[at] ^= (byte) flip;
        assertThat(serverCommits(damaged)).as("byte %d ^ 0x%x", at, flip).isFalse();
    }

    @Example
    void theSampleGuestIsWhatTheStreamCarries() {
        MemorySegment guest = ProtocolTest.sampleGuest();
        assertThat(stream().length).isGreaterThan(705 * 4096).isLessThan(705 * 4096 + 64 * 1024);
        assertThat(guest.byteSize()).isEqualTo(ProtocolTest.SIZE);
        assertThat(new Hello(Purpose.MIGRATE, new byte[32]).encode().remaining()).isEqualTo(Hello.BYTES);
    }
}
