package dev.scratchvm.image;

import com.google.protobuf.ByteString;
import dev.scratchvm.image.schema.StateProto;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.testing.HostileStates;
import dev.scratchvm.testing.WaitObjectStates;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The saved pipes, eventfds, timerfds and epoll sets: as a guest leaves them they pass the
 * rules and come back from the encoding value for value; hostile values are refused with one
 * line naming the field, on the records and on the wire.
 */
class WaitObjectStateTest {
    private static final MachineState GOOD = WaitObjectStates.withObjects(TestStates.sample(16L << 20));

    @Test
    void objectsAsAGuestLeavesThemPassAndRoundTripExactly() throws Exception {
        assertThat(StateRules.check(GOOD)).isNull();
        MachineState decoded = StateCodec.decode(StateCodec.encode(GOOD));
        assertThat(decoded.kernel()).isEqualTo(GOOD.kernel());
        assertThat(decoded.kernel().pipes().getFirst().buffers().getFirst().data()).containsExactly('a', 'b', 'c');
    }

    @Test
    void hostileRecordsAreRefusedNamingTheirField() {
        List<HostileStates.Case> cases = HostileStates.of(TestStates.sample(16L << 20)).stream()
                .filter(c -> c.field().matches("kernel\\.(pipes|event_fds|timer_fds|epolls).*")
                        || c.what().matches(".*(pipe|eventfd).*"))
                .toList();
        assertThat(cases).hasSizeGreaterThanOrEqualTo(25);
        for (HostileStates.Case c : cases) {
            assertThat(StateRules.check(c.state())).as(c.toString()).isNotNull().contains(c.field()).doesNotContain("\n");
        }
    }

    @Test
    void aPipePageOverItsSizeIsRefusedOnTheWire() {
        StateProto.State.Builder b = wire(GOOD);
        b.getKernelBuilder().getPipesBuilder(0).getBuffersBuilder(0).setData(ByteString.copyFrom(new byte[4097]));
        assertThatThrownBy(() -> StateCodec.decode(b.build().toByteArray())).isInstanceOf(ImageException.class)
                .hasMessageContaining("state.kernel.pipes[0].buffers[0]: field 2 (data) is 4097 bytes, limit is 4096")
                .hasMessageNotContaining("\n");
    }

    @Test
    void pagesBeyondTheLargestPipeAreRefusedOnTheWire() {
        StateProto.State.Builder b = wire(GOOD);
        StateProto.Pipe.Builder pipe = b.getKernelBuilder().getPipesBuilder(0);
        while (pipe.getBuffersCount() < 257) pipe.addBuffers(pipe.getBuffers(0));
        assertThatThrownBy(() -> StateCodec.decode(b.build().toByteArray())).isInstanceOf(ImageException.class)
                .hasMessageContaining("field 3 (buffers) has more than 256 entries");
    }

    @Test
    void aFileKindBeyondTheLastIsRefusedOnTheWire() {
        StateProto.State.Builder b = wire(GOOD);
        b.getKernelBuilder().getFilesBuilder(0).setKind(14);
        assertThatThrownBy(() -> StateCodec.decode(b.build().toByteArray())).isInstanceOf(ImageException.class)
                .hasMessageContaining("unknown file kind 14");
    }

    @Test
    void theEncoderRefusesWhatTheRulesOrLimitsRefuse() {
        MachineState sixteenMore = HostileStates.of(TestStates.sample(16L << 20)).stream()
                .filter(c -> c.what().equals("4097 bytes")).findFirst().orElseThrow().state();
        assertThatThrownBy(() -> StateCodec.encode(sixteenMore)).isInstanceOf(IllegalArgumentException.class);
    }

    private static StateProto.State.Builder wire(MachineState state) {
        try {
            return StateProto.State.parseFrom(StateCodec.encode(state)).toBuilder();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }
}
