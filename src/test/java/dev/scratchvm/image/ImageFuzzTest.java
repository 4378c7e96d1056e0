package dev.scratchvm.image;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.testing.FuzzChecks;
import dev.scratchvm.testing.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing (Jazzer) of the image decoder: whatever the bytes of an image file or
 * of a STATE section, {@link ImageReader#open} and {@link StateCodec#decode} either succeed or
 * throw {@link ImageException} with a one-line message; never anything else.
 *
 * <p>In a normal build each target runs once per input in
 * {@code src/test/resources/dev/scratchvm/image/ImageFuzzTestInputs/METHOD/}: the seeds that
 * {@link FuzzSeeds} makes from real images, and every input that once crashed. See
 * {@link FuzzSeeds} for how to fuzz for real.
 */
class ImageFuzzTest {
    private static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("image-fuzz");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterAll
    static void cleanUp() throws IOException {
        TestFiles.deleteTree(DIR);
    }

    /** The file exactly as the fuzzer made it: most mutations stop at a checksum, as they should. */
    @FuzzTest
    void imageFile(byte[] bytes) throws IOException {
        open(bytes);
    }

    /**
     * The file with its header, STATE, PAGEMAP and memory-run checksums recomputed first, so
     * that mutations reach the layout checks, the state decoder, the rules and the page map.
     */
    @FuzzTest
    void imageFileWithChecksumsFixed(byte[] bytes) throws IOException {
        open(fixChecksums(bytes.clone()));
    }

    /**
     * A STATE section alone: decoding is total, and what decodes encodes again (the codec's
     * promise) to bytes that decode to the same encoding.
     */
    @FuzzTest
    void stateSection(byte[] bytes) {
        MachineState state = FuzzChecks.decodedOrNull(bytes);
        if (state == null) return;
        byte[] encoded = StateCodec.encode(state);
        try {
            byte[] again = StateCodec.encode(StateCodec.decode(encoded));
            if (!Arrays.equals(encoded, again)) throw new AssertionError("re-encoding a decoded state changed it");
        } catch (ImageException e) {
            throw new AssertionError("the encoding of a decoded state does not decode: " + e.getMessage(), e);
        }
    }

    /** The seeds are sound images, so fuzzing starts deep inside the format. */
    @Test
    void theSeedImagesOpen() throws Exception {
        for (Path seed : FuzzChecks.inputs(ImageFuzzTest.class, "imageFileWithChecksumsFixed")) {
            if (seed.getFileName().toString().startsWith("crash-")) continue;
            try (ImageReader r = ImageReader.open(seed)) {
                assertThat(r.state()).isNotNull();
            }
        }
    }

    private static void open(byte[] bytes) throws IOException {
        Path file = DIR.resolve("fuzz.img");
        Files.write(file, bytes);
        try (ImageReader r = ImageReader.open(file)) {
            if (StateRules.check(r.state()) != null) throw new AssertionError("an opened image holds a state the rules refuse");
        } catch (ImageException e) {
            String m = FuzzChecks.oneLine(e.getMessage());
            if (!m.startsWith(file + ": ")) throw new AssertionError("message does not name the file: " + m);
        }
    }

    /** Recomputes every checksum the header lets us find; bytes it cannot place are left alone. */
    static byte[] fixChecksums(byte[] image) {
        if (image.length < ImageFormat.HEADER_BYTES) return image;
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        long memoryOffset = b.getLong(32 + 32 + 8), memoryLength = b.getLong(32 + 32 + 16);
        long mapOffset = b.getLong(32 + 64 + 8), mapLength = b.getLong(32 + 64 + 16);
        if (within(image, mapOffset, mapLength)) {
            long stored = 0;
            for (long e = mapOffset; e + 16 <= mapOffset + mapLength; e += 16) {
                int pages = b.getInt((int) e + 8);
                long at = memoryOffset + stored * ImageFormat.PAGE, length = (long) pages * ImageFormat.PAGE;
                if (pages > 0 && stored * ImageFormat.PAGE + length <= memoryLength && within(image, at, length)) {
                    b.putInt((int) e + 12, crc(image, at, length));
                }
                stored += Math.max(0, pages);
            }
        }
        for (int i : new int[]{0, 2}) {
            long offset = b.getLong(32 + 32 * i + 8), length = b.getLong(32 + 32 * i + 16);
            if (within(image, offset, length)) b.putInt(32 + 32 * i + 24, crc(image, offset, length));
        }
        b.putInt(ImageFormat.HEADER_CRC, crc(image, 0, ImageFormat.HEADER_CRC));
        return image;
    }

    private static boolean within(byte[] image, long offset, long length) {
        return offset >= 0 && length >= 0 && offset <= image.length && length <= image.length - offset;
    }

    private static int crc(byte[] image, long offset, long length) {
        CRC32C c = new CRC32C();
        c.update(image, (int) offset, (int) length);
        return (int) c.getValue();
    }
}
