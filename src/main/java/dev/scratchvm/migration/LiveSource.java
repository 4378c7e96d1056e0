package dev.scratchvm.migration;

import dev.scratchvm.state.MachineState;

import java.lang.foreign.MemorySegment;
import java.util.BitSet;

/**
 * A VM whose memory is copied while its guest keeps running (pre-copy). The VMM's controller
 * implements it: every call that touches the machine's dirty record or state runs on the
 * vCPU's own thread; the migration thread only reads guest memory.
 */
public interface LiveSource {
    /** Guest memory, read while the guest may be writing it. */
    MemorySegment memory();

    /** Starts tracking the guest's writes and returns the pages that may be non-zero now. The guest keeps running. */
    BitSet startTracking() throws MigrationException;

    /** The pages written since the previous call (or {@link #startTracking}). The guest keeps running. */
    BitSet dirty() throws MigrationException;

    /** Lets the guest run only {@code 100 - percent} % of the time (auto-converge); 0 for full speed. */
    void throttle(int percent);

    /** What the stopped VM still has to send: pages written since the last {@link #dirty}, and its complete state. */
    record Stopped(BitSet dirty, MachineState state) {
    }

    /**
     * Stops the guest for good (until the caller resumes it after a failed migration) and
     * captures its state. The guest stays stopped when this returns.
     */
    Stopped stop() throws MigrationException;

    /** Bytes of guest memory in use: what a cold migration of this VM would have had to send. */
    long bytesInUse();

    /** Whether guest pages the VM never touched may be left out of the first round (they read as zero). */
    default boolean firstRoundSkipsZeroPages() {
        return true;
    }
}
