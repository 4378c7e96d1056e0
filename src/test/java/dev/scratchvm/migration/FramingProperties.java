package dev.scratchvm.migration;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import static dev.scratchvm.migration.FramingTest.frame;
import static dev.scratchvm.migration.FramingTest.readBack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Frames round-trip, and a single damaged byte anywhere in one is always noticed. */
class FramingProperties {
    @Property(tries = 200)
    void whatIsWrittenIsReadBackExactly(@ForAll @Size(max = 5000) byte[] payload) throws Exception {
        byte[] wire = frame(MessageType.FILE_DATA, payload);
        assertThat(wire).hasSize(FrameWriter.HEADER + payload.length + FrameWriter.TRAILER);
        assertThat(readBack(wire, MessageType.FILE_DATA)).isEqualTo(payload);
    }

    @Property(tries = 300)
    void anySingleCorruptedByteIsDetected(@ForAll @Size(min = 1, max = 300) byte[] payload, @ForAll @IntRange(min = 0, max = 10_000) int at,
                                          @ForAll @IntRange(min = 1, max = 255) int flip) throws Exception {
        byte[] wire = frame(MessageType.FILE_DATA, payload);
        int i = at % wire.length;
        wire[i] ^= (byte) flip;
        // A corrupted length may also leave the frame short: any refusal is fine, acceptance is not.
        assertThatThrownBy(() -> readBack(wire, MessageType.FILE_DATA)).isInstanceOf(MigrationException.class);
    }
}
