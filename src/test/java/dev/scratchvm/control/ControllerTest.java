package dev.scratchvm.control;

import dev.scratchvm.image.ImageReader;
import dev.scratchvm.linux.Signals;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Snapshots;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The controller pauses, resumes, snapshots and stops a guest whatever it is doing. */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
class ControllerTest {
    private static final Controller.SaveHandler NO_SAVE = m -> false;

    @TempDir
    Path dir;

    @Test
    void pausingAComputeLoopManyTimesLeavesItsResultUnchanged() throws Exception {
        try (SteerGuest guest = SteerGuest.in(dir)) {
            String expected = guest.nativeOutput(null, "compute", "30000000");
            try (Machine m = guest.boot("compute", "30000000"); Controller c = Controller.of(m, NO_SAVE).start()) {
                int pauses = 0;
                while (c.state() == Controller.State.RUNNING && pauses < 50) {
                    try {
                        c.pause();
                        assertThat(c.state()).isEqualTo(Controller.State.PAUSED);
                        c.resume();
                        pauses++;
                    } catch (ControlException e) {
                        assertThat(e.getMessage()).isEqualTo("the VM has ended"); // it finished between two pauses
                    }
                }
                assertThat(c.awaitEnd()).isEqualTo(new Controller.Ending(0, null));
                assertThat(pauses).as("pauses that found the loop running").isPositive();
            }
            assertThat(guest.output()).isEqualTo(expected);
        }
    }

    @Test
    void aVmStartedPausedRunsNothingUntilResumedThenRunsAsIfNeverPaused() throws Exception {
        try (SteerGuest guest = SteerGuest.in(dir)) {
            String expected = guest.nativeOutput(null, "compute", "3000000");
            try (Machine m = guest.boot("compute", "3000000"); Controller c = Controller.of(m, NO_SAVE).startPaused()) {
                assertThat(c.state()).isEqualTo(Controller.State.PAUSED);
                assertThat(c.status().state()).as("its operations are served while paused").isEqualTo(Controller.State.PAUSED);
                Thread.sleep(100);
                assertThat(m.syscallCount()).as("system calls made while paused").isZero();
                assertThatThrownBy(c::pause).hasMessage("cannot pause: the VM is paused");
                c.resume();
                assertThat(c.awaitEnd()).isEqualTo(new Controller.Ending(0, null));
            }
            assertThat(guest.output()).isEqualTo(expected);
        }
    }

    @Test
    void aGuestPausedInABlockingReadGoesOnReadingAfterResume() throws Exception {
        try (SteerGuest guest = SteerGuest.in(dir)) {
            try (Machine m = guest.boot("read"); Controller c = Controller.of(m, NO_SAVE).start()) {
                guest.awaitOutput("waiting for input\n");
                Thread.sleep(50); // well inside read(0)
                c.pause();
                c.resume();
                c.pause();
                c.resume();
                Files.writeString(guest.fifo, "hello\n");
                assertThat(c.awaitEnd().exitStatus()).isZero();
                assertThat(m.syscallCount()).as("read was made again after each pause").isGreaterThan(3);
            }
            assertThat(guest.output()).isEqualTo("waiting for input\nread 6 bytes: hello\n");
        }
    }

    @Test
    void theStartIsAnnouncedWhileTheGuestRunsNotAtItsFirstExit() throws Exception {
        try (SteerGuest guest = SteerGuest.in(dir)) {
            java.util.concurrent.CompletableFuture<Long> started = new java.util.concurrent.CompletableFuture<>();
            long before = java.time.Instant.now().toEpochMilli();
            try (Machine m = guest.boot("read");
                 Controller c = Controller.of(m, NO_SAVE).listen(e -> {
                     if (e instanceof Controller.Event.Started s) started.complete(s.epochNanos());
                 }).start()) {
                guest.awaitOutput("waiting for input\n");
                assertThat(started).as("announced while the guest waits in read(0)").isDone();
                assertThat(started.get() / 1_000_000).isBetween(before, java.time.Instant.now().toEpochMilli());
                Files.writeString(guest.fifo, "hello\n");
                assertThat(c.awaitEnd().exitStatus()).isZero();
            }
        }
    }

