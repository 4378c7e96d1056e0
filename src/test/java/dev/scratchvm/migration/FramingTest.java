package dev.scratchvm.migration;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Frames on the wire: header, payload, CRC32C — and everything a reader must refuse. */
@DisplayName("Framing")
class FramingTest {

    static byte[] frame(MessageType type, byte[] payload) throws MigrationException {
        MemoryTransport[] pair = MemoryTransport.pair();
        new FrameWriter(pair[0]).send(type, ByteBuffer.wrap(payload));
        return pair[0].written();
    }

    static byte[] readBack(byte[] wire, MessageType expected) throws MigrationException {
        FrameReader in = new FrameReader(MemoryTransport.replaying(wire));
        in.next(expected);
        byte[] payload = in.rest();
        in.end();
        return payload;
    }

    @Test
    void aLengthBeyondTheTypesLimitIsRefusedFromTheHeaderAlone() {
        byte[] header = ByteBuffer.allocate(8).put((byte) MessageType.STATE.code).put((byte) 0).putShort((short) 0)
                .putInt(-1).array();
        MemoryTransport t = MemoryTransport.replaying(header);
        assertThatThrownBy(() -> new FrameReader(t).next(MessageType.STATE))
                .hasMessage("STATE message of 4294967295 bytes exceeds its limit of " + MessageType.STATE.maxLength);
        assertThat(t.bytesRead()).isEqualTo(8);
    }

    @Test
    void aLyingLengthCostsMemoryOnlyForTheBytesThatReallyArrive() {
        // 16 MiB promised, 10 bytes sent: the reader must not allocate the promise.
        byte[] wire = ByteBuffer.allocate(18).put((byte) MessageType.STATE.code).put((byte) 0).putShort((short) 0)
                .putInt(16 << 20).put(new byte[10]).array();
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        assertThatThrownBy(() -> {
            FrameReader in = new FrameReader(MemoryTransport.replaying(wire));
            in.next(MessageType.STATE);
            in.rest();
        }).hasMessageContaining("connection closed");
        assertThat(threads.getCurrentThreadAllocatedBytes() - before).isLessThan(1 << 20);
    }

    @Test
    void unknownTypesReservedBitsAndUnexpectedMessagesAreRefused() throws Exception {
        byte[] unknown = {0x42, 0, 0, 0, 0, 0, 0, 0};
        assertThatThrownBy(() -> new FrameReader(MemoryTransport.replaying(unknown)).next(MessageType.HELLO))
                .hasMessage("unknown message type 0x42");
        byte[] flags = {1, 1, 0, 0, 0, 0, 0, 0};
        assertThatThrownBy(() -> new FrameReader(MemoryTransport.replaying(flags)).next(MessageType.HELLO))
                .hasMessage("HELLO message has non-zero reserved header bits");
        byte[] commit = frame(MessageType.COMMIT, new byte[0]);
        assertThatThrownBy(() -> new FrameReader(MemoryTransport.replaying(commit)).next(Set.of(MessageType.MEMORY, MessageType.END)))
                .hasMessage("unexpected COMMIT message (expected END or MEMORY)");
    }

    @Test
    void anErrorFromThePeerBecomesItsMessageOnOneLine() throws Exception {
        byte[] wire = frame(MessageType.ERROR, new Messages.ErrorReply(ErrorCode.BUSY, "busy\u001b[31m now").encode().array());
        assertThatThrownBy(() -> readBack(wire, MessageType.READY)).isInstanceOfSatisfying(MigrationException.class, e -> {
            assertThat(e.fromPeer()).isTrue();
            assertThat(e.code()).isEqualTo(ErrorCode.BUSY);
            assertThat(e.getMessage()).isEqualTo("busy?[31m now");
            assertThat(e.errno()).isEqualTo(dev.scratchvm.sys.Errno.EBUSY);
        });
    }

    @Test
    void anErrorFromThePeerWithoutTextStillSaysSomething() throws Exception {
        for (String text : new String[]{"", "   "}) {
            byte[] wire = frame(MessageType.ERROR, new Messages.ErrorReply(ErrorCode.BUSY, text).encode().array());
            assertThatThrownBy(() -> readBack(wire, MessageType.READY)).isInstanceOfSatisfying(MigrationException.class, e -> {
                assertThat(e.fromPeer()).isTrue();
                assertThat(e.getMessage()).isEqualTo("no reason given (busy error)");
            });
        }
    }

    @Test
    void theTranscriptChangesWhenAFrameIsMissingOrRepeated() throws Exception {
        MemoryTransport[] pair = MemoryTransport.pair();
        FrameWriter w = new FrameWriter(pair[0]);
        w.send(MessageType.FILE_DATA, ByteBuffer.wrap(new byte[]{1}));
        w.send(MessageType.FILE_DATA, ByteBuffer.wrap(new byte[]{2}));
        int both = w.transcript();
        FrameWriter one = new FrameWriter(MemoryTransport.pair()[0]);
        one.send(MessageType.FILE_DATA, ByteBuffer.wrap(new byte[]{1}));
        int first = one.transcript();
        one.send(MessageType.FILE_DATA, ByteBuffer.wrap(new byte[]{1}));
        assertThat(both).isNotEqualTo(first).isNotEqualTo(one.transcript());

        FrameReader r = new FrameReader(pair[1]);
        for (int i = 0; i < 2; i++) {
            r.next(MessageType.FILE_DATA);
            r.rest();
            r.end();
        }
        assertThat(r.transcript()).isEqualTo(both);
    }
}
