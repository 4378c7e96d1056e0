package dev.scratchvm.state;

/** Shape of guest physical memory: one slot at guest address 0, {@code size} bytes. */
public record MemoryState(long size, int pageSize) {
    public MemoryState {
        if (pageSize != 4096) throw new IllegalArgumentException("page size " + pageSize);
        if (size <= 0 || size % pageSize != 0) throw new IllegalArgumentException("memory size " + size);
    }

    public long pageCount() {
        return size / pageSize;
    }
}
