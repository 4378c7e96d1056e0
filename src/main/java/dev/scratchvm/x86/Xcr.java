package dev.scratchvm.x86;

/** One extended control register (XCR0 enables x87/SSE/AVX state). */
public record Xcr(int index, long value) {
}
