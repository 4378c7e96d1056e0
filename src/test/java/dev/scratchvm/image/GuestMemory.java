package dev.scratchvm.image;

import dev.scratchvm.sys.Libc;

import java.lang.foreign.MemorySegment;

/** A page-aligned anonymous private mapping, as the VMM uses for guest memory. */
final class GuestMemory implements AutoCloseable {
    final MemorySegment segment;

    GuestMemory(long size) {
        long addr = Libc.check("mmap", Libc.mmap(0, size, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0));
        segment = MemorySegment.ofAddress(addr).reinterpret(size);
    }

    /** Fills page {@code page} with bytes derived from {@code seed} (never all zero). */
    void fillPage(long page, int seed) {
        long base = page * 4096;
        for (int i = 0; i < 4096; i += 8) segment.set(java.lang.foreign.ValueLayout.JAVA_LONG, base + i, seed * 0x9E3779B97F4A7C15L + i + 1);
    }

    @Override
    public void close() {
        Libc.munmap(segment.address(), segment.byteSize());
    }
}
