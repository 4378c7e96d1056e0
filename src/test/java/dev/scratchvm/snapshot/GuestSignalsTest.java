package dev.scratchvm.snapshot;

import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Guest signal handlers run as Linux runs them (guest/tests/signals.c, compared line for line
 * with a native run of the same binary): handlers for every source (raise, kill, tgkill,
 * sigqueue, alarm, setitimer, timer_create), siginfo fields, nesting and masks, the
 * alternate stack, FPU state around a handler, interrupted calls (EINTR or SA_RESTART),
 * default actions, CPU faults turned into signals, and the signal state across a save and a
 * restore in a new VMM.
 */
@KvmTest
class GuestSignalsTest {

    @Tag(KvmTest.HARDWARE_PATH) // SYSCALL and faults enter ring 0 on VMX/SVM: the frame must be the same there
    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void handlersMasksTimersAndTheAltStackBehaveAsNatively(Libc libc, @TempDir Path dir) throws Exception {
        NativeRun natively = Guest.runNatively("signals", libc, Files.createDirectory(dir.resolve("native")));
        assertThat(natively.stdout()).endsWith("signals ok\n").doesNotContain("FAIL");
        String prog = Guest.install("signals", libc, dir);

        Result vm = VmmProcess.run(dir, "run", "--trace=none", prog);

        assertThat(vm.exit()).as("%s", vm).isZero();
        assertThat(vm.stdout()).isEqualTo(natively.stdout());
    }

    @Tag(KvmTest.HARDWARE_PATH) // SYSCALL and faults enter ring 0 on VMX/SVM: the frame must be the same there
    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void faultsGoToTheProgramsHandlersAndSiglongjmpLeavesThem(Libc libc, @TempDir Path dir) throws Exception {
        NativeRun natively = Guest.runNatively("signals", libc, Files.createDirectory(dir.resolve("native")), "segv");
        String prog = Guest.install("signals", libc, dir);

        Result vm = VmmProcess.run(dir, "run", "--trace=none", prog, "segv");

        assertThat(vm.exit()).as("%s", vm).isZero();
        assertThat(vm.stdout()).isEqualTo(natively.stdout()).contains("SEGV_MAPERR", "FPE_INTDIV", "ud2");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void aSignalWithoutHandlerEndsTheProgramWithItsStatus(Libc libc, @TempDir Path dir) {
        NativeRun natively = GuestPrograms.runNatively(GuestPrograms.build("signals", libc), dir, List.of("die"), Map.of(),
                Duration.ofSeconds(30));
        String prog = Guest.install("signals", libc, dir);

        Result vm = VmmProcess.run(dir, "run", "--trace=none", prog, "die");

        assertThat(natively.exitCode()).isEqualTo(128 + 15);
        assertThat(vm.exit()).as("%s", vm).isEqualTo(natively.exitCode());
        assertThat(vm.stderr()).contains("killed by SIGTERM");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void aHostileFrameCannotGivePrivilegedFlagsOrANonCanonicalRip(Libc libc, @TempDir Path dir) {
        NativeRun natively = GuestPrograms.runNatively(GuestPrograms.build("signals", libc), dir, List.of("badframe"),
                Map.of(), Duration.ofSeconds(30));
        String prog = Guest.install("signals", libc, dir);

        Result vm = VmmProcess.run(dir, "run", "--trace=none", prog, "badframe");

        assertThat(natively.exitCode()).isEqualTo(128 + 11);
        assertThat(vm.exit()).as("%s", vm).isEqualTo(natively.exitCode());
        assertThat(vm.stdout()).isEqualTo(natively.stdout()).contains("privileged flags");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void aBlockingReadIsMadeAgainAfterAHandlerWithSaRestart(Libc libc, @TempDir Path dir) throws Exception {
        String prog = Guest.install("signals", libc, dir);
        String natively = withOpenStdin(dir, List.of(dir.resolve(prog).toString(), "restart"));
        List<String> vm = new ArrayList<>(VmmProcess.command(List.of("run", "--trace=none", prog, "restart")));

        assertThat(natively).isEqualTo("third handler, read still waiting\n");
        assertThat(withOpenStdin(dir, vm)).isEqualTo(natively);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void withoutSaRestartTheReadFailsWithEintr(Libc libc, @TempDir Path dir) throws Exception {
        String prog = Guest.install("signals", libc, dir);
        String natively = withOpenStdin(dir, List.of(dir.resolve(prog).toString(), "eintr"));
        List<String> vm = new ArrayList<>(VmmProcess.command(List.of("run", "--trace=none", prog, "eintr")));

        assertThat(natively).isEqualTo("read returned -1 (Interrupted system call) after 1 handler(s)\n");
        assertThat(withOpenStdin(dir, vm)).isEqualTo(natively);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void aPendingAlarmAndTheMaskSurviveARestoreInANewVmm(Libc libc, @TempDir Path dir) throws Exception {
        NativeRun natively = Guest.runNatively("signals", libc, Files.createDirectory(dir.resolve("native")), "save");
        assertThat(natively.stdout()).startsWith("save=native\n").endsWith("signals ok\n");
        String prog = Guest.install("signals", libc, dir);

        Result run = Steps.runUntilSaved(dir, "vm.img", "--trace=none", prog, "save");
        Thread.sleep(2000); // longer than the alarm had left: only the time left may count, not the time away
        Result restore = Steps.restore(dir, "--trace=none");

        assertThat(run.stdout()).isEmpty();
        assertThat(restore.exit()).as("%s", restore).isZero();
        assertThat(restore.stdout()).isEqualTo(natively.stdout().replace("save=native", "save=vm"));
        assertThat(VmmProcess.run(dir, "inspect", "vm.img").stdout()).contains("version 1.2").containsPattern("signals +blocked 0x2200, 1 pending, itimer 1\\.[0-9]+ s left");
    }

    /** Runs {@code cmd} with stdin an open pipe that never delivers anything, until it exits; returns its stdout. */
    private static String withOpenStdin(Path dir, List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (OutputStream stdin = p.getOutputStream()) {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(cmd + " did not finish");
            }
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
