package dev.scratchvm.memory;

import java.util.BitSet;

/**
 * The one record of which guest pages changed since the last durable snapshot: the VMM's own
 * writes into guest memory (marked by {@link GuestMemory} as they happen) merged with the
 * guest's writes (KVM's dirty log, {@link #collect merged in} while the vCPU is stopped).
 * Bits leave only by {@link #clear}, which the snapshot code calls once an image holding
 * those pages is durable: a failed save loses nothing.
 *
 * <p>Not thread-safe: marks come from the thread serving the guest's system calls, and
 * collection happens while that thread is stopped (the stop itself orders the two).
 */
public final class DirtyPages {
    /** The guest's side of the log (KVM_GET_DIRTY_LOG): ORs the pages written since its last call into a bitmap. */
    @FunctionalInterface
    public interface Source {
        long fetch(long[] into);
    }

    private final long pages;
    private final long[] pending;
    /** What one fetch of KVM's log returned, before it is merged. */
    private final long[] fetched;
    /** Pages written since the migration that tracks them last took them; null while none does. */
    private long[] tracked;

    DirtyPages(long pages) {
        this.pages = pages;
        this.pending = new long[(int) ((pages + 63) >>> 6)];
        this.fetched = new long[pending.length];
    }

    /** Marks the pages of [addr, addr+len) as written; len 0 marks nothing. */
    void mark(long addr, long len) {
        if (len <= 0) return;
        long first = addr >>> 12, last = (addr + len - 1) >>> 12;
        if (first == last) {
            pending[(int) (first >>> 6)] |= 1L << first;
            if (tracked != null) tracked[(int) (first >>> 6)] |= 1L << first;
            return;
        }
        for (long p = first; p <= last; p++) {
            pending[(int) (p >>> 6)] |= 1L << p;
            if (tracked != null) tracked[(int) (p >>> 6)] |= 1L << p;
        }
    }

    /** KVM's log merged into the pending set, and into the tracked set if a migration tracks. */
    private void fetch(Source log) {
        if (log == null) return;
        java.util.Arrays.fill(fetched, 0);
        log.fetch(fetched);
        for (int i = 0; i < fetched.length; i++) {
            pending[i] |= fetched[i];
            if (tracked != null) tracked[i] |= fetched[i];
        }
    }

    /**
     * Starts a second, independent record for a live migration: the pages written from now on,
     * taken round by round with {@link #takeTracked}. The snapshots' pending set is not affected.
     * Call only while the vCPU is stopped.
     */
    public void startTracking(Source log) {
        fetch(log);
        tracked = new long[pending.length];
    }

    /** The pages written since tracking started or was last taken, and forgets them. Only while the vCPU is stopped. */
    public BitSet takeTracked(Source log) {
        if (tracked == null) throw new IllegalStateException("no migration is tracking writes");
        fetch(log);
        BitSet b = BitSet.valueOf(tracked);
        java.util.Arrays.fill(tracked, 0);
        return b;
    }

    public void stopTracking() {
        tracked = null;
    }

    /**
     * Merges the guest's writes from {@code log} into the pending set and returns a copy of
     * it: the pages a diff taken now must store. Call only while the vCPU is stopped.
     */
    public BitSet collect(Source log) {
        fetch(log);
        return BitSet.valueOf(pending);
    }

    /** Forgets {@code saved}: an image holding them is durable. Pages marked since stay pending. */
    public void clear(BitSet saved) {
        long[] s = saved.toLongArray();
        for (int i = 0; i < s.length && i < pending.length; i++) pending[i] &= ~s[i];
    }

    /** Pages pending as of the last collection plus the VMM's writes since. */
    public long count() {
        long n = 0;
        for (long w : pending) n += Long.bitCount(w);
        return n;
    }

    public long pages() {
        return pages;
    }
}
