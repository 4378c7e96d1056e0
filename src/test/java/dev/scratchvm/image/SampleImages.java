package dev.scratchvm.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/** A small image with every kind of region (state, padding, several runs, page map), and ways to doctor it. */
final class SampleImages {
    static final long SIZE = 4 << 20;

    private SampleImages() {
    }

    /** Writes the sample image to {@code image} and returns its bytes. */
    static byte[] write(Path image) throws Exception {
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            guest.fillPage(0, 1);
            for (long p = 16; p < 20; p++) guest.fillPage(p, (int) p);
            guest.fillPage(200, 3);
            guest.fillPage(255, 4);
            ImageWriter.write(image, TestStates.sample(SIZE), guest.segment, PageFilter.ALL);
        }
        return Files.readAllBytes(image);
    }

    static ByteBuffer le(byte[] image) {
        return ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Recomputes the header checksum after a deliberate edit, so deeper checks are reached. */
    static byte[] fixHeaderCrc(byte[] image) {
        CRC32C crc = new CRC32C();
        crc.update(image, 0, 4092);
        le(image).putInt(4092, (int) crc.getValue());
        return image;
    }

    /** Section table entry {@code i} (0 STATE, 1 MEMORY, 2 PAGEMAP): offset, length, crc. */
    static long sectionOffset(byte[] image, int i) {
        return le(image).getLong(32 + 32 * i + 8);
    }

    static long sectionLength(byte[] image, int i) {
        return le(image).getLong(32 + 32 * i + 16);
    }

    /** Recomputes the checksum of section {@code i} (not MEMORY) and then of the header. */
    static byte[] fixSectionCrc(byte[] image, int i) {
        CRC32C crc = new CRC32C();
        crc.update(image, (int) sectionOffset(image, i), (int) sectionLength(image, i));
        le(image).putInt(32 + 32 * i + 24, (int) crc.getValue());
        return fixHeaderCrc(image);
    }
}