    /** Snapshot while the guest waits, restore in a new VMM process: the output is that of an uninterrupted run. */
    @ParameterizedTest(name = "steer {0} {1}")
    @CsvSource({"read, ''", "sleep, 1200", "futex, 1200"})
    void aGuestSnapshottedWhileBlockedFinishesInANewProcessLikeAnUninterruptedRun(String mode, String arg) throws Exception {
        String[] args = arg.isEmpty() ? new String[]{mode} : new String[]{mode, arg};
        byte[] input = "from the new VMM\n".getBytes(StandardCharsets.US_ASCII);
        try (SteerGuest guest = SteerGuest.in(dir)) {
            String expected = guest.nativeOutput(input, args);
            Path image = dir.resolve("vm.img");
            try (Machine m = guest.boot(args); Controller c = Controller.of(m, NO_SAVE).start()) {
                guest.awaitOutput("\n");
                Thread.sleep(200);
                Controller.Snapshotted s = c.snapshot(image, Snapshots.Kind.FULL, false);
                assertThat(s.after()).isEqualTo(Controller.State.EXITED);
                assertThat(c.awaitEnd()).isEqualTo(new Controller.Ending(0, null));
            }
            String before = guest.output();
            VmmProcess.Result restored = VmmProcess.runWithInput(dir, input, "restore", "vm.img");
            assertThat(restored.exit()).as(restored.stderr()).isZero();
            assertThat(before + restored.stdout()).isEqualTo(expected);
        }
    }

    @Test
    void anInterruptedSleepIsSavedWithTheTimeItHadLeft() throws Exception {
        try (SteerGuest guest = SteerGuest.in(dir)) {
            Path image = dir.resolve("vm.img");
            long slept;
            try (Machine m = guest.boot("sleep", "5000"); Controller c = Controller.of(m, NO_SAVE).start()) {
                guest.awaitOutput("sleeping");
                long start = System.nanoTime();
                Thread.sleep(1000);
                c.snapshot(image, Snapshots.Kind.FULL, false);
                slept = System.nanoTime() - start;
            }
            KernelState.Restart restart;
            try (ImageReader reader = ImageReader.open(image)) {
                restart = reader.state().kernel().restart();
            }
            assertThat(restart).isNotNull();
            assertThat(restart.call()).isEqualTo(35); // nanosleep
            // The sleep began just after the guest printed (well within 0.5 s, even under emulation) and
            // the test waited a second before the snapshot: what is left is 5 s less about that second.
            assertThat(restart.remainingNanos()).isBetween(5_000_000_000L - slept - 50_000_000L, 4_500_000_000L);
        }
    }

    @Test
    void operationsThatDoNotFitTheStateAreRefusedWithAReason() throws Exception {
        try (SteerGuest guest = SteerGuest.in(dir); Machine m = guest.boot("read")) {
            Controller c = Controller.of(m, NO_SAVE);
            assertThatThrownBy(c::pause).isInstanceOf(ControlException.class).hasMessage("the VM has not started");
            c.start();
            assertThatThrownBy(c::resume).hasMessage("cannot resume: the VM is running");
            c.pause();
            assertThatThrownBy(c::pause).hasMessage("cannot pause: the VM is paused");
            c.stop();
            assertThat(c.awaitEnd()).isEqualTo(new Controller.Ending(128 + Signals.SIGKILL, "scratchvm: the VM was stopped by its operator"));
            assertThatThrownBy(c::resume).hasMessage("the VM has ended");
            assertThatThrownBy(() -> c.snapshot(dir.resolve("x.img"), Snapshots.Kind.FULL, false)).hasMessage("the VM has ended");
            c.close();
        }
    }

    @Test
    void aSnapshotThatCannotBeWrittenChangesNothing() throws Exception {
        try (SteerGuest guest = SteerGuest.in(dir)) {
            try (Machine m = guest.boot("read"); Controller c = Controller.of(m, NO_SAVE).start()) {
                guest.awaitOutput("waiting");
                Path nowhere = dir.resolve("no/such/dir/vm.img");
                assertThatThrownBy(() -> c.snapshot(nowhere, Snapshots.Kind.FULL, false))
                        .isInstanceOf(ControlException.class).hasMessageContaining("no/such/dir");
                assertThat(c.state()).isEqualTo(Controller.State.RUNNING);
                Files.writeString(guest.fifo, "still here\n");
                assertThat(c.awaitEnd().exitStatus()).isZero();
            }
            assertThat(guest.output()).endsWith("read 11 bytes: still here\n");
        }
    }
}
