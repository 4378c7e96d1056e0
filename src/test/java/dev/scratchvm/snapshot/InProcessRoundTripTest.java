package dev.scratchvm.snapshot;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.Msr;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.vmm.Machine;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bit-exact proof, without a subprocess: a machine rebuilt from an image, before it runs,
 * holds exactly the vCPU state, memory and kernel state that were captured at SAVE.
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
class InProcessRoundTripTest {
    /** IA32_TSC: the only register that moves on its own between capture and the second read. */
    private static final int MSR_TSC = 0x10;

    static Stream<Arguments> cases() {
        return Stream.of(
                // registers loaded with patterns, SSE included, live at the SAVE
                Arguments.of("guest/tests/regs.c", Libc.MUSL, ImageReader.Mode.MAP),
                Arguments.of("guest/tests/regs.c", Libc.GLIBC, ImageReader.Mode.COPY),
                // AVX-512 (or AVX) registers live at the SAVE, where the host has them
                Arguments.of("guest/tests/avx_save.c", Libc.MUSL, ImageReader.Mode.MAP),
                // an open file at an offset; glibc also keeps its TLS at the FS base
                Arguments.of("examples/lab3/app.c", Libc.MUSL, ImageReader.Mode.COPY),
                Arguments.of("examples/lab3/app.c", Libc.GLIBC, ImageReader.Mode.MAP));
    }

    @ParameterizedTest(name = "{0} ({1}), {2} restore")
    @MethodSource("cases")
    void aRestoredMachineHoldsExactlyTheSavedState(String source, Libc libc, ImageReader.Mode mode, @TempDir Path dir)
            throws Exception {
        Path binary = dir.resolve("prog");
        Files.copy(GuestPrograms.buildFile(Path.of(source), libc), binary, StandardCopyOption.COPY_ATTRIBUTES);
        Path image = dir.resolve("vm.img");

        try (Machine original = InProcessVm.bootAndRunToSave(binary, dir, 16L << 20)) {
            MachineState saved = InProcessVm.save(original, image);
            try (Machine restored = InProcessVm.restore(image, dir, mode)) {
                MachineState now = restored.capture();

                assertThat(saved.vcpu().sregs().fs().base()).as("the C library had set up TLS at the FS base").isNotZero();
                assertSameCpu(now.vcpu(), saved.vcpu());
                assertThat(now.memory()).isEqualTo(saved.memory());
                assertThat(now.kernel()).isEqualTo(saved.kernel());
                // The guest's memory, byte for byte. (The VMM's 2 MiB below it are rebuilt on restore
                // rather than taken from the image, so the accessed/dirty bits the CPU had set in
                // the page tables start clear again: see HostileImageRestoreTest.)
                long base = BootLayout.GUEST_BASE, size = restored.memory().size();
                assertThat(MemorySegment.mismatch(restored.memory().segment(), base, size, original.memory().segment(), base, size))
                        .as("first differing byte of guest memory above 2 MiB").isEqualTo(-1);
            }
        }
    }

    private static void assertSameCpu(VcpuState now, VcpuState saved) {
        assertThat(now.mpState()).as("mp_state").isEqualTo(saved.mpState());
        assertThat(now.regs()).as("general purpose registers").isEqualTo(saved.regs());
        assertThat(now.sregs()).as("special registers").isEqualTo(saved.sregs());
        assertThat(Arrays.equals(now.xsave(), saved.xsave()))
                .as("XSAVE area (x87, SSE, AVX), first difference at byte %d", Arrays.mismatch(now.xsave(), saved.xsave()))
                .isTrue();
        assertThat(now.xcrs()).as("XCRs").isEqualTo(saved.xcrs());
        assertThat(now.debug()).as("debug registers").isEqualTo(saved.debug());
        assertThat(now.events()).as("pending events").isEqualTo(saved.events());
        assertThat(now.cpuid()).as("CPUID table").isEqualTo(saved.cpuid());
        assertThat(now.tscKhz()).as("TSC frequency").isEqualTo(saved.tscKhz());
        assertThat(withoutTsc(now.msrs())).as("MSRs other than the TSC").isEqualTo(withoutTsc(saved.msrs()));
        assertThat(tsc(now.msrs())).as("the TSC continues from the saved value, it does not go back")
                .isGreaterThanOrEqualTo(tsc(saved.msrs()));
    }

    private static List<Msr> withoutTsc(List<Msr> msrs) {
        return msrs.stream().filter(m -> m.index() != MSR_TSC).toList();
    }

    private static long tsc(List<Msr> msrs) {
        return msrs.stream().filter(m -> m.index() == MSR_TSC).mapToLong(Msr::value).findFirst().orElse(0);
    }
}
