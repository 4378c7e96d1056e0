package dev.scratchvm.linux;

import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.KernelState.Mapping;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The guest process's view of its memory: the program break growing up from the end
 * of the ELF image, anonymous mappings handed out top-down below the stack. Guest
 * memory is identity-mapped and already present, so "mapping" is bookkeeping plus
 * making the pages read as zero.
 */
final class AddressSpace {
    private static final long PAGE = GuestMemory.PAGE_SIZE;

    private final GuestMemory memory;
    private final long brkStart;
    private long brk;
    private final long mmapBase;
    private final long mmapTop;
    private final TreeMap<Long, Mapping> mappings = new TreeMap<>();

    AddressSpace(GuestMemory memory, long brkStart, long brk, long mmapBase, long mmapTop, List<Mapping> restored) {
        this.memory = memory;
        this.brkStart = brkStart;
        this.brk = brk;
        this.mmapBase = mmapBase;
        this.mmapTop = mmapTop;
        for (Mapping m : restored) mappings.put(m.start(), m);
    }

    long brkStart() {
        return brkStart;
    }

    long brk() {
        return brk;
    }

    long mmapBase() {
        return mmapBase;
    }

    long mmapTop() {
        return mmapTop;
    }

    List<Mapping> mappings() {
        return new ArrayList<>(mappings.values());
    }

    static long pageUp(long v) {
        return (v + PAGE - 1) & ~(PAGE - 1);
    }

    /** brk(2): moves the break if it stays below every mapping; always returns the break. */
    long setBrk(long requested) {
        if (requested < brkStart || !memory.contains(requested, 0)) return brk;
        long limit = mappings.isEmpty() ? mmapTop : Math.min(mmapTop, mappings.firstKey());
        if (requested > limit) return brk;
        if (requested < brk) {
            // Linux gives back whole pages above the new break; a later grow sees zeros.
            long from = pageUp(requested), to = pageUp(brk);
            if (to > from) memory.discard(from, to - from);
        }
        brk = requested;
        return brk;
    }

    /** Finds room for {@code length} bytes, highest address first; -1 when none. */
    long findFree(long length) {
        long end = mmapTop;
        for (Mapping m : mappings.descendingMap().values()) {
            if (m.start() + m.length() <= end - length) break;
            end = Math.min(end, m.start());
        }
        long start = end - length;
        long floor = Math.max(mmapBase, pageUp(brk));
        return start >= floor && start + length <= mmapTop && memory.contains(start, length) ? start : -1;
    }

    /** True when [start, start+length) overlaps no mapping and lies in the mmap area. */
    boolean isFree(long start, long length) {
        if (start < Math.max(mmapBase, pageUp(brk)) || start + length > mmapTop || !memory.contains(start, length)) {
            return false;
        }
        Map.Entry<Long, Mapping> below = mappings.lowerEntry(start + length);
        return below == null || below.getValue().start() + below.getValue().length() <= start;
    }

    /** Records a new mapping over [start, start+length), replacing any overlap, with zeroed pages. */
    void map(long start, long length, int prot) {
        unmap(start, length);
        mappings.put(start, new Mapping(start, length, prot));
    }

    /** Removes [start, start+length) from every mapping it touches, splitting them. */
    void unmap(long start, long length) {
        long end = start + length;
        List<Mapping> touched = new ArrayList<>();
        Map.Entry<Long, Mapping> e = mappings.lowerEntry(end);
        while (e != null && e.getValue().start() + e.getValue().length() > start) {
            touched.add(e.getValue());
            e = mappings.lowerEntry(e.getKey());
        }
        for (Mapping m : touched) {
            mappings.remove(m.start());
            long mEnd = m.start() + m.length();
            if (m.start() < start) mappings.put(m.start(), new Mapping(m.start(), start - m.start(), m.prot()));
            if (mEnd > end) mappings.put(end, new Mapping(end, mEnd - end, m.prot()));
        }
        memory.discard(start, length);
    }

    /** The mapping that starts exactly at {@code start}, or null. */
    Mapping mappingAt(long start) {
        return mappings.get(start);
    }

    /** Grows a mapping in place when the pages after it are free. */
    boolean growInPlace(Mapping m, long newLength) {
        long end = m.start() + m.length();
        Map.Entry<Long, Mapping> next = mappings.higherEntry(m.start());
        long limit = next == null ? mmapTop : Math.min(mmapTop, next.getKey());
        if (m.start() + newLength > limit || !memory.contains(m.start(), newLength)) return false;
        mappings.put(m.start(), new Mapping(m.start(), newLength, m.prot()));
        memory.discard(end, m.start() + newLength - end);
        return true;
    }

    /** Every page that belongs to a mapping; used to validate pointers with mapping granularity. */
    boolean isMapped(long addr, long length) {
        Map.Entry<Long, Mapping> e = mappings.floorEntry(addr);
        return e != null && e.getValue().start() + e.getValue().length() >= addr + length;
    }
}
