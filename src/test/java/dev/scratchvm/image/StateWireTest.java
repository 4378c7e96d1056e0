package dev.scratchvm.image;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Where protobuf's own parser would be lenient, the STATE decoder is not: each of these
 * inputs would parse with protobuf-java alone (merged, skipped, truncated or replaced), and
 * each is refused with the field named, before any message is built.
 */
class StateWireTest {
    private static byte[] kernel(TlvWriter kernel) {
        return new TlvWriter().message(3, kernel).toByteArray();
    }

    @Test
    void aBooleanOtherThanZeroOrOneIsRefused() {
        byte[] bytes = kernel(new TlvWriter().message(10, new TlvWriter().int32(1, 0).int32(2, 0).rawVarint(3, 2)));
        assertThatThrownBy(() -> StateCodec.decode(bytes))
                .hasMessage("state is corrupt: state.kernel.fds[0]: field 3 (close_on_exec) is 2, expected 0 or 1");
    }

    @Test
    void anIntBeyond32BitsIsRefusedNotTruncated() {
        byte[] bytes = kernel(new TlvWriter().message(10, new TlvWriter().rawVarint(1, TlvWriter.zigzag(1L << 32))));
        assertThatThrownBy(() -> StateCodec.decode(bytes))
                .hasMessage("state is corrupt: state.kernel.fds[0]: field 1 (fd) value 4294967296 is out of 32-bit range");
    }

    @Test
    void aListFieldOfTheWrongWireTypeIsRefusedNotSkipped() {
        byte[] bytes = kernel(new TlvWriter().rawVarint(5, 1));
        assertThatThrownBy(() -> StateCodec.decode(bytes))
                .hasMessage("state is corrupt: state.kernel: field 5 (mappings) has wire type 0, expected 2");
    }

    @Test
    void aSingularMessageGivenTwiceIsRefusedNotMerged() {
        TlvWriter restart = new TlvWriter().int32(1, 35).i64(2, 5);
        byte[] bytes = kernel(new TlvWriter().message(13, restart).message(13, restart));
        assertThatThrownBy(() -> StateCodec.decode(bytes))
                .hasMessage("state is corrupt: state.kernel: field 13 (restart) appears more than once");
    }

    @Test
    void groupAndI32WireTypesAreRefusedEvenInUnknownFields() {
        byte[] group = new TlvWriter().field(99, 3).field(99, 4).toByteArray();
        assertThatThrownBy(() -> StateCodec.decode(group)).hasMessage("state is corrupt: state: field 99 has unknown wire type 3");
        byte[] i32 = new TlvWriter().field(99, 5, (byte) 1, (byte) 2, (byte) 3, (byte) 4).toByteArray();
        assertThatThrownBy(() -> StateCodec.decode(i32)).hasMessage("state is corrupt: state: field 99 has unknown wire type 5");
    }

    @Test
    void malformedUtf8AndNulInAStringAreRefusedNotReplaced() {
        byte[] malformed = kernel(new TlvWriter().message(9, new TlvWriter().bytes(3, new byte[]{'/', (byte) 0xc3})));
        assertThatThrownBy(() -> StateCodec.decode(malformed))
                .hasMessage("state is corrupt: state.kernel.files[0]: field 3 (path) is not valid UTF-8");
        byte[] nul = kernel(new TlvWriter().bytes(6, new byte[]{'/', 0, 'x'}));
        assertThatThrownBy(() -> StateCodec.decode(nul))
                .hasMessage("state is corrupt: state.kernel: field 6 (cwd) contains a NUL byte");
    }
}
