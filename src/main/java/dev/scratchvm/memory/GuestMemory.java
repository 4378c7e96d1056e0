package dev.scratchvm.memory;

import dev.scratchvm.sys.Libc;
import dev.scratchvm.sys.NativeException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * Guest physical memory: one anonymous host mapping registered with KVM at guest
 * address 0. Guest pages are identity-mapped, so a guest virtual address is an
 * offset into this mapping. Every access on the guest's behalf is checked against the
 * guest-owned range: reads through {@link #slice} (read-only), and every write the VMM makes
 * into guest memory through {@link #writable}, {@link #write}, {@link #writeLong},
 * {@link #copy} or {@link #discard}, which record the pages in {@link #dirtyPages()} so a
 * diff snapshot holds them as well as the pages the guest itself wrote.
 */
public final class GuestMemory implements AutoCloseable {
    public static final int PAGE_SIZE = 4096;
    private static final int MADV_DONTNEED = 4;

    private final MemorySegment mem;
    private final long guestBase;
    /** Pages whose content comes from a file mapping (a restored image), not anonymous memory. */
    private final BitSet fileBacked = new BitSet();
    /**
     * Pages where the guest mapped one of its files MAP_SHARED: they are the file's page cache,
     * not guest memory, so images, diffs and migration leave them out (the file itself is
     * carried by the state's open files) and nothing here ever zeroes them.
     */
    private final BitSet sharedFile = new BitSet();
    /** Shared file pages the host maps read-only (the guest's fd was not open for writing). */
    private final BitSet readOnly = new BitSet();
    private final DirtyPages dirty;

    private GuestMemory(MemorySegment mem, long guestBase) {
        this.mem = mem;
        this.guestBase = guestBase;
        this.dirty = new DirtyPages(mem.byteSize() / PAGE_SIZE, sharedFile);
    }

    /**
     * Maps {@code size} bytes of zeroed, lazily allocated memory. Only pages the guest
     * (or the VMM on its behalf) touches ever take host memory.
     *
     * @param guestBase lowest address the guest program may pass to system calls; below
     *                  it live the page tables and descriptor tables, which only the VMM writes
     */
    public static GuestMemory allocate(long size, long guestBase) {
        long addr = Libc.mmap(0, size, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        if (addr < 0) throw new NativeException("mmap of " + (size >> 20) + " MiB guest memory", (int) -addr);
        return new GuestMemory(MemorySegment.ofAddress(addr).reinterpret(size), guestBase);
    }

    /**
     * The whole mapping, for KVM registration, saving, and loading memory before the VM runs
     * (restore, migration). Writes through it are not recorded as dirty: writes on the guest's
     * behalf use {@link #writable} and friends.
     */
    public MemorySegment segment() {
        return mem;
    }

    public long size() {
        return mem.byteSize();
    }

    public long guestBase() {
        return guestBase;
    }

    /** True when [addr, addr+len) lies in guest-owned memory. */
    public boolean contains(long addr, long len) {
        return len >= 0 && addr >= guestBase && addr <= mem.byteSize() && len <= mem.byteSize() - addr;
    }

    /** The pages written since the last durable snapshot. */
    public DirtyPages dirtyPages() {
        return dirty;
    }

    /** The guest range [addr, addr+len) to read, or null when any of it is outside guest memory (EFAULT). */
    public MemorySegment slice(long addr, long len) {
        return contains(addr, len) && backed(addr, len, false) ? mem.asSlice(addr, len).asReadOnly() : null;
    }

    /** True when [addr, addr+len) is guest memory the VMM can read without a fault (see {@link #backed}). */
    public boolean readable(long addr, long len) {
        return contains(addr, len) && backed(addr, len, false);
    }

    private static final int MADV_POPULATE_READ = 22, MADV_POPULATE_WRITE = 23;

    /**
     * False when part of [addr, addr+len) is a shared file page the host cannot provide: one
     * past the end of the file, where any access is SIGBUS (which would take the VMM down, not
     * the guest). Linux's system calls say EFAULT there, and so do ours. Faulting the pages in
     * first (MADV_POPULATE_*) tells without touching them; anonymous memory needs no check.
     */
    private boolean backed(long addr, long len, boolean write) {
        if (!anyShared(addr, len)) return true;
        long first = addr & -PAGE_SIZE, end = (addr + len + PAGE_SIZE - 1) & -PAGE_SIZE;
        return Libc.madvise(mem.address() + first, end - first, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0;
    }

    /** How much of [addr, addr+limit) can be read before the first page that cannot ({@link #backed}). */
    private long readableLimit(long addr, long limit) {
        if (!anyShared(addr, limit)) return limit;
        for (long page = addr & -PAGE_SIZE; page < addr + limit; page += PAGE_SIZE) {
            if (sharedFile.get((int) (page / PAGE_SIZE)) && !backed(page, PAGE_SIZE, false)) return Math.max(0, page - addr);
        }
        return limit;
    }

    /**
     * The guest range [addr, addr+len) to write (the VMM fills it for the guest: read(2),
     * stat buffers, ...), or null when outside guest memory. Its pages count as dirty from now.
     */
    public MemorySegment writable(long addr, long len) {
        if (!contains(addr, len)) return null;
        if (len > 0 && !readOnly.isEmpty()) {
            int first = (int) (addr / PAGE_SIZE), end = (int) ((addr + len + PAGE_SIZE - 1) / PAGE_SIZE);
            int ro = readOnly.nextSetBit(first);
            if (ro >= 0 && ro < end) return null; // a store there would fault: Linux says EFAULT
        }
        if (!backed(addr, len, true)) return null;
        dirty.mark(addr, len);
        return mem.asSlice(addr, len);
    }

    /** memmove within guest memory (mremap); the caller has checked both ranges. */
    public void copy(long from, long to, long len) {
        dirty.mark(to, len);
        MemorySegment.copy(mem, from, mem, to, len);
    }

    /** Sets [addr, addr+len) to zero; also for the VMM's own low pages (page tables). */
    public void zero(long addr, long len) {
        dirty.mark(addr, len);
        mem.asSlice(addr, len).fill((byte) 0);
    }

    private static final MemorySegment ZERO_PAGE = MemorySegment.ofArray(new byte[PAGE_SIZE]);

    /**
     * As {@link #zero}, writing only the pages that are not zero already: in fresh memory most
     * are untouched, and reading one maps the shared zero page where writing would fault in a
     * page of its own (512 of them cost about a millisecond of a migrated guest's downtime).
     * {@code addr} and {@code len} are page-aligned.
     */
    public void zeroWhereNonZero(long addr, long len) {
        dirty.mark(addr, len);
        for (long page = addr; page < addr + len; page += PAGE_SIZE) {
            MemorySegment p = mem.asSlice(page, PAGE_SIZE);
            if (p.mismatch(ZERO_PAGE) >= 0) p.fill((byte) 0);
        }
    }

    /** Copies {@code len} bytes of {@code src} from {@code srcOffset} into guest memory at {@code addr}. */
    public void write(long addr, byte[] src, int srcOffset, int len) {
        dirty.mark(addr, len);
        MemorySegment.copy(src, srcOffset, mem, JAVA_BYTE, addr, len);
    }

    /**
     * Reads a NUL-terminated string of at most {@code max} bytes; null when it is not
     * entirely inside guest memory or has no terminator within {@code max}.
     */
    public String cString(long addr, int max) {
        if (!contains(addr, 1)) return null;
        long limit = readableLimit(addr, Math.min(max, mem.byteSize() - addr));
        for (long i = 0; i < limit; i++) {
            if (mem.get(JAVA_BYTE, addr + i) == 0) {
                return new String(mem.asSlice(addr, i).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    /** Length of the NUL-terminated string at addr including the NUL, or -1. */
    public long cStringLength(long addr, int max) {
        if (!contains(addr, 1)) return -1;
        long limit = readableLimit(addr, Math.min(max, mem.byteSize() - addr));
        for (long i = 0; i < limit; i++) if (mem.get(JAVA_BYTE, addr + i) == 0) return i + 1;
        return -1;
    }

    public long readLong(long addr) {
        return mem.get(JAVA_LONG_UNALIGNED, addr);
    }

    public void writeLong(long addr, long value) {
        dirty.mark(addr, 8);
        mem.set(JAVA_LONG_UNALIGNED, addr, value);
    }

    public void writeShort(long addr, short value) {
        dirty.mark(addr, 2);
        mem.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, addr, value);
    }

    public void write(long addr, byte[] bytes) {
        dirty.mark(addr, bytes.length);
        MemorySegment.copy(bytes, 0, mem, JAVA_BYTE, addr, bytes.length);
    }

    /**
     * Makes a page-aligned range read as zero again and gives its host memory back.
     * Pages restored from an image mapping would fall back to the file's content on
     * MADV_DONTNEED, so those are cleared by hand.
     */
    public void discard(long addr, long len) {
        // Only ever the guest's pages: zeroing below guestBase would wipe the VMM's page tables.
        if (!contains(addr, len)) {
            throw new IllegalArgumentException("discard of [0x" + Long.toHexString(addr) + ", +0x" + Long.toHexString(len)
                    + ") outside guest memory");
        }
        // Zeroing is a write: a diff must say these pages are zero now.
        dirty.mark(addr, len);
        long first = addr / PAGE_SIZE, end = (addr + len + PAGE_SIZE - 1) / PAGE_SIZE;
        long runStart = first;
        for (long p = first; p <= end; p++) {
            boolean boundary = p == end || fileBacked.get((int) p) || sharedFile.get((int) p);
            if (boundary) {
                if (p > runStart) Libc.madvise(mem.address() + runStart * PAGE_SIZE, (p - runStart) * PAGE_SIZE, MADV_DONTNEED);
                // A shared file page keeps its content: it is the file's (MADV_DONTNEED rereads it on Linux).
                if (p < end && !sharedFile.get((int) p)) mem.asSlice(p * PAGE_SIZE, PAGE_SIZE).fill((byte) 0);
                runStart = p + 1;
            }
        }
    }

    /**
     * Maps [offset, offset+len) of the host file {@code hostFd} shared over the guest range
     * [addr, addr+len), replacing what was there: the guest's stores land in the host's page
     * cache, coherent with read(2)/write(2) on the file and with every other process mapping
     * it. KVM's memory slot is backed by this host range, so the new pages are what the
     * guest sees (KVM's MMU notifier drops its old translations when the range is replaced).
     *
     * @return 0, or a negative errno from the host (the range is then unchanged)
     */
    public int mapShared(long addr, long len, int hostFd, long offset, boolean writable) {
        requireGuest(addr, len, "shared file mapping");
        int prot = Libc.PROT_READ | (writable ? Libc.PROT_WRITE : 0);
        long r = Libc.mmap(mem.address() + addr, len, prot, Libc.MAP_SHARED | Libc.MAP_FIXED, hostFd, offset);
        if (r < 0) return (int) r;
        int first = (int) (addr / PAGE_SIZE), end = (int) ((addr + len) / PAGE_SIZE);
        fileBacked.clear(first, end);
        sharedFile.set(first, end);
        if (writable) readOnly.clear(first, end);
        else readOnly.set(first, end);
        return 0;
    }

    /**
     * Puts zeroed anonymous memory back where a shared file mapping was (munmap, a mapping
     * replacing it). The pages count as written: an earlier image may hold other bytes there.
     */
    public void unmapShared(long addr, long len) {
        requireGuest(addr, len, "shared file unmapping");
        long r = Libc.mmap(mem.address() + addr, len, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE | Libc.MAP_FIXED, -1, 0);
        if (r < 0) throw new NativeException("mmap of anonymous memory over a shared file mapping", (int) -r);
        int first = (int) (addr / PAGE_SIZE), end = (int) ((addr + len) / PAGE_SIZE);
        sharedFile.clear(first, end);
        readOnly.clear(first, end);
        dirty.mark(addr, len);
    }

    /**
     * Makes KVM drop its translations of the guest pages [addr, addr+len) (page-aligned), leaving
     * their contents and the host's rights as they were: taking write access away for a moment
     * is a change the host's MMU notifier reports, and KVM zaps every mapping of those pages
     * (shadow or TDP) and flushes the TLBs that may hold them. Guest memory outside shared file
     * mappings is always read-write on the host, so that is what it gets back; readers on other
     * threads (a live migration's rounds) are not disturbed.
     *
     * @return false when it could not (shared file pages, whose host rights differ, or the host refused)
     */
    public boolean dropHostTranslations(long addr, long len) {
        if (!contains(addr, len) || addr % PAGE_SIZE != 0 || len % PAGE_SIZE != 0 || anyShared(addr, len)) return false;
        if (Libc.mprotect(mem.address() + addr, len, Libc.PROT_READ) != 0) return false;
        int r = Libc.mprotect(mem.address() + addr, len, Libc.PROT_READ | Libc.PROT_WRITE);
        if (r != 0) throw new NativeException("mprotect of guest memory back to read-write", -r);
        return true;
    }

    /** True when any page of [addr, addr+len) belongs to a shared file mapping. */
    public boolean anyShared(long addr, long len) {
        if (len <= 0 || sharedFile.isEmpty()) return false;
        int s = sharedFile.nextSetBit((int) (addr / PAGE_SIZE));
        return s >= 0 && s < (addr + len + PAGE_SIZE - 1) / PAGE_SIZE;
    }

    /** The host's msync(2) over a guest range: 0 or a negative errno. */
    public int msync(long addr, long len, int flags) {
        requireGuest(addr, len, "msync");
        return Libc.msync(mem.address() + addr, len, flags);
    }

    private void requireGuest(long addr, long len, String what) {
        if (!contains(addr, len) || addr % PAGE_SIZE != 0 || len % PAGE_SIZE != 0) {
            throw new IllegalArgumentException(what + " of [0x" + Long.toHexString(addr) + ", +0x" + Long.toHexString(len)
                    + ") is not whole pages of guest memory");
        }
    }

    /** Records that pages [firstPage, firstPage+count) are now backed by a file mapping. */
    public void markFileBacked(long firstPage, long count) {
        fileBacked.set((int) firstPage, (int) (firstPage + count));
    }

    /**
     * Which pages may hold non-zero data: those the host has populated (present in RAM or
     * swapped out, from /proc/self/pagemap) plus those mapped from an image. Pages outside
     * this set were never touched and read as zero, so saving can skip them without
     * reading them (which would fault them in).
     */
    public BitSet pagesInUse() {
        BitSet used = populatedPages();
        used.or(fileBacked);
        used.andNot(sharedFile);
        return used;
    }

    /** Bytes of guest memory the host currently holds in RAM for this VM. */
    public long residentBytes() {
        return populatedPages().cardinality() * (long) PAGE_SIZE;
    }

    private static final long PAGEMAP_PRESENT = 1L << 63, PAGEMAP_SWAPPED = 1L << 62;

    /** Pages with a page-table entry (present or swapped); every page when pagemap is unreadable. */
    private BitSet populatedPages() {
        int pages = (int) (mem.byteSize() / PAGE_SIZE);
        BitSet used = new BitSet(pages);
        int chunkPages = Math.min(pages, 1 << 16);
        try (FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(chunkPages * 8).order(ByteOrder.nativeOrder());
            for (int first = 0; first < pages; first += chunkPages) {
                int count = Math.min(chunkPages, pages - first);
                buf.clear().limit(count * 8);
                long offset = (mem.address() / PAGE_SIZE + first) * 8;
                while (buf.hasRemaining()) {
                    if (pagemap.read(buf, offset + buf.position()) < 0) throw new IOException("short pagemap read");
                }
                for (int i = 0; i < count; i++) {
                    if ((buf.getLong(i * 8) & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED)) != 0) used.set(first + i);
                }
            }
        } catch (IOException e) {
            used.set(0, pages); // cannot tell: assume everything is in use
        }
        return used;
    }

    @Override
    public void close() {
        Libc.munmap(mem.address(), mem.byteSize());
    }
}
