package dev.scratchvm.snapshot;

import dev.scratchvm.image.ImageReader;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * signalfd reads blocked pending signals as struct signalfd_siginfo and is readable for poll,
 * select and epoll, as natively; saved with signals pending, an epoll set watching it and an
 * alarm armed, it reads them after a restore in a new VMM as an uninterrupted run does.
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
class SignalFdTest {

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void signalFdsBehaveAsNativelyAcrossASaveAndARestoreInANewVmm(Libc libc, @TempDir Path dir) throws Exception {
        NativeRun natively = Guest.runNatively("sigfd", libc, Files.createDirectory(dir.resolve("native")));
        assertThat(natively.stdout()).endsWith("sigfd: 0 failures\n");
        String prog = Guest.install("sigfd", libc, dir);

        Result run = Steps.runUntilSaved(dir, "vm.img", "--trace=none", prog);
        KernelState k;
        try (ImageReader r = ImageReader.open(dir.resolve("vm.img"))) {
            k = r.state().kernel();
        }
        Result restore = Steps.restore(dir, "--trace=none");

        assertThat(restore.exit()).as("%s", restore).isZero();
        assertThat(run.stdout() + restore.stdout()).isEqualTo(natively.stdout());
        assertThat(k.files()).filteredOn(f -> f.kind() == FileKind.SIGNALFD).hasSize(2);
        assertThat(k.signalFds()).extracting(KernelState.SignalFdState::mask)
                .containsExactlyInAnyOrder((1L << 9) | (1L << 11), 1L << 13);
        assertThat(k.signals().pending()).extracting(KernelState.PendingSignal::signal).containsExactlyInAnyOrder(12, 10);
    }
}
