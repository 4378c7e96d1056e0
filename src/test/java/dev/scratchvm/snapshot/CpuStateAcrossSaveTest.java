package dev.scratchvm.snapshot;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the program had in its registers when it called SAVE() is what it has when a new VMM
 * resumes it, bit for bit: a restored run prints exactly what a native run prints.
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
class CpuStateAcrossSaveTest {

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void generalPurposeAndSseRegistersSurviveBitExact(Libc libc, @TempDir Path dir) throws Exception {
        NativeRun natively = Guest.runNatively("regs", libc, Files.createDirectory(dir.resolve("native")));
        assertThat(natively.stdout()).isEqualTo("regs ok\nsave=native\n");
        String prog = Guest.install("regs", libc, dir);

        Result run = Steps.runUntilSaved(dir, "vm.img", "--trace=none", prog);
        Result restore = Steps.restore(dir, "--trace=none");

        assertThat(run.stdout()).isEmpty();
        assertThat(restore.exit()).as("%s", restore).isZero();
        assertThat(restore.stdout()).isEqualTo("regs ok\nsave=vm\n");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void avxAndAvx512RegistersSurviveBitExact(Libc libc, @TempDir Path dir) throws Exception {
        // ymm0-15, or zmm0-31 and the k0-7 mask registers: the XSAVE area beyond SSE
        NativeRun natively = Guest.runNatively("avx_save", libc, Files.createDirectory(dir.resolve("native")));
        String prog = Guest.install("avx_save", libc, dir);

        Result run = Steps.runUntilSaved(dir, "vm.img", "--trace=none", prog);
        Result restore = Steps.restore(dir, "--trace=none");

        assertThat(run.stdout()).isEmpty();
        assertThat(restore.exit()).as("%s", restore).isZero();
        // CPUID is passed through: the guest finds the host's vector extensions
        assertThat(restore.stdout()).isEqualTo(natively.stdout().replace("save=native", "save=vm"));
        System.out.print("avx_save in the VM: " + restore.stdout());
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void floatingPointStateIsTheSameAsInANativeRun(Libc libc, @TempDir Path dir) throws Exception {
        // x87 register stack and control word, MXCSR rounding mode, sticky exception flags, and
        // sums accumulated half before and half after the save
        NativeRun natively = Guest.runNatively("fpstate", libc, Files.createDirectory(dir.resolve("native")));
        assertThat(natively.stdout()).contains("fpstate ok").doesNotContain("FAIL");
        String prog = Guest.install("fpstate", libc, dir);

        Result run = Steps.runUntilSaved(dir, "vm.img", "--trace=none", prog);
        Result restore = Steps.restore(dir, "--trace=none");

        assertThat(restore.exit()).as("%s", restore).isZero();
        assertThat(run.stdout() + restore.stdout()).isEqualTo(natively.stdout());
    }
}
