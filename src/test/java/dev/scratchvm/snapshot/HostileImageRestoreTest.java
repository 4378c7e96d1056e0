package dev.scratchvm.snapshot;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.boot.LongMode;
import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.image.ImageWriter;
import dev.scratchvm.image.PageFilter;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.VcpuEvents;
import dev.scratchvm.testing.HostileStates;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.TestFiles;
import dev.scratchvm.vmm.Machine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;

import static dev.scratchvm.snapshot.Guest.LAB_FILE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * A real VM image whose STATE section is re-encoded with hostile values (and correct
 * checksums) is refused before anything is built, with one line naming the field; the same
 * states handed to the machine directly, as a migration would, are refused too; the lab
 * program's file is never touched; the VMM's own pages are rebuilt rather than taken from the
 * image; and the undamaged image still restores.
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH) // the rules' masks must accept what VMX/SVM report as well
class HostileImageRestoreTest {
    private static Path dir;
    private static MachineState saved;
    private static MemorySegment memory;
    private static Arena arena;
    private static Guest.FileState labFile;

    @BeforeAll
    static void saveTheLabProgram() throws Exception {
        dir = Files.createTempDirectory("hostile-restore");
        saved = InProcessVm.saveLabProgram(dir);
        arena = Arena.ofShared();
        memory = arena.allocate(saved.memory().size(), 4096);
        try (ImageReader r = ImageReader.open(dir.resolve("vm.img"))) {
            r.restoreMemory(memory, ImageReader.Mode.COPY);
        }
        labFile = Guest.FileState.of(dir.resolve(LAB_FILE));
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (arena != null) arena.close();
        TestFiles.deleteTree(dir);
    }

    @Test
    void every_hostile_state_in_a_real_image_is_refused_by_restore_naming_the_field() throws Exception {
        List<HostileStates.Case> cases = HostileStates.of(saved);
        int tried = 0;
        for (HostileStates.Case c : cases) {
            Path image = write(c.state());
            if (image == null) continue;
            Throwable refusal = catchThrowable(() -> InProcessVm.restore(image, dir, ImageReader.Mode.MAP).close());
            assertThat(refusal).as(c.toString()).isInstanceOf(ImageException.class);
            assertThat(refusal.getMessage()).as(c.toString()).startsWith(image + ": image refused: ").contains(c.field())
                    .doesNotContain("\n");
            tried++;
        }
        assertThat(tried).isGreaterThanOrEqualTo(300);
        labFile.assertUnchanged(dir.resolve(LAB_FILE));
    }

    @Test
    void the_machine_refuses_them_too_whatever_the_state_came_from() {
        for (HostileStates.Case c : HostileStates.of(saved)) {
            Throwable refusal = catchThrowable(() -> Machine.restore(InProcessVm.config(dir, 0), c.state(),
                    m -> { throw new AssertionError("nothing may be loaded for " + c); }).close());
            assertThat(refusal).as(c.toString()).isInstanceOf(Machine.RestoreException.class)
                    .hasMessageStartingWith("saved state refused: ").hasMessageContaining(c.field());
        }
    }

    @Test
    void an_image_asking_for_system_management_mode_is_refused_instead_of_hanging() {
        VcpuState v = saved.vcpu();
        VcpuEvents e = v.events();
        VcpuEvents smm = new VcpuEvents(e.exceptionInjected(), e.exceptionNr(), e.exceptionHasErrorCode(), e.exceptionPending(),
                e.exceptionErrorCode(), e.interruptInjected(), e.interruptNr(), e.interruptSoft(), e.interruptShadow(),
                e.nmiInjected(), e.nmiPending(), e.nmiMasked(), e.sipiVector(), e.flags() | 8, 1, e.smiPending(),
                e.smiInsideNmi(), e.smiLatchedInit(), e.tripleFaultPending(), e.exceptionHasPayload(), e.exceptionPayload());
        Path image = write(new MachineState(new VcpuState(v.mpState(), v.regs(), v.sregs(), v.xsave(), v.xcrs(), v.debug(),
                v.msrs(), smm, v.cpuid(), v.tscKhz()), saved.memory(), saved.kernel()));

        assertTimeoutPreemptively(Duration.ofSeconds(20), () ->
                assertThatThrownBy(() -> InProcessVm.restore(image, dir, ImageReader.Mode.COPY).close())
                        .isInstanceOf(ImageException.class).hasMessageContaining("vCPU events.smi_smm is 1"));
    }

