package dev.scratchvm.migration;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.StateCodec;
import dev.scratchvm.image.StateRules;
import dev.scratchvm.migration.Messages.Accept;
import dev.scratchvm.migration.Messages.Auth;
import dev.scratchvm.migration.Messages.Challenge;
import dev.scratchvm.migration.Messages.End;
import dev.scratchvm.migration.Messages.FileHeader;
import dev.scratchvm.migration.Messages.Hello;
import dev.scratchvm.migration.Messages.MemoryRun;
import dev.scratchvm.migration.Messages.Preamble;
import dev.scratchvm.migration.Messages.Query;
import dev.scratchvm.migration.Messages.StateOffer;
import dev.scratchvm.migration.Messages.Verdict;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.testing.FuzzChecks;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing (Jazzer) of the migration wire format, without sockets (as
 * {@link MemoryTransport} replays bytes): whatever a peer sends, {@link FrameReader} and the
 * {@link Messages} decoders, and a server that has authenticated its client, either go on or
 * fail with a one-line {@link MigrationException}; never anything else.
 *
 * <p>Seeds: {@code src/test/resources/dev/scratchvm/migration/FrameFuzzTestInputs/}, written by
 * {@link FuzzSeeds}.
 */
class FrameFuzzTest {
    private static final Set<MessageType> ANY = EnumSet.allOf(MessageType.class);

    /** A preamble, then frames of any type, each payload decoded as its type says. */
    @FuzzTest
    void frames(byte[] bytes) {
        MemoryTransport t = MemoryTransport.replaying(bytes);
        try {
            ByteBuffer raw = ByteBuffer.allocate(Preamble.BYTES);
            t.readFully(raw);
            Preamble.decode(raw);
            FrameReader in = new FrameReader(t);
            while (true) {
                MessageType type = in.next(ANY);
                switch (type) {
                    case HELLO -> Hello.decode(in.rest());
                    case CHALLENGE -> Challenge.decode(in.rest());
                    case AUTH -> Auth.decode(in.rest());
                    case STATE -> state(StateOffer.decode(in.rest()));
                    case ACCEPT -> Accept.decode(in.rest());
                    case FILE -> FileHeader.decode(in.rest());
                    case MEMORY -> {
                        if (in.remaining() >= MemoryRun.BYTES) {
                            ByteBuffer head = ByteBuffer.allocate(MemoryRun.BYTES);
                            in.read(head);
                            MemoryRun.decode(head);
                        }
                        in.rest();
                    }
                    case END -> End.decode(in.rest());
                    case QUERY -> Query.decode(in.rest());
                    case OUTCOME -> Verdict.decode(in.rest());
                    default -> in.rest();
                }
                in.end();
            }
        } catch (MigrationException e) {
            FuzzChecks.oneLine(e.getMessage());
        }
    }

    /**
     * What a client sends after the handshake, to a server that takes the steps MigrationServer
     * takes, short of KVM: STATE (decoded and checked by the rules), ACCEPT, MEMORY until END,
     * READY, COMMIT, COMMITTED, BYE.
     */
    @FuzzTest
    void serverStream(byte[] bytes) {
        serve(bytes);
    }

    /**
     * The same with every frame's CRC32C and END's transcript checksum recomputed first, so that
     * mutations get past the checksums into the STATE decoder, the rules, the MEMORY runs and
     * END's counts.
     */
    @FuzzTest
    void serverStreamWithChecksumsFixed(byte[] bytes) {
        serve(fixChecksums(bytes.clone()));
    }

    private static void serve(byte[] bytes) {
        try (ServerSession s = new ServerSession(MemoryTransport.replaying(bytes), ScriptedServer.KEY)) {
            MachineState state = state(s.receiveOffer());
            s.accept(List.of());
            long size = state.memory().size();
            long addr = Libc.mmap(0, size, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
            if (addr < 0) throw new AssertionError("cannot map " + size + " bytes of guest memory: " + Libc.strerror((int) -addr));
            try {
                s.receiveMemory(MemorySegment.ofAddress(addr).reinterpret(size));
            } finally {
                Libc.munmap(addr, size);
            }
            s.ready();
            s.awaitCommit();
            s.committed();
            s.awaitBye();
        } catch (MigrationException e) {
            FuzzChecks.oneLine(e.getMessage());
        }
    }

    /** Recomputes the CRC of every whole frame in {@code stream}, and END's transcript checksum. */
    static byte[] fixChecksums(byte[] stream) {
        ByteBuffer b = ByteBuffer.wrap(stream);
        FrameWriter.Transcript transcript = new FrameWriter.Transcript();
        CRC32C crc = new CRC32C();
        int at = 0;
        while (stream.length - at >= FrameWriter.HEADER) {
            long length = Integer.toUnsignedLong(b.getInt(at + 4));
            if (length > stream.length - at - FrameWriter.HEADER - FrameWriter.TRAILER) break;
            int payload = at + FrameWriter.HEADER;
            if ((stream[at] & 0xff) == MessageType.END.code && length == End.BYTES) b.putInt(payload + 20, transcript.value());
            crc.reset();
            crc.update(stream, at, FrameWriter.HEADER + (int) length);
            b.putInt(payload + (int) length, (int) crc.getValue());
            transcript.add((int) crc.getValue());
            at = payload + (int) length + FrameWriter.TRAILER;
        }
        return stream;
    }

    /** The server's first look at a STATE message: decoded, then refused unless the rules accept it. */
    private static MachineState state(StateOffer offer) throws MigrationException {
        MachineState state;
        try {
            state = StateCodec.decode(offer.state());
        } catch (ImageException e) {
            throw MigrationException.protocol("the VM " + FuzzChecks.oneLine(e.getMessage()));
        }
        String refused = StateRules.check(state);
        if (refused != null) throw MigrationException.rejected("the VM's state is refused: " + refused);
        return state;
    }

    /** The seed migration is accepted whole, so fuzzing starts from a stream that reaches COMMIT. */
    @Test
    void theSeedMigrationGoesThrough() throws Exception {
        for (Path seed : FuzzChecks.inputs(FrameFuzzTest.class, "serverStream")) {
            if (seed.getFileName().toString().startsWith("crash-")) continue;
            byte[] bytes = Files.readAllBytes(seed);
            assertThat(fixChecksums(bytes.clone())).as("checksums of an intact stream, recomputed").isEqualTo(bytes);
            try (ServerSession s = new ServerSession(MemoryTransport.replaying(bytes), ScriptedServer.KEY)) {
                ScriptedServer server = new ScriptedServer(ScriptedServer.AtCommit.COMMIT);
                server.receive(s);
                assertThat(StateRules.check(server.state)).isNull();
                s.ready();
                s.awaitCommit();
            }
        }
    }
}
