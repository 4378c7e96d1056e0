package dev.scratchvm.snapshot;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.testing.ImageLayout;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.TestFiles;
import dev.scratchvm.vmm.Machine;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.scratchvm.snapshot.Guest.LAB_FILE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The restore path as the CLI runs it (validate the image, then rebuild the machine), in this
 * JVM so that hundreds of damaged copies of a real VM image can be tried: each one is refused
 * with an {@link ImageException} or a {@link Machine.RestoreException}, never anything else,
 * and never restored.
 */
@net.jqwik.api.Tag(KvmTest.TAG)
@AddLifecycleHook(KvmTest.Availability.class)
class CorruptImageRestoreProperties {
    private static Path dir;
    private static byte[] good;
    private static ImageLayout layout;
    private static Guest.FileState labFile;

    @BeforeContainer
    static void saveTheLabProgram() throws Exception {
        dir = Files.createTempDirectory("corrupt-restore");
        InProcessVm.saveLabProgram(dir);
        good = Files.readAllBytes(dir.resolve("vm.img"));
        layout = ImageLayout.of(good);
        labFile = Guest.FileState.of(dir.resolve(LAB_FILE));
        // the undamaged image does restore here, so a refusal below is the damage's doing
        assertThat(refusal(dir.resolve("vm.img"))).isNull();
    }

    @AfterContainer
    static void cleanUp() throws Exception {
        TestFiles.deleteTree(dir);
    }

    @Property(tries = 200)
    @Label("a restore from an image with any byte changed is refused")
    void anyChangedByteIsRefused(@ForAll("positions") int position, @ForAll @IntRange(min = 1, max = 255) int xor)
            throws Exception {
        byte[] bad = good.clone();
        bad[position] ^= (byte) xor;
        assertRefused(bad);
    }

    @Property(tries = 100)
    @Label("a restore from an image cut short at any length is refused")
    void anyTruncationIsRefused(@ForAll("lengths") int length) throws Exception {
        assertRefused(Arrays.copyOf(good, length));
    }

    /** Anywhere in the file, each region (header, state, padding, memory, page map) well represented. */
    @Provide
    Arbitrary<Integer> positions() {
        return layout.positions();
    }

    @Provide
    Arbitrary<Integer> lengths() {
        return Arbitraries.integers().between(0, good.length - 1);
    }

    private static void assertRefused(byte[] bytes) throws Exception {
        Path image = Files.write(dir.resolve("bad.img"), bytes);
        Exception refusal = refusal(image);
        assertThat(refusal).as("damage went unnoticed: the VM was restored").isNotNull();
        assertThat(refusal.getMessage()).isNotBlank().doesNotContain("\n");
        labFile.assertUnchanged(dir.resolve(LAB_FILE));
    }

    /** Null when the machine was rebuilt (and closed again unrun); the refusal otherwise. */
    private static Exception refusal(Path image) {
        try (Machine ignored = InProcessVm.restore(image, dir, ImageReader.Mode.MAP)) {
            return null;
        } catch (ImageException | Machine.RestoreException e) {
            return e;
        }
    }
}
