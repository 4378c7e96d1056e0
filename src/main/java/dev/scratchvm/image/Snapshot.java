package dev.scratchvm.image;

import dev.scratchvm.state.MachineState;

import java.lang.foreign.MemorySegment;

/**
 * A stopped VM as the image writer and the migration stream take it: its state, a view of
 * its guest memory (exactly {@code state.memory().size()} bytes, unchanging while in use) and
 * the pages to look at. For a full snapshot {@code pages} are the pages that may be non-zero;
 * for a diff, the pages changed since the parent.
 */
public record Snapshot(MachineState state, MemorySegment memory, PageFilter pages) {
    public Snapshot {
        if (memory.byteSize() != state.memory().size()) {
            throw new IllegalArgumentException("guest memory is " + memory.byteSize()
                    + " bytes but the state says " + state.memory().size());
        }
    }

    /** The runs to store or send: data runs, and for a diff zero runs too. */
    public PageRuns runs(boolean zeroRuns) {
        return new PageRuns(memory, pages, zeroRuns);
    }
}
