package dev.scratchvm.image;

import dev.scratchvm.state.MachineState;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

class StateCodecProperties {

    @Property(tries = 300)
    @Label("any valid state decodes to an equal state")
    void random_states_round_trip(@ForAll long seed) throws Exception {
        MachineState state = TestStates.random(seed);
        MachineState decoded = StateCodec.decode(StateCodec.encode(state));
        assertThat(decoded).usingRecursiveComparison().isEqualTo(state);
    }

    @Property(tries = 1000)
    @Label("mutating bytes of an encoding yields a state or ImageException, nothing else")
    void mutations_fail_only_with_image_exception(@ForAll long seed, @ForAll @IntRange(min = 1, max = 8) int flips,
                                                  @ForAll long where) {
        byte[] bytes = StateCodec.encode(TestStates.random(seed));
        java.util.Random r = new java.util.Random(where);
        for (int i = 0; i < flips; i++) {
            int at = r.nextInt(bytes.length);
            bytes[at] = r.nextInt(3) == 0 ? (byte) r.nextInt() : (byte) (bytes[at] ^ (1 << r.nextInt(8)));
        }
        assertOnlyImageException(bytes);
    }

    @Property(tries = 300)
    @Label("every truncation of an encoding yields a state or ImageException, nothing else")
    void truncations_fail_only_with_image_exception(@ForAll long seed, @ForAll @IntRange(min = 0, max = 1 << 20) int cut) {
        byte[] bytes = StateCodec.encode(TestStates.random(seed));
        assertOnlyImageException(Arrays.copyOf(bytes, cut % bytes.length));
    }

    @Property(tries = 1000)
    @Label("arbitrary bytes never crash the decoder")
    void garbage_fails_only_with_image_exception(@ForAll byte[] garbage) {
        assertOnlyImageException(garbage);
    }

    private static void assertOnlyImageException(byte[] bytes) {
        Throwable t = catchThrowable(() -> StateCodec.decode(bytes));
        if (t != null) {
            assertThat(t).isInstanceOf(ImageException.class);
            assertThat(t.getMessage()).doesNotContain("\n").startsWith("state is corrupt: ");
        }
    }
}
