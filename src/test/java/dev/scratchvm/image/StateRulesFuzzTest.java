package dev.scratchvm.image;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.testing.FuzzChecks;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing (Jazzer) of the state validator: any bytes either decode to a state
 * that {@link StateRules} (with its kernel, vCPU, MSR and path rules) accepts or refuses in one
 * line, or fail to decode with {@link ImageException}. No input makes the rules throw, and a
 * state they accept still passes them after an encode/decode round trip (what a migration or
 * a restore of a saved image sees).
 *
 * <p>Seeds: {@code src/test/resources/dev/scratchvm/image/StateRulesFuzzTestInputs/decodedState/},
 * written by {@link FuzzSeeds}, which also says how to fuzz longer.
 */
class StateRulesFuzzTest {
    @FuzzTest
    void decodedState(byte[] bytes) throws ImageException {
        MachineState state = FuzzChecks.decodedOrNull(bytes);
        if (state == null) return;
        String refused = StateRules.check(state);
        if (refused != null) {
            FuzzChecks.oneLine(refused);
            return;
        }
        if (StateLimits.check(state) != null) throw new AssertionError("the rules accept a state outside the limits");
        String again = StateRules.check(StateCodec.decode(StateCodec.encode(state)));
        if (again != null) throw new AssertionError("an accepted state is refused after a round trip: " + again);
    }

    /** The seeds are states ScratchVM could have saved: the rules accept them. */
    @Test
    void theSeedStatesPassTheRules() throws Exception {
        for (Path seed : FuzzChecks.inputs(StateRulesFuzzTest.class, "decodedState")) {
            if (seed.getFileName().toString().startsWith("crash-")) continue;
            assertThat(StateRules.check(StateCodec.decode(Files.readAllBytes(seed)))).as(seed.toString()).isNull();
        }
    }
}
