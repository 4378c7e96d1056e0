package dev.scratchvm.snapshot;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ITIMER_VIRTUAL and ITIMER_PROF count the guest's CPU time: they fire in a CPU loop and not
 * in a sleep, as natively, and the CPU time they have left is saved, not the wall time: a
 * restore two seconds later still has them fire only once the program has computed it.
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
class CpuTimersTest {

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void cpuTimersFireAsNativelyAndKeepTheirCpuTimeAcrossARestoreInANewVmm(Libc libc, @TempDir Path dir) throws Exception {
        NativeRun natively = Guest.runNatively("cputimers", libc, Files.createDirectory(dir.resolve("native")));
        assertThat(natively.stdout()).endsWith("cputimers: 0 failures\n");
        String prog = Guest.install("cputimers", libc, dir);

        Result run = Steps.runUntilSaved(dir, "vm.img", "--trace=none", prog);
        assertThat(VmmProcess.run(dir, "inspect", "vm.img").stdout())
                .containsPattern("itimer prof 0\\.[0-4][0-9]+ s of CPU left, itimer virtual 0\\.[0-3][0-9]+ s of CPU left");
        Thread.sleep(2000); // far longer than either timer had left: only CPU time may count
        Result restore = Steps.restore(dir, "--trace=none");

        assertThat(restore.exit()).as("%s", restore).isZero();
        assertThat(run.stdout() + restore.stdout()).isEqualTo(natively.stdout());
    }
}
