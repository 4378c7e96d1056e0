package dev.scratchvm.image;

import dev.scratchvm.state.MachineState;
import dev.scratchvm.testing.GoldenImages;
import dev.scratchvm.testing.GoldenImages.Golden;
import dev.scratchvm.testing.ImageLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Images that released versions wrote still decode to exactly the values those versions
 * read, and encoding those values gives back the very same STATE bytes (the encoding has
 * not moved). Needs no KVM: this runs on every machine.
 */
class GoldenImageTest {
    static final List<Golden> GOLDEN = GoldenImages.ALL;

    @ParameterizedTest(name = "{0}")
    @FieldSource("GOLDEN")
    void decodesToTheValuesItsVersionRead(Golden g) throws Exception {
        try (ImageReader reader = ImageReader.open(g.imageFile())) {
            assertThat(StateDump.lines(reader.state())).containsExactlyElementsOf(Files.readAllLines(g.expectedState()));
        }
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("GOLDEN")
    void reencodesToTheSameStateBytes(Golden g) throws Exception {
        byte[] image = Files.readAllBytes(g.imageFile());
        assertThat(Arrays.copyOfRange(image, 8, 12)).as("header version 1.0").containsExactly(1, 0, 0, 0);
        ImageLayout layout = ImageLayout.of(image);
        byte[] stateBytes = Arrays.copyOfRange(image, (int) layout.stateOffset(),
                (int) (layout.stateOffset() + layout.stateLength()));
        MachineState decoded = StateCodec.decode(stateBytes);
        assertThat(StateDump.lines(decoded)).containsExactlyElementsOf(Files.readAllLines(g.expectedState()));
        assertThat(StateCodec.encode(decoded)).as("re-encoded STATE section").isEqualTo(stateBytes);
    }
}