    @Test
    void the_image_as_saved_still_restores_and_runs_to_the_end() throws Exception {
        Path copy = Files.createTempDirectory(dir, "good");
        Files.copy(dir.resolve("app"), copy.resolve("app"));
        Files.copy(dir.resolve(LAB_FILE), copy.resolve(LAB_FILE), StandardCopyOption.COPY_ATTRIBUTES);
        Path image = Files.copy(dir.resolve("vm.img"), copy.resolve("vm.img"));
        try (Machine m = InProcessVm.restore(image, copy, ImageReader.Mode.MAP)) {
            assertThat(m.run()).hasToString("Exited[status=0]");
        }
        assertThat(Guest.read(copy.resolve(LAB_FILE))).isEqualTo(Guest.LAB_BOTH);
    }

    @Test
    void the_vmm_pages_in_an_image_are_not_used_but_rebuilt_from_the_state() throws Exception {
        // Page tables, GDT, TSS, IDT and stubs all garbage: used as they are, the first system
        // call or page walk would go wrong; a PDPT entry beyond guest memory survives too unless
        // everything is cleared. What is rebuilt is boot's tables with the program's part derived
        // from the saved mappings: the same as a restore of the untouched image gives.
        Path copy = Files.createTempDirectory(dir, "vmm-pages");
        Files.copy(dir.resolve("app"), copy.resolve("app"));
        Files.copy(dir.resolve(LAB_FILE), copy.resolve(LAB_FILE), StandardCopyOption.COPY_ATTRIBUTES);
        Path image = copy.resolve("vm.img");
        Path intact = Files.createTempDirectory(dir, "intact");
        Files.copy(dir.resolve("app"), intact.resolve("app"));
        Files.copy(dir.resolve(LAB_FILE), intact.resolve(LAB_FILE), StandardCopyOption.COPY_ATTRIBUTES);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment hostile = a.allocate(memory.byteSize(), 4096);
            MemorySegment.copy(memory, 0, hostile, 0, memory.byteSize());
            hostile.asSlice(0x1000, BootLayout.GUEST_BASE - 0x1000).fill((byte) 0xa5);
            ImageWriter.write(image, saved, hostile, PageFilter.ALL);
            ImageWriter.write(intact.resolve("vm.img"), saved, memory, PageFilter.ALL);
        }
        try (Machine m = InProcessVm.restore(image, copy, ImageReader.Mode.MAP);
             Machine expected = InProcessVm.restore(intact.resolve("vm.img"), intact, ImageReader.Mode.MAP);
             GuestMemory boot = GuestMemory.allocate(saved.memory().size(), BootLayout.GUEST_BASE)) {
            MemorySegment low = m.memory().segment().asSlice(0, BootLayout.GUEST_BASE);
            assertThat(low.mismatch(expected.memory().segment().asSlice(0, BootLayout.GUEST_BASE)))
                    .as("first differing byte").isEqualTo(-1);
            // Outside the page directories and page tables, exactly boot's pages.
            LongMode.writeTables(boot);
            MemorySegment bootLow = boot.segment().asSlice(0, BootLayout.GUEST_BASE);
            assertThat(low.asSlice(0, BootLayout.STACK_GUARD_PT).mismatch(bootLow.asSlice(0, BootLayout.STACK_GUARD_PT)))
                    .as("first differing byte below the page-table pool").isEqualTo(-1);

            assertThat(m.run()).hasToString("Exited[status=0]");
        }
        assertThat(Guest.read(copy.resolve(LAB_FILE))).isEqualTo(Guest.LAB_BOTH);
    }

    /** The image ScratchVM would write for {@code state} with the saved memory; null when the writer refuses the state itself. */
    private static Path write(MachineState state) {
        Path image = dir.resolve("hostile.img");
        if (state.memory().size() != saved.memory().size()) {
            if (state.memory().size() > (64L << 30)) return null;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment resized = a.allocate(state.memory().size(), 4096);
                MemorySegment.copy(memory, 0, resized, 0, Math.min(resized.byteSize(), memory.byteSize()));
                ImageWriter.write(image, state, resized, PageFilter.ALL);
                return image;
            } catch (ImageException e) {
                throw new AssertionError(e);
            }
        }
        try {
            ImageWriter.write(image, state, memory, PageFilter.ALL);
            return image;
        } catch (IllegalArgumentException unencodable) {
            return null; // e.g. a NUL in a path: the codec refuses to write it, and to read it
        } catch (ImageException e) {
            throw new AssertionError(e);
        }
    }
}
