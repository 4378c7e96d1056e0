package dev.scratchvm.image;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** One read-only page of zeros, the reference for fast all-zero checks (vectorized mismatch). */
final class ZeroPage {
    static final MemorySegment SEGMENT = Arena.global().allocate(4096, 4096).asReadOnly();

    private ZeroPage() {
    }

    static boolean isZero(MemorySegment m, long offset) {
        return MemorySegment.mismatch(m, offset, offset + 4096, SEGMENT, 0, 4096) == -1;
    }
}
