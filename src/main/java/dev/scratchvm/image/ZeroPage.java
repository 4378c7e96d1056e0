package dev.scratchvm.image;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** One read-only page of zeros, the reference for fast all-zero checks (vectorized mismatch). */
final class ZeroPage {
    static final int SIZE = 4096;
    static final MemorySegment SEGMENT = Arena.global().allocate(SIZE, SIZE).asReadOnly();

    private ZeroPage() {
    }

    static boolean isZero(MemorySegment m, long offset) {
        return MemorySegment.mismatch(m, offset, offset + SIZE, SEGMENT, 0, SIZE) == -1;
    }
}
