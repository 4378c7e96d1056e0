package dev.scratchvm.boot;

import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.memory.Protections;
import org.junit.jupiter.api.Test;

import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/** The program's page tables follow its protections, with 2 MiB pages wherever a region is uniform. */
class PageTablesTest {
    private static final long MIB = 1 << 20, PAGE = 4096, PRESENT = 1, WRITABLE = 2, USER = 4, HUGE = 0x80,
            NX = 1L << 63;

    /** Protections by page: everything readable, writable and executable unless set otherwise. */
    private static final class Pages implements Protections {
        final TreeMap<Long, Integer> prot = new TreeMap<>();

        @Override
        public void forEachRun(long from, long to, Run run) {
            for (long p = from; p < to; p += PAGE) run.accept(p, p + PAGE, prot.getOrDefault(p, READ | WRITE | EXEC));
        }
    }

    @Test
    void uniformRegionsKeepTwoMibPagesAndMixedOnesGetFourKibEntries() {
        try (GuestMemory m = GuestMemory.allocate(16 * MIB, BootLayout.GUEST_BASE)) {
            LongMode.writeTables(m);
            Pages pages = new Pages();
            PageTables t = PageTables.build(m, pages, true);
            assertThat(t.entryFor(4 * MIB + 5 * PAGE) & (PRESENT | WRITABLE | USER | HUGE | NX))
                    .isEqualTo(PRESENT | WRITABLE | USER | HUGE);

            long none = 4 * MIB + 5 * PAGE, ro = none + PAGE, data = none + 2 * PAGE;
            pages.prot.put(none, 0);
            pages.prot.put(ro, Protections.READ);
            pages.prot.put(data, Protections.READ | Protections.WRITE);
            pages.prot.put(6 * MIB, Protections.UNMAPPED);
            t.update(none, data + PAGE);
            t.update(6 * MIB, 6 * MIB + PAGE);

            assertThat(t.entryFor(none)).as("PROT_NONE is absent").isZero();
            assertThat(t.entryFor(ro) & (PRESENT | WRITABLE | HUGE | NX)).as("read-only").isEqualTo(PRESENT | NX);
            assertThat(t.entryFor(data) & (PRESENT | WRITABLE | HUGE | NX)).as("no exec").isEqualTo(PRESENT | WRITABLE | NX);
            assertThat(t.entryFor(none - PAGE) & (PRESENT | WRITABLE | HUGE | NX)).isEqualTo(PRESENT | WRITABLE);
            assertThat(t.entryFor(none - PAGE) & ~0xfffL & ~NX).as("identity-mapped").isEqualTo(none - PAGE);
            assertThat(t.entryFor(6 * MIB)).as("unmapped is absent").isZero();
            assertThat(t.entryFor(8 * MIB) & HUGE).as("an untouched region").isEqualTo(HUGE);

            pages.prot.clear();
            t.update(none, data + PAGE);
            assertThat(t.entryFor(none) & (PRESENT | WRITABLE | HUGE)).as("uniform again").isEqualTo(PRESENT | WRITABLE | HUGE);
        }
    }

    @Test
    void withoutNxNoEntryHasBit63() {
        try (GuestMemory m = GuestMemory.allocate(8 * MIB, BootLayout.GUEST_BASE)) {
            LongMode.writeTables(m);
            Pages pages = new Pages();
            pages.prot.put(4 * MIB, Protections.READ);
            PageTables t = PageTables.build(m, pages, false);
            assertThat(t.entryFor(4 * MIB) & (PRESENT | WRITABLE | NX)).isEqualTo(PRESENT);
        }
    }

    @Test
    void tablesAreReusedAndTheirWritesAreNotTheGuestsDirtyPages() {
        try (GuestMemory m = GuestMemory.allocate(64 * MIB, BootLayout.GUEST_BASE)) {
            LongMode.writeTables(m);
            Pages pages = new Pages();
            PageTables t = PageTables.build(m, pages, true);
            long dirtyBefore = m.dirtyPages().count();
            for (int round = 0; round < 50; round++) {
                for (long r = 2 * MIB; r < 64 * MIB; r += 2 * MIB) pages.prot.put(r + round * PAGE, 0);
                t.update(2 * MIB, 64 * MIB);
                pages.prot.clear();
                t.update(2 * MIB, 64 * MIB);
            }
            assertThat(t.overflowed()).isZero();
            assertThat(m.dirtyPages().count()).isEqualTo(dirtyBefore);
        }
    }

    @Test
    void beyondThePoolARegionKeepsOneTwoMibPageWithItsMostPermissiveRights() {
        try (GuestMemory m = GuestMemory.allocate(2048 * MIB, BootLayout.GUEST_BASE)) {
            LongMode.writeTables(m);
            Pages pages = new Pages();
            for (long r = 2 * MIB; r < 2048 * MIB; r += 2 * MIB) {
                pages.prot.put(r, 0);
                pages.prot.put(r + PAGE, Protections.READ);
            }
            PageTables t = PageTables.build(m, pages, true);
            long regions = 2048 / 2 - 1, pool = 8 + 512 - 16 - 2;
            assertThat(t.overflowed()).isEqualTo(regions - pool);
            assertThat(t.entryFor(2 * MIB)).as("split").isZero();
            long last = 2046 * MIB;
            assertThat(t.entryFor(last) & (PRESENT | WRITABLE | HUGE)).as("not split").isEqualTo(PRESENT | WRITABLE | HUGE);
        }
    }
}
