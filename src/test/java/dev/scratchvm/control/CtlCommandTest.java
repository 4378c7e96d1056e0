package dev.scratchvm.control;

import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code scratchvm ctl} against VMMs started with {@code --api-sock}, as a user drives them. */
@KvmTest
class CtlCommandTest {
    @TempDir
    Path dir;

    @Test
    void anOperatorPausesSnapshotsAndStopsARunningVmThenARestoredOne() throws Exception {
        Files.copy(GuestPrograms.build("steer", GuestPrograms.Libc.MUSL), dir.resolve("steer"), StandardCopyOption.COPY_ATTRIBUTES);
        try (VmmProcess vm = VmmProcess.start(dir, "run", "--api-sock", "vm.sock", "./steer", "sleep", "600000")) {
            awaitSocket(vm, "vm.sock");
            VmmProcess.Result status = ctl("vm.sock", "status");
            assertThat(status.stdout()).startsWith("state running, memory 16 MiB, ");
            assertThat(ctl("vm.sock", "status", "--json").stdout()).startsWith("{\"state\":\"running\",\"memory_bytes\":16777216,");
            assertThat(ctl("vm.sock", "pause").stdout()).startsWith("paused in ");
            VmmProcess.Result twice = ctl("vm.sock", "pause");
            assertThat(twice.exit()).isEqualTo(75);
            assertThat(twice.stderr()).isEqualTo("scratchvm: cannot pause: the VM is paused\n");
            assertThat(ctl("vm.sock", "snapshot", "snap.img", "--leave-running").stdout())
                    .matches("snapshot .*/snap.img \\(full\\): \\d+ pages, \\d+ bytes, guest paused .* ms; the VM is running\\n");
            VmmProcess.Result stop = ctl("vm.sock", "stop");
            assertThat(stop.stdout()).as(stop + "\n" + vm).isEqualTo("stopped\n");
            assertThat(vm.awaitExit()).isEqualTo(137);
            assertThat(vm.stderrLines()).contains("scratchvm: the VM was stopped by its operator");
        }
        assertThat(dir.resolve("vm.sock")).doesNotExist();
        VmmProcess.Result gone = ctl("vm.sock", "status");
        assertThat(gone.exit()).isEqualTo(70);
        assertThat(gone.stderr()).isEqualTo("scratchvm: vm.sock: no such control socket (is a VM running with --api-sock?)\n");

        try (VmmProcess restored = VmmProcess.start(dir, "restore", "snap.img", "--api-sock", "restored.sock")) {
            awaitSocket(restored, "restored.sock");
            assertThat(ctl("restored.sock", "status").stdout()).startsWith("state running");
            assertThat(ctl("restored.sock", "snapshot", "again.img").stdout()).endsWith("the VM has ended here and lives on in the image\n");
            assertThat(restored.awaitExit()).isZero();
        }
        assertThat(dir.resolve("again.img")).isRegularFile();
    }

    private VmmProcess.Result ctl(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "ctl";
        System.arraycopy(args, 0, all, 1, args.length);
        return VmmProcess.run(dir, all);
    }

    private void awaitSocket(VmmProcess vm, String name) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!Files.exists(dir.resolve(name))) {
            assertThat(vm.isAlive()).as("the VMM is still running: %s", vm).isTrue();
            assertThat(System.nanoTime()).as("the control socket appears").isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
