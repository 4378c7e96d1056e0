package dev.scratchvm.control;

import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import org.junit.jupiter.api.Tag;
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

    /**
     * Timing-bound: the guest must still be writing after three ctl processes have come and
     * gone (about a second here, tens of seconds under emulation), so not run in the test VM.
     */
    @Test
    @Tag(KvmTest.TIMING)
    void diffSnapshotsOfARunningVmMakeAChainThatRestoresAndMerges() throws Exception {
        Files.copy(GuestPrograms.build("steer", GuestPrograms.Libc.MUSL), dir.resolve("steer"), StandardCopyOption.COPY_ATTRIBUTES);
        String[] writer = {"writer", "4000", "out.txt", "300000"};
        try (VmmProcess vm = VmmProcess.start(dir, "run", "--trace=none", "--api-sock", "vm.sock", "./steer", writer[0], writer[1],
                writer[2], writer[3])) {
            awaitSocket(vm, "vm.sock");
            assertThat(ctl("vm.sock", "snapshot", "base.img", "--leave-running").stdout()).contains("(full)");
            assertThat(ctl("vm.sock", "snapshot", "d1.img", "--diff", "--leave-running").stdout()).contains("(diff)");
            assertThat(ctl("vm.sock", "status", "--json").stdout()).contains("\"state\":\"running\"");
            assertThat(ctl("vm.sock", "snapshot", "d2.img", "--diff").stdout()).contains("(diff)", "the VM has ended here");
            assertThat(vm.awaitExit()).isZero();
        }
        String inspect = VmmProcess.run(dir, "inspect", "d2.img").stdout();
        assertThat(inspect).contains("d1.img", "base.img");
        VmmProcess.Result merged = VmmProcess.run(dir, "image", "merge", "d2.img", "merged.img");
        assertThat(merged.exit()).as(merged.toString()).isZero();
        assertThat(merged.stdout()).startsWith("merged into merged.img: ");

        // The file as the last snapshot left it, for the second restore.
        Files.copy(dir.resolve("out.txt"), dir.resolve("out.at-d2"));
        String expected = dev.scratchvm.testing.GuestPrograms.runNatively(dir.resolve("steer"), dir,
                java.util.List.of("writer", "4000", "native.txt", "300000"), java.util.Map.of(), Duration.ofSeconds(120)).stdout();
        for (String image : new String[]{"d2.img", "merged.img"}) {
            Files.copy(dir.resolve("out.at-d2"), dir.resolve("out.txt"), StandardCopyOption.REPLACE_EXISTING);
            VmmProcess.Result restored = VmmProcess.run(dir, null, Duration.ofSeconds(120), java.util.List.of("restore", "--trace=none", image));
            assertThat(restored.exit()).as(restored.toString()).isZero();
            assertThat(restored.stdout()).isEqualTo(expected);
            assertThat(dir.resolve("out.txt")).hasSameTextualContentAs(dir.resolve("native.txt"));
        }
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
