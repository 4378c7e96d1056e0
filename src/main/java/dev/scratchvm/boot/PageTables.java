package dev.scratchvm.boot;

import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.memory.Protections;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

import static dev.scratchvm.boot.BootLayout.GUEST_BASE;
import static dev.scratchvm.boot.BootLayout.PAGE_DIRECTORIES;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * The page tables of the program's memory (everything from {@link BootLayout#GUEST_BASE} up),
 * derived from its {@link Protections}: an unmapped or PROT_NONE page is absent, a page
 * without PROT_WRITE read-only, one without PROT_EXEC no-execute (when EFER.NXE is on). A
 * 2 MiB region with one protection throughout stays one 2 MiB page, so a program that never
 * changes protections keeps the tables boot wrote; a region whose protections differ gets a
 * 4 KiB page table.
 *
 * <p>Those page tables live in the VMM's low 2 MiB, which the program cannot reach (no entry
 * maps them): the pages between the stubs and the page directories, and those after the page
 * directories the memory size needs. That is 503 tables for up to 1 GiB of guest memory (one
 * per 2 MiB region, so every region can be split) and at least 440 for 64 GiB. Should a
 * program fragment more regions than that, the extra regions keep one 2 MiB page with the
 * most permissive of their protections (the VMM's own pages are never affected: only the
 * program's own protections go unenforced there) and {@link #overflowed} says so.
 *
 * <p>The tables are derived state: never saved as such, rebuilt from the mappings on restore.
 * They are written through the raw segment, not as the guest's pages (the dirty-page record
 * leaves them out), with accessed and dirty bits preset so the CPU never writes them either.
 */
public final class PageTables {
    private static final long PRESENT = 1, WRITABLE = 2, USER = 4, ACCESSED = 0x20, DIRTY = 0x40, HUGE = 0x80,
            NO_EXECUTE = 1L << 63;
    private static final long REGION = 2L << 20, PAGE = GuestMemory.PAGE_SIZE;

    private final MemorySegment mem;
    private final Protections protections;
    private final boolean nx;
    private final long size;
    /** The 4 KiB page table of each 2 MiB region, or 0 where one 2 MiB page maps it. */
    private final long[] tableOf;
    private final ArrayDeque<Long> free = new ArrayDeque<>();
    private long overflowed;

    private PageTables(GuestMemory memory, Protections protections, boolean nx) {
        this.mem = memory.segment();
        this.protections = protections;
        this.nx = nx;
        this.size = memory.size();
        this.tableOf = new long[(int) (size / REGION)];
        long gibs = (size + (1L << 30) - 1) >> 30;
        for (long p = BootLayout.STACK_GUARD_PT; p < PAGE_DIRECTORIES; p += PAGE) free.add(p);
        for (long p = PAGE_DIRECTORIES + gibs * PAGE; p < GUEST_BASE; p += PAGE) free.add(p);
    }

    /**
     * Writes the program's part of the tables from {@code protections}, replacing whatever
     * {@link LongMode#writeTables} (and its guard page) left there.
     *
     * @param nx whether EFER.NXE is on, so that bit 63 means no-execute (reserved otherwise)
     */
    public static PageTables build(GuestMemory memory, Protections protections, boolean nx) {
        PageTables t = new PageTables(memory, protections, nx);
        t.update(GUEST_BASE, memory.size());
        return t;
    }

    /**
     * Rewrites the entries of every 2 MiB region [from, to) touches.
     *
     * @return whether a page-directory entry changed (a region split or joined, or a 2 MiB page's
     *         rights), as opposed to 4 KiB entries of page tables that stay where they are: KVM's
     *         shadow pages mirror the structure, so only a full flush makes it forget a changed one
     */
    public boolean update(long from, long to) {
        long first = Math.max(GUEST_BASE, from & -REGION), end = Math.min(size, to);
        boolean directories = false;
        for (long region = first; region < end; region += REGION) directories |= updateRegion(region);
        return directories;
    }

    /** How many times a region could not get its own page table (see the class comment). */
    public long overflowed() {
        return overflowed;
    }

    private boolean updateRegion(long region) {
        int index = (int) (region / REGION);
        long pde = PAGE_DIRECTORIES + (region >> 30) * PAGE + (region >> 21 & 511) * 8;
        int[] uniform = {Integer.MIN_VALUE};
        int[] union = {Protections.UNMAPPED};
        boolean[] mixed = {false};
        protections.forEachRun(region, region + REGION, (s, e, prot) -> {
            if (uniform[0] == Integer.MIN_VALUE) uniform[0] = prot;
            else if (uniform[0] != prot) mixed[0] = true;
            if (Protections.accessible(prot)) union[0] = Math.max(union[0], 0) | prot;
        });
        long table = tableOf[index];
        if (mixed[0] && table == 0) {
            Long t = free.poll();
            if (t == null) {
                overflowed++;
                return put(pde, leaf(union[0], HUGE, region));
            }
            table = t;
            tableOf[index] = table;
        }
        if (!mixed[0]) {
            boolean changed = put(pde, leaf(uniform[0], HUGE, region));
            if (table != 0) {
                tableOf[index] = 0;
                free.push(table);
            }
            return changed;
        }
        long pt = table;
        protections.forEachRun(region, region + REGION, (s, e, prot) -> {
            for (long page = s; page < e; page += PAGE) put(pt + ((page - region) >> 12) * 8, leaf(prot, 0, page));
        });
        return put(pde, pt | PRESENT | WRITABLE | USER | ACCESSED);
    }

    private long leaf(int prot, long huge, long addr) {
        if (!Protections.accessible(prot)) return 0;
        long e = addr | PRESENT | USER | ACCESSED | huge;
        if ((prot & Protections.WRITE) != 0) e |= WRITABLE | DIRTY;
        if (nx && (prot & Protections.EXEC) == 0) e |= NO_EXECUTE;
        return e;
    }

    /** Writes an entry; whether it differs from what was there. */
    private boolean put(long at, long entry) {
        if (mem.get(JAVA_LONG_UNALIGNED, at) == entry) return false;
        mem.set(JAVA_LONG_UNALIGNED, at, entry);
        return true;
    }

    /** For tests: the entry that maps {@code addr} at the lowest level, 0 when absent. */
    public long entryFor(long addr) {
        long pde = mem.get(JAVA_LONG_UNALIGNED, PAGE_DIRECTORIES + (addr >> 30) * PAGE + (addr >> 21 & 511) * 8);
        if ((pde & PRESENT) == 0 || (pde & HUGE) != 0) return pde;
        return mem.get(JAVA_LONG_UNALIGNED, (pde & 0xffffffffff000L) + (addr >> 12 & 511) * 8);
    }
}
