package dev.scratchvm.linux;

import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.memory.Protections;
import dev.scratchvm.state.KernelState.Mapping;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The guest process's view of its memory: the program break growing up from the end
 * of the ELF image, anonymous mappings handed out top-down below the stack. Guest
 * memory is identity-mapped and already present, so "mapping" is bookkeeping plus
 * making the pages read as zero; the page tables follow it ({@link Protections}): in the
 * mmap area (from the break up to and including the guard page below the stack) a page no
 * mapping covers is absent, and every mapping has the rights its PROT_* bits give. The
 * program image, the heap below the break and the stack are not mappings here and stay
 * readable, writable and executable. A file mapped MAP_SHARED is the exception: the host
 * file is mapped over the guest's range ({@link GuestMemory#mapShared}), and each piece of
 * such a mapping holds a reference to its {@link OpenFile}, so closing the fd keeps the file.
 */
final class AddressSpace implements Protections {
    private static final long PAGE = GuestMemory.PAGE_SIZE;

    private final GuestMemory memory;
    private final long brkStart;
    private long brk;
    private final long mmapBase;
    private final long mmapTop;
    private final TreeMap<Long, Mapping> mappings = new TreeMap<>();
    /** The file behind each shared file mapping, by start; one reference per entry. */
    private final Map<Long, OpenFile> sharedFiles = new HashMap<>();
    /** The range whose protections may have changed since {@link #takeChanged}; empty when from >= to. */
    private long changedFrom = Long.MAX_VALUE, changedTo = Long.MIN_VALUE;
    /** Whether a page in that range lost an access it had. */
    private boolean reduced;

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
        if (requested >= brk) noteChange(pageUp(brk), pageUp(requested), READ | WRITE | EXEC);
        else noteChange(pageUp(requested), pageUp(brk), UNMAPPED);
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
        noteChange(start, start + length, prot);
        unmap(start, length);
        mappings.put(start, new Mapping(start, length, prot));
    }

    /**
     * Maps {@code file} from {@code offset} shared over [start, start+length), replacing any
     * overlap. The host mapping is writable when the file is open for reading and writing
     * (the caller has refused PROT_WRITE otherwise, as Linux does).
     *
     * @return 0, or a negative errno from the host (nothing changed then)
     */
    int mapShared(long start, long length, int prot, OpenFile file, long offset) {
        boolean writable = (file.flags & dev.scratchvm.sys.Libc.O_ACCMODE) == dev.scratchvm.sys.Libc.O_RDWR;
        int r = memory.mapShared(start, length, file.hostFd, offset, writable);
        if (r < 0) return r;
        noteChange(start, start + length, prot);
        cut(start, length); // the host already replaced those pages: bookkeeping only
        file.retain();
        mappings.put(start, new Mapping(start, length, prot, -1, offset, true));
        sharedFiles.put(start, file);
        return 0;
    }

    /** Removes [start, start+length) from every mapping it touches, splitting them; the range reads as zero. */
    void unmap(long start, long length) {
        noteChange(start, start + length, UNMAPPED);
        for (long[] shared : cut(start, length)) memory.unmapShared(shared[0], shared[1]);
        memory.discard(start, length);
    }

    /**
     * Takes [start, start+length) out of the bookkeeping, splitting the mappings it touches.
     * Returns the parts of shared file mappings it removed, as {start, length} pairs: the
     * host still maps the file there.
     */
    private List<long[]> cut(long start, long length) {
        long end = start + length;
        List<Mapping> touched = new ArrayList<>();
        Map.Entry<Long, Mapping> e = mappings.lowerEntry(end);
        while (e != null && e.getValue().start() + e.getValue().length() > start) {
            touched.add(e.getValue());
            e = mappings.lowerEntry(e.getKey());
        }
        List<long[]> sharedRemoved = new ArrayList<>();
        for (Mapping m : touched) {
            mappings.remove(m.start());
            OpenFile file = sharedFiles.remove(m.start());
            long mEnd = m.start() + m.length();
            if (m.start() < start) keep(m.resized(m.start(), start - m.start()), file);
            if (mEnd > end) keep(m.resized(end, mEnd - end), file);
            if (file != null) {
                long from = Math.max(start, m.start()), to = Math.min(end, mEnd);
                sharedRemoved.add(new long[] {from, to - from});
                file.release(false);
            }
        }
        return sharedRemoved;
    }

    private void keep(Mapping piece, OpenFile file) {
        mappings.put(piece.start(), piece);
        if (file != null) {
            file.retain();
            sharedFiles.put(piece.start(), file);
        }
    }

    /** The file a shared mapping starting at {@code start} maps, or null for an anonymous one. */
    OpenFile sharedFile(long start) {
        return sharedFiles.get(start);
    }

    /**
     * Maps the shared file mappings of a restored state again, from the re-opened files by id.
     *
     * @throws KernelRestoreException when a mapping names no file or the host refuses to map it
     */
    void restoreShared(Map<Integer, OpenFile> files) throws KernelRestoreException {
        for (Mapping m : new ArrayList<>(mappings.values())) {
            if (!m.shared()) continue;
            OpenFile f = files.get(m.fileId());
            if (f == null) throw new KernelRestoreException("mapping at 0x" + Long.toHexString(m.start()) + " names unknown file " + m.fileId());
            mappings.remove(m.start());
            int r = mapShared(m.start(), m.length(), m.prot(), f, m.fileOffset());
            if (r < 0) {
                throw new KernelRestoreException("cannot map " + f.path + " shared at 0x" + Long.toHexString(m.start()) + ": "
                        + dev.scratchvm.sys.Libc.strerror(-r));
            }
        }
    }

    /** Drops the shared mappings' file references (the host mappings go with guest memory). */
    void releaseFiles() {
        for (OpenFile f : sharedFiles.values()) f.release(false);
        sharedFiles.clear();
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
        noteChange(end, m.start() + newLength, m.prot());
        OpenFile file = sharedFiles.get(m.start());
        if (file != null) {
            // The file goes on where the mapping ended.
            boolean writable = (file.flags & dev.scratchvm.sys.Libc.O_ACCMODE) == dev.scratchvm.sys.Libc.O_RDWR;
            if (memory.mapShared(end, m.start() + newLength - end, file.hostFd, m.fileOffset() + m.length(), writable) < 0) {
                return false;
            }
        } else {
            memory.discard(end, m.start() + newLength - end);
        }
        mappings.put(m.start(), m.resized(m.start(), newLength));
        return true;
    }

    /** Every page that belongs to a mapping; used to validate pointers with mapping granularity. */
    boolean isMapped(long addr, long length) {
        Map.Entry<Long, Mapping> e = mappings.floorEntry(addr);
        return e != null && e.getValue().start() + e.getValue().length() >= addr + length;
    }

    /**
     * Records that [from, to) is about to get protection {@code prot} ({@link #UNMAPPED} for a
     * removal), before the bookkeeping changes: whether any page loses an access it had.
     */
    private void noteChange(long from, long to, int prot) {
        changed(from, to, !onlyGains(from, to, prot));
    }

    private void changed(long from, long to, boolean reduces) {
        if (from >= to) return;
        changedFrom = Math.min(changedFrom, from);
        changedTo = Math.max(changedTo, to);
        reduced |= reduces;
    }

    /** True when no page of [from, to) has an access now that {@code prot} would not give. */
    private boolean onlyGains(long from, long to, int prot) {
        boolean[] gains = {true};
        forEachRun(from, to, (s, e, now) -> {
            if (Protections.accessible(now) && (!Protections.accessible(prot) || (now & ~prot) != 0)) gains[0] = false;
        });
        return gains[0];
    }

    /**
     * What changed since the last call: the range whose protections may differ, and whether any
     * page lost an access (so that translations cached from the old tables must be dropped); null
     * when nothing changed.
     */
    ProtectionChange takeChanged() {
        if (changedFrom >= changedTo) return null;
        ProtectionChange r = new ProtectionChange(changedFrom, changedTo, reduced);
        changedFrom = Long.MAX_VALUE;
        changedTo = Long.MIN_VALUE;
        reduced = false;
        return r;
    }

    /** Where pages no mapping covers are absent: from the break up to and including the guard page below the stack. */
    private long holesFrom() {
        return pageUp(brk);
    }

    private long holesTo() {
        return mmapTop + PAGE;
    }

    @Override
    public void forEachRun(long from, long to, Run run) {
        long at = from;
        while (at < to) {
            Map.Entry<Long, Mapping> e = mappings.floorEntry(at);
            if (e != null && e.getValue().start() + e.getValue().length() > at) {
                long end = Math.min(to, e.getValue().start() + e.getValue().length());
                run.accept(at, end, e.getValue().prot());
                at = end;
                continue;
            }
            Long next = mappings.higherKey(at);
            long end = Math.min(to, next == null ? Long.MAX_VALUE : next);
            int prot;
            if (at < memory.guestBase() || at >= memory.size()) {
                prot = UNMAPPED;
                end = Math.min(end, at < memory.guestBase() ? memory.guestBase() : Long.MAX_VALUE);
            } else if (at < holesFrom()) {
                prot = READ | WRITE | EXEC;
                end = Math.min(end, holesFrom());
            } else if (at < holesTo()) {
                prot = UNMAPPED;
                end = Math.min(end, holesTo());
            } else {
                prot = READ | WRITE | EXEC;
                end = Math.min(end, memory.size());
            }
            run.accept(at, end, prot);
            at = end;
        }
    }

    /** The protection of the page holding {@code addr}: {@link #UNMAPPED} outside the program's memory. */
    int protectionAt(long addr) {
        int[] p = {UNMAPPED};
        forEachRun(addr, addr + 1, (s, e, prot) -> p[0] = prot);
        return p[0];
    }

    /** Whether the program itself could read (or write) all of [addr, addr+len): what the VMM honours for it. */
    boolean allows(long addr, long len, boolean write) {
        if (len <= 0) return true;
        if (addr < 0 || addr + len < addr) return false;
        boolean[] ok = {true};
        forEachRun(addr, addr + len, (s, e, prot) -> {
            if (!Protections.accessible(prot) || write && (prot & WRITE) == 0) ok[0] = false;
        });
        return ok[0];
    }

    /** How many bytes from {@code addr} (at most {@code max}) the program could read. */
    long readablePrefix(long addr, long max) {
        if (addr < 0 || max <= 0 || addr + max < addr) return 0;
        long[] limit = {-1};
        forEachRun(addr, addr + max, (s, e, prot) -> {
            if (limit[0] < 0 && !Protections.accessible(prot)) limit[0] = s - addr;
        });
        return limit[0] < 0 ? max : limit[0];
    }

    /**
     * mprotect(2) over whole pages: the mappings the range covers get {@code prot}, split where
     * it starts or ends inside one. A hole in the mmap area is ENOMEM (nothing changes then);
     * the program image, heap and stack are not mappings here and keep their rights.
     *
     * @return 0 or a negative errno
     */
    int protect(long start, long length, int prot) {
        long end = start + length;
        // Linux checks the whole range for holes before it changes anything.
        boolean[] hole = {false};
        forEachRun(start, end, (s, e, p) -> {
            if (p == UNMAPPED) hole[0] = true;
        });
        if (hole[0]) return -dev.scratchvm.sys.Errno.ENOMEM;
        boolean gains = onlyGains(start, end, prot);
        List<Mapping> touched = new ArrayList<>();
        Map.Entry<Long, Mapping> e = mappings.lowerEntry(end);
        while (e != null && e.getValue().start() + e.getValue().length() > start) {
            touched.add(e.getValue());
            e = mappings.lowerEntry(e.getKey());
        }
        for (Mapping m : touched) {
            OpenFile file = sharedFiles.get(m.start());
            if (file != null && (prot & WRITE) != 0
                    && (file.flags & dev.scratchvm.sys.Libc.O_ACCMODE) != dev.scratchvm.sys.Libc.O_RDWR) {
                return -dev.scratchvm.sys.Errno.EACCES; // a shared mapping of a file not open for writing
            }
        }
        for (Mapping m : touched) {
            if (m.prot() == prot) continue;
            mappings.remove(m.start());
            OpenFile file = sharedFiles.remove(m.start());
            long mEnd = m.start() + m.length(), from = Math.max(start, m.start()), to = Math.min(end, mEnd);
            if (m.start() < from) keep(m.resized(m.start(), from - m.start()), file);
            Mapping middle = m.resized(from, to - from);
            keep(new Mapping(middle.start(), middle.length(), prot, middle.fileId(), middle.fileOffset(), middle.shared()), file);
            if (mEnd > to) keep(m.resized(to, mEnd - to), file);
            if (file != null) file.release(false);
        }
        mergeAnonymous(start);
        mergeAnonymous(end);
        changed(start, end, !gains);
        return 0;
    }

    /** Joins the anonymous mappings that meet at {@code boundary} when their rights are equal, as Linux merges areas. */
    private void mergeAnonymous(long boundary) {
        Mapping after = mappings.get(boundary);
        Map.Entry<Long, Mapping> below = mappings.lowerEntry(boundary);
        if (after == null || below == null) return;
        Mapping before = below.getValue();
        if (before.start() + before.length() != boundary || before.shared() || after.shared() || before.prot() != after.prot()
                || sharedFiles.containsKey(before.start()) || sharedFiles.containsKey(after.start())) {
            return;
        }
        mappings.remove(boundary);
        mappings.put(before.start(), before.resized(before.start(), before.length() + after.length()));
    }
}
