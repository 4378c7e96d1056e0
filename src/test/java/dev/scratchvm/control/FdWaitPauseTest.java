package dev.scratchvm.control;

import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.linux.Stdio;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.Outcome;
import dev.scratchvm.vmm.Snapshots;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * "fdwait pause" blocks in poll (timed), epoll_wait (without limit, woken by a timerfd),
 * select (timed) and a blocking timerfd read. Paused and resumed meanwhile, or snapshotted
 * and restored in a fresh VM, it reports what an uninterrupted native run reports: each wait
 * ends when its own timeout or timer says, with the right result.
 */
@KvmTest
@Tag(KvmTest.TIMING) // the guest checks that its waits end on time: meaningless under emulation
class FdWaitPauseTest {
    private static final Controller.SaveHandler NO_SAVE = m -> false;
    private static final long MEMORY = 16L << 20;

    @TempDir
    Path dir;

    private String nativeOutput() {
        var run = GuestPrograms.runNatively(GuestPrograms.build("fdwait", GuestPrograms.Libc.MUSL), dir, List.of("pause"),
                Map.of(), null, Duration.ofSeconds(60));
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        return run.stdout();
    }

    private Stdio stdio(Path out) {
        int in = Libc.check("open /dev/null", Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC, 0));
        int fd = Libc.check("open stdout", Libc.open(out.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_APPEND
                | Libc.O_CLOEXEC, 0644));
        return new Stdio(in, fd, fd);
    }

    private MachineConfig config(Stdio stdio) {
        return new MachineConfig(MEMORY, dir, new Trace(Trace.Level.NONE, System.err, ""), false, stdio);
    }

    private Machine boot(Stdio stdio) throws Exception {
        return boot(stdio, "pause");
    }

    private Machine boot(Stdio stdio, String... mode) throws Exception {
        Path binary = dir.resolve("fdwait");
        Files.copy(GuestPrograms.build("fdwait", GuestPrograms.Libc.MUSL), binary, StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.COPY_ATTRIBUTES);
        ElfImage elf = ElfImage.parse(Files.readAllBytes(binary), "fdwait");
        return Machine.boot(config(stdio), elf, java.util.stream.Stream.concat(java.util.stream.Stream.of("./fdwait"),
                java.util.Arrays.stream(mode)).toList(), List.of(), "./fdwait", new byte[16]);
    }

    private static void close(Stdio stdio) {
        Libc.close(stdio.in());
        Libc.close(stdio.out());
    }

    private static void awaitOutput(Path out, String text) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!Files.exists(out) || !Files.readString(out).contains(text)) {
            if (System.nanoTime() > deadline) throw new AssertionError("the guest never printed '" + text + "'");
            Thread.sleep(5);
        }
    }

    @Test
    void pausesDuringBlockingWaitsLeaveEveryWaitEndingAsItWould() throws Exception {
        String expected = nativeOutput();
        Path out = dir.resolve("paused.txt");
        Stdio stdio = stdio(out);
        try (Machine m = boot(stdio); Controller c = Controller.of(m, NO_SAVE).start()) {
            awaitOutput(out, "waiting\n");
            int pauses = 0;
            while (c.state() == Controller.State.RUNNING) {
                Thread.sleep(90);
                try {
                    c.pause();
                    c.resume();
                    pauses++;
                } catch (ControlException e) {
                    assertThat(e.getMessage()).isEqualTo("the VM has ended");
                }
            }
            assertThat(c.awaitEnd()).isEqualTo(new Controller.Ending(0, null));
            assertThat(pauses).as("pauses that found the guest waiting").isGreaterThan(10);
            assertThat(m.syscallCount()).as("each pause made the wait start again").isGreaterThan(pauses);
        } finally {
            close(stdio);
        }
        assertThat(Files.readString(out)).isEqualTo(expected);
    }

    /** Standard input is a host fd: epoll and poll wait for it through the host, and a pause changes nothing. */
    @Test
    void epollAndPollWaitOnStandardInputThroughTheHost() throws Exception {
        Path fifo = dir.resolve("stdin.fifo");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor()).isZero();
        // O_RDWR: the open does not wait for a writer, and the guest never sees the FIFO's writer go away.
        int in = Libc.check("open fifo", Libc.open(fifo.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0));
        Path out = dir.resolve("stdin.txt");
        Stdio files = stdio(out);
        Stdio stdio = new Stdio(in, files.out(), files.err());
        try (Machine m = boot(stdio, "stdin"); Controller c = Controller.of(m, NO_SAVE).start()) {
            awaitOutput(out, "waiting for input\n");
            Thread.sleep(100);
            c.pause();
            c.resume();
            Files.writeString(fifo, "hello\n");
            awaitOutput(out, "poll with nothing more: 0\n");
            Thread.sleep(100);
            c.pause();
            c.resume();
            Files.writeString(fifo, "world\n");
            assertThat(c.awaitEnd()).isEqualTo(new Controller.Ending(0, null));
        } finally {
            close(files);
            Libc.close(in);
        }
        assertThat(Files.readString(out)).isEqualTo("""
                waiting for input
                epoll_wait: 1 event(s), data 100, events 1
                read 6 bytes: hello
                poll with nothing more: 0
                poll: 1, revents 1
                read 6 bytes: world
                """);
    }

    /**
     * A single-threaded guest reading an empty pipe, or writing a full one, waits for ever (as
     * on Linux); a pause still gets in, and a snapshot then holds the pipe and the guest about
     * to make the same call again.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource({"read, 0, 0", "write, 1, 65536"})
    void aBlockingPipeCallThatCanNeverFinishStillLetsAPauseIn(String how, long nr, int bytes) throws Exception {
        Path out = dir.resolve(how + ".txt");
        Path image = dir.resolve(how + ".img");
        Stdio stdio = stdio(out);
        try (Machine m = boot(stdio, "block", how); Controller c = Controller.of(m, NO_SAVE).start()) {
            awaitOutput(out, "blocking in " + how + " with " + bytes + " bytes in the pipe\n");
            Thread.sleep(100);
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                c.pause();
                c.resume();
                assertThat(c.snapshot(image, Snapshots.Kind.FULL, false).after()).isEqualTo(Controller.State.EXITED);
            });
            c.awaitEnd();
        } finally {
            close(stdio);
        }
        try (ImageReader reader = ImageReader.open(image)) {
            var state = reader.state();
            assertThat(state.vcpu().regs().rax()).as("about to make the %s again", how).isEqualTo(nr);
            assertThat(state.kernel().pipes()).singleElement().satisfies(p ->
                    assertThat(p.buffers().stream().mapToInt(b -> b.data().length).sum()).isEqualTo(bytes));
        }
        assertThat(Files.readString(out)).doesNotContain("never here");
    }

    @Test
    void aSnapshotDuringATimedPollFinishesInAFreshVmWithTheTimeThatWasLeft() throws Exception {
        String expected = nativeOutput();
        Path out = dir.resolve("snapshot.txt");
        Path image = dir.resolve("vm.img");
        Stdio stdio = stdio(out);
        try {
            try (Machine m = boot(stdio); Controller c = Controller.of(m, NO_SAVE).start()) {
                awaitOutput(out, "waiting\n");
                Thread.sleep(300); // well inside the 1200 ms poll
                assertThat(c.snapshot(image, Snapshots.Kind.FULL, false).after()).isEqualTo(Controller.State.EXITED);
                c.awaitEnd();
            }
            KernelState.Restart restart;
            try (ImageReader reader = ImageReader.open(image)) {
                restart = reader.state().kernel().restart();
                assertThat(restart).as("poll is finished by restart_syscall").isNotNull();
                assertThat(restart.call()).isEqualTo(7);
                assertThat(restart.remainingNanos()).isBetween(1L, 1_000_000_000L);
                try (Machine restored = Machine.restore(config(stdio), reader.state(),
                        memory -> reader.restoreMemory(memory.segment(), ImageReader.Mode.COPY))) {
                    assertThat(restored.run()).isEqualTo(new Outcome.Exited(0));
                }
            }
        } finally {
            close(stdio);
        }
        assertThat(Files.readString(out)).isEqualTo(expected);
    }

    @Test
    void aSnapshotDuringAnEpollWaitOnATimerfdFinishesInAFreshVm() throws Exception {
        String expected = nativeOutput();
        Path out = dir.resolve("epoll.txt");
        Path image = dir.resolve("vm.img");
        Stdio stdio = stdio(out);
        try {
            try (Machine m = boot(stdio); Controller c = Controller.of(m, NO_SAVE).start()) {
                awaitOutput(out, "poll: ");
                Thread.sleep(300); // inside the epoll_wait, the timer 1000 ms away
                c.snapshot(image, Snapshots.Kind.FULL, false);
                c.awaitEnd();
            }
            try (ImageReader reader = ImageReader.open(image)) {
                KernelState k = reader.state().kernel();
                assertThat(k.restart()).as("an unlimited epoll_wait is simply made again").isNull();
                assertThat(k.timerFds()).singleElement().satisfies(t -> assertThat(t.remainingNanos()).isBetween(1L, 800_000_000L));
                assertThat(k.epolls()).singleElement().satisfies(e -> assertThat(e.entries()).hasSize(2));
                try (Machine restored = Machine.restore(config(stdio), reader.state(),
                        memory -> reader.restoreMemory(memory.segment(), ImageReader.Mode.COPY))) {
                    assertThat(restored.run()).isEqualTo(new Outcome.Exited(0));
                }
            }
        } finally {
            close(stdio);
        }
        assertThat(Files.readString(out)).isEqualTo(expected);
    }
}
