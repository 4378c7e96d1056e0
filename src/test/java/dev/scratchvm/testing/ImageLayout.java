package dev.scratchvm.testing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;

/**
 * Where the sections of an image are, read from its header as docs/image-format.md lays it
 * out: a section table at byte 32 of entries {type u32, reserved u32, offset u64, length u64,
 * crc32c u32, reserved u32}, in file order STATE, MEMORY, PAGEMAP.
 */
public record ImageLayout(long stateOffset, long stateLength, long memoryOffset, long memoryLength, long pageMapOffset,
                          long pageMapLength, long fileLength) {

    public static ImageLayout of(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        long[] offset = new long[3], length = new long[3];
        for (int i = 0; i < 3; i++) {
            offset[i] = b.getLong(32 + 32 * i + 8);
            length[i] = b.getLong(32 + 32 * i + 16);
        }
        return new ImageLayout(offset[0], length[0], offset[1], length[1], offset[2], length[2], b.getLong(24));
    }

    /** Where the zero padding between STATE and MEMORY starts. */
    public long paddingOffset() {
        return stateOffset + stateLength;
    }

    /** Byte positions anywhere in the image, each region (header, state, padding, memory, page map) well represented. */
    public Arbitrary<Integer> positions() {
        return Arbitraries.oneOf(
                between(0, fileLength),
                between(0, stateOffset),
                between(stateOffset, paddingOffset()),
                between(paddingOffset(), memoryOffset),
                between(memoryOffset, pageMapOffset),
                between(pageMapOffset, fileLength));
    }

    /** Positions from {@code start} up to but not including {@code end}. */
    private static Arbitrary<Integer> between(long start, long end) {
        return Arbitraries.integers().between((int) start, (int) end - 1);
    }
}
