package dev.scratchvm.kvm;

import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * KVM's log of the pages the guest wrote in one memory slot. {@link #fetch} returns the pages
 * written since the previous fetch and re-arms tracking for them. Where the host offers
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, fetching is KVM_GET_DIRTY_LOG followed by
 * KVM_CLEAR_DIRTY_LOG of exactly the pages returned (only those are write-protected again);
 * otherwise KVM_GET_DIRTY_LOG alone, which clears and re-protects as it reads.
 */
public final class DirtyLog implements AutoCloseable {
    private static final int MANUAL_PROTECT_ENABLE = 1;

    private final int vmFd;
    private final int slot;
    private final long pages;
    private final boolean manual;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment bitmap;
    private final MemorySegment getArg;
    private final MemorySegment clearArg;

    private DirtyLog(int vmFd, int slot, long pages, boolean manual) {
        this.vmFd = vmFd;
        this.slot = slot;
        this.pages = pages;
        this.manual = manual;
        // KVM copies whole longs: the bitmap is rounded up to 64 pages.
        this.bitmap = arena.allocate(words(pages) * 8L, 8);
        this.getArg = arena.allocate(Structs.DIRTY_LOG);
        getArg.set(JAVA_INT, Structs.offset(Structs.DIRTY_LOG, "slot"), slot);
        getArg.set(JAVA_LONG, Structs.offset(Structs.DIRTY_LOG, "dirty_bitmap"), bitmap.address());
        this.clearArg = arena.allocate(Structs.CLEAR_DIRTY_LOG);
        clearArg.set(JAVA_INT, Structs.offset(Structs.CLEAR_DIRTY_LOG, "slot"), slot);
        clearArg.set(JAVA_INT, Structs.offset(Structs.CLEAR_DIRTY_LOG, "num_pages"), (int) pages);
        clearArg.set(JAVA_LONG, Structs.offset(Structs.CLEAR_DIRTY_LOG, "first_page"), 0);
        clearArg.set(JAVA_LONG, Structs.offset(Structs.CLEAR_DIRTY_LOG, "dirty_bitmap"), bitmap.address());
    }

    static int words(long pages) {
        return (int) ((pages + 63) / 64);
    }

    static DirtyLog enable(int vmFd, int slot, long pages) {
        if (pages <= 0 || pages > Integer.MAX_VALUE) throw new IllegalArgumentException("slot of " + pages + " pages");
        int supported = Math.max(0, Libc.ioctl(vmFd, Ioctls.CHECK_EXTENSION, Kvm.CAP_MANUAL_DIRTY_LOG_PROTECT2));
        boolean manual = (supported & MANUAL_PROTECT_ENABLE) != 0;
        if (manual) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment cap = a.allocate(Structs.ENABLE_CAP);
                cap.set(JAVA_INT, Structs.offset(Structs.ENABLE_CAP, "cap"), Kvm.CAP_MANUAL_DIRTY_LOG_PROTECT2);
                cap.set(JAVA_LONG, Structs.offset(Structs.ENABLE_CAP, "args"), MANUAL_PROTECT_ENABLE);
                // Refused (e.g. memslots already exist): fall back to clear-on-read, which is just as correct.
                manual = Libc.ioctl(vmFd, Ioctls.ENABLE_CAP, cap) == 0;
            }
        }
        return new DirtyLog(vmFd, slot, pages, manual);
    }

    /** Whether fetching uses KVM_CLEAR_DIRTY_LOG (manual protection) rather than GET's clear-on-read. */
    public boolean manualProtect() {
        return manual;
    }

    public long pages() {
        return pages;
    }

    /**
     * Fetches the pages written since the last fetch, ORs them into {@code into} (one bit per
     * page, as in {@link java.util.BitSet#toLongArray}) and re-arms logging for them. Only
     * while the vCPU is stopped: a write between GET and CLEAR would otherwise be lost.
     *
     * @return the number of pages newly reported
     * @throws KvmException if KVM refuses (e.g. the slot was registered without dirty logging)
     */
    public long fetch(long[] into) {
        Kvm.check("KVM_GET_DIRTY_LOG", Libc.ioctl(vmFd, Ioctls.GET_DIRTY_LOG, getArg));
        long found = 0;
        int n = words(pages);
        for (int i = 0; i < n; i++) {
            long w = bitmap.getAtIndex(JAVA_LONG, i);
            if (w != 0) {
                into[i] |= w;
                found += Long.bitCount(w);
            }
        }
        if (manual && found > 0) Kvm.check("KVM_CLEAR_DIRTY_LOG", Libc.ioctl(vmFd, Ioctls.CLEAR_DIRTY_LOG, clearArg));
        return found;
    }

    @Override
    public void close() {
        arena.close();
    }
}
