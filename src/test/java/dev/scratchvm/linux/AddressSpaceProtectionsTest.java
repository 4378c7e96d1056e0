package dev.scratchvm.linux;

import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.memory.Protections;
import dev.scratchvm.sys.Errno;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.scratchvm.memory.Protections.EXEC;
import static dev.scratchvm.memory.Protections.READ;
import static dev.scratchvm.memory.Protections.UNMAPPED;
import static dev.scratchvm.memory.Protections.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the address space tells the page tables: holes in the mmap area are unmapped, mappings
 * have their rights, the image, heap and stack keep theirs; which changes take accesses away.
 */
class AddressSpaceProtectionsTest {
    private static final long MIB = 1 << 20, PAGE = 4096, IMAGE_END = 4 * MIB, TOP = 14 * MIB;

    private static AddressSpace space(GuestMemory m) {
        return new AddressSpace(m, IMAGE_END, IMAGE_END, IMAGE_END, TOP, List.of());
    }

    @Test
    void holesAreUnmappedAndTheImageHeapAndStackKeepAllRights() {
        try (GuestMemory m = GuestMemory.allocate(16 * MIB, 2 * MIB)) {
            AddressSpace s = space(m);
            assertThat(s.protectionAt(3 * MIB)).as("program image").isEqualTo(READ | WRITE | EXEC);
            assertThat(s.protectionAt(IMAGE_END)).as("above the break").isEqualTo(UNMAPPED);
            assertThat(s.protectionAt(TOP)).as("guard page").isEqualTo(UNMAPPED);
            assertThat(s.protectionAt(TOP + PAGE)).as("stack").isEqualTo(READ | WRITE | EXEC);
            assertThat(s.protectionAt(PAGE)).as("the VMM's pages").isEqualTo(UNMAPPED);

            s.setBrk(IMAGE_END + 2 * PAGE);
            assertThat(s.protectionAt(IMAGE_END + PAGE)).as("heap").isEqualTo(READ | WRITE | EXEC);
            assertThat(s.takeChanged()).isEqualTo(new ProtectionChange(IMAGE_END, IMAGE_END + 2 * PAGE, false));
            s.setBrk(IMAGE_END);
            assertThat(s.protectionAt(IMAGE_END + PAGE)).isEqualTo(UNMAPPED);
            assertThat(s.takeChanged().reduced()).as("a shrinking heap takes pages away").isTrue();
        }
    }

    @Test
    void mprotectSplitsAndJoinsMappingsAndOnlyReductionsNeedAFlush() {
        try (GuestMemory m = GuestMemory.allocate(16 * MIB, 2 * MIB)) {
            AddressSpace s = space(m);
            long a = 8 * MIB;
            s.map(a, 3 * PAGE, READ | WRITE);
            assertThat(s.takeChanged()).as("a fresh mapping only adds").isEqualTo(new ProtectionChange(a, a + 3 * PAGE, false));

            assertThat(s.protect(a + PAGE, PAGE, 0)).isZero();
            assertThat(s.mappings()).hasSize(3);
            assertThat(s.protectionAt(a + PAGE)).isZero();
            assertThat(s.allows(a, PAGE, true)).isTrue();
            assertThat(s.allows(a, 2 * PAGE, false)).as("reaches the PROT_NONE page").isFalse();
            assertThat(s.readablePrefix(a + 100, 2 * PAGE)).isEqualTo(PAGE - 100);
            assertThat(s.takeChanged().reduced()).isTrue();

            assertThat(s.protect(a + PAGE, PAGE, READ | WRITE)).isZero();
            assertThat(s.mappings()).as("joined again, as Linux merges areas").hasSize(1);
            assertThat(s.takeChanged().reduced()).isFalse();

            assertThat(s.protect(a, PAGE, READ)).isZero();
            assertThat(s.allows(a, 8, false)).isTrue();
            assertThat(s.allows(a, 8, true)).isFalse();

            assertThat(s.protect(a + 3 * PAGE, PAGE, READ)).as("a hole").isEqualTo(-Errno.ENOMEM);
            assertThat(s.protect(3 * MIB, PAGE, READ)).as("the program image: no effect").isZero();
            assertThat(s.protectionAt(3 * MIB)).isEqualTo(READ | WRITE | EXEC);

            s.takeChanged();
            s.unmap(a + 2 * PAGE, PAGE);
            assertThat(s.protectionAt(a + 2 * PAGE)).isEqualTo(UNMAPPED);
            assertThat(s.takeChanged().reduced()).isTrue();
        }
    }

    @Test
    void theFaultCodeComesFromTheMappingNotFromThePageTables() {
        try (GuestMemory m = GuestMemory.allocate(16 * MIB, 2 * MIB)) {
            AddressSpace s = space(m);
            s.map(8 * MIB, PAGE, 0);
            assertThat(Protections.accessible(s.protectionAt(8 * MIB))).isFalse();
            assertThat(s.protectionAt(8 * MIB)).as("PROT_NONE, yet mapped: SEGV_ACCERR").isNotEqualTo(UNMAPPED);
        }
    }
}
