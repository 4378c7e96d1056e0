package dev.scratchvm.image;

import dev.scratchvm.testing.ImageLayout;
import dev.scratchvm.testing.TestFiles;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** Every byte of an image is covered by a checksum or checked padding, and its length is exact. */
class ImageCorruptionProperties {
    private static Path dir;
    private static byte[] good;
    private static ImageLayout layout;

    @BeforeContainer
    static void writeSample() throws Exception {
        dir = Files.createTempDirectory("image-corruption");
        good = SampleImages.write(dir.resolve("good.img"));
        layout = ImageLayout.of(good);
    }

    @AfterContainer
    static void cleanUp() throws Exception {
        TestFiles.deleteTree(dir);
    }

    @Property(tries = 1500)
    @Label("flipping any bits of any single byte is detected")
    void any_flipped_byte_is_detected(@ForAll("positions") int position, @ForAll @IntRange(min = 1, max = 255) int xor)
            throws Exception {
        byte[] bad = good.clone();
        bad[position] ^= (byte) xor;
        assertRejected(bad);
    }

    @Property(tries = 300)
    @Label("several random byte changes anywhere are detected")
    void several_changed_bytes_are_detected(@ForAll @Size(min = 2, max = 16) int[] positions, @ForAll byte value)
            throws Exception {
        byte[] bad = good.clone();
        for (int p : positions) bad[Math.floorMod(p, bad.length)] = value;
        if (Arrays.equals(bad, good)) return;
        assertRejected(bad);
    }

    @Property(tries = 500)
    @Label("truncating the image at any length is detected")
    void any_truncation_is_detected(@ForAll("lengths") int length) throws Exception {
        assertRejected(Arrays.copyOf(good, length));
    }

    @Property(tries = 100)
    @Label("appending anything is detected")
    void appended_bytes_are_detected(@ForAll @Size(min = 1, max = 5000) byte[] extra) throws Exception {
        byte[] longer = Arrays.copyOf(good, good.length + extra.length);
        System.arraycopy(extra, 0, longer, good.length, extra.length);
        assertRejected(longer);
    }

    /** Positions anywhere, with each region (header, state, padding, memory, page map) well represented. */
    @Provide
    Arbitrary<Integer> positions() {
        return layout.positions();
    }

    @Provide
    Arbitrary<Integer> lengths() {
        return Arbitraries.integers().between(0, good.length - 1).edgeCases(c -> c.add(0, 7, 8, 4095, 4096));
    }

    private static void assertRejected(byte[] bytes) throws Exception {
        Path file = Files.write(dir.resolve("bad.img"), bytes);
        Throwable t = catchThrowable(() -> ImageReader.open(file).close());
        assertThat(t).isInstanceOf(ImageException.class);
        assertThat(t.getMessage()).startsWith(file + ": ").doesNotContain("\n");
    }
}
