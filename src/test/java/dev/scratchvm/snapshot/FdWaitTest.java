package dev.scratchvm.snapshot;

import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.linux.Stdio;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.EpollEntry;
import dev.scratchvm.state.KernelState.PipeState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Outcome;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * guest/tests/fdwait.c: pipes, eventfds, timerfds and poll/select/epoll behave as on Linux,
 * and a VM saved holding a pipe with unread bytes, an eventfd counter, an armed periodic
 * timerfd and an epoll set goes on in a fresh VM (same JVM) exactly as an uninterrupted
 * native run does.
 */
@KvmTest
@Tag(KvmTest.TIMING) // the guest checks that its waits end on time: meaningless under emulation
class FdWaitTest {
    private static final long EPOLLONESHOT = 1 << 30, EPOLLET = 1L << 31;

    @ParameterizedTest(name = "{0}")
    @EnumSource(GuestPrograms.Libc.class)
    void waitObjectsSurviveASaveAndARestoreInAFreshVm(GuestPrograms.Libc libc, @TempDir Path dir) throws Exception {
        Path nativeDir = Files.createDirectory(dir.resolve("native"));
        NativeRun natively = Guest.runNatively("fdwait", libc, nativeDir);
        assertThat(natively.stdout()).endsWith("fdwait: all ok (0 failures)\n");

        Path vmDir = Files.createDirectory(dir.resolve("vm"));
        Path binary = vmDir.resolve("fdwait");
        Files.copy(GuestPrograms.build("fdwait", libc), binary, StandardCopyOption.COPY_ATTRIBUTES);
        Path out = vmDir.resolve("stdout.txt");
        int in = Libc.check("open /dev/null", Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC, 0));
        int fd = Libc.check("open stdout", Libc.open(out.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644));
        try {
            Stdio stdio = new Stdio(in, fd, fd);
            Path image = vmDir.resolve("vm.img");
            MachineState saved;
            try (Machine m = InProcessVm.bootAndRunToSave(binary, vmDir, 16L << 20, stdio)) {
                saved = InProcessVm.save(m, image);
            }
            assertSavedObjects(saved.kernel());
            try (Machine restored = InProcessVm.restore(image, vmDir, ImageReader.Mode.COPY, stdio)) {
                // Before the guest runs, the restored kernel is the saved one: pipe pages, counters, and the
                // timer's remaining time, which only starts counting down when the guest runs again.
                assertThat(restored.capture().kernel()).isEqualTo(saved.kernel());
                assertThat(restored.run()).isEqualTo(new Outcome.Exited(0));
            }
        } finally {
            Libc.close(in);
            Libc.close(fd);
        }
        assertThat(Files.readString(out, StandardCharsets.UTF_8)).isEqualTo(natively.stdout());
    }

    /** "fdwait edges" prints raw results of corner cases (errnos, event masks): they must be Linux's. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(GuestPrograms.Libc.class)
    void cornerCasesGiveWhatLinuxGives(GuestPrograms.Libc libc, @TempDir Path dir) throws Exception {
        NativeRun natively = Guest.runNatively("fdwait", libc, dir, "edges");
        assertThat(natively.stdout()).contains("eventfd write 16 bytes: -1 Invalid argument");
        Path binary = dir.resolve("fdwait");
        Files.copy(GuestPrograms.build("fdwait", libc), binary, StandardCopyOption.COPY_ATTRIBUTES);
        Path out = dir.resolve("stdout.txt");
        int in = Libc.check("open /dev/null", Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC, 0));
        int fd = Libc.check("open stdout", Libc.open(out.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644));
        try (Machine m = Machine.boot(InProcessVm.config(dir, 16L << 20, new Stdio(in, fd, fd)),
                ElfImage.parse(Files.readAllBytes(binary), "fdwait"), List.of("./fdwait", "edges"), List.of(), "./fdwait",
                new byte[16])) {
            assertThat(m.run()).isEqualTo(new Outcome.Exited(0));
        } finally {
            Libc.close(in);
            Libc.close(fd);
        }
        assertThat(Files.readString(out, StandardCharsets.UTF_8)).isEqualTo(natively.stdout());
    }

    /** 17 MiB of unread pipe bytes do not fit a STATE (16 MiB): the SAVE fails with EIO, nothing is written, the guest goes on. */
    @org.junit.jupiter.api.Test
    void moreUnreadPipeBytesThanAStateHoldsFailTheSaveCleanly(@TempDir Path dir) throws Exception {
        Path binary = dir.resolve("fdwait");
        Files.copy(GuestPrograms.build("fdwait", GuestPrograms.Libc.MUSL), binary, StandardCopyOption.COPY_ATTRIBUTES);
        Path out = dir.resolve("stdout.txt"), image = dir.resolve("vm.img");
        int in = Libc.check("open /dev/null", Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC, 0));
        int fd = Libc.check("open stdout", Libc.open(out.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644));
        try (Machine m = Machine.boot(InProcessVm.config(dir, 16L << 20, new Stdio(in, fd, fd)),
                ElfImage.parse(Files.readAllBytes(binary), "fdwait"), List.of("./fdwait", "overfull"), List.of(), "./fdwait",
                new byte[16])) {
            assertThat(m.run()).isEqualTo(new Outcome.SaveRequested());
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> dev.scratchvm.vmm.Snapshots.save(m, image,
                            dev.scratchvm.vmm.Snapshots.Kind.FULL))
                    .isInstanceOf(dev.scratchvm.image.ImageException.class)
                    .hasMessageStartingWith(image + ": not saved: cannot encode state: encoded size 17")
                    .hasMessageEndingWith(" bytes exceeds the limit of 16777216");
            m.failSave(dev.scratchvm.sys.Errno.EIO);
            assertThat(m.run()).isEqualTo(new Outcome.Exited(0));
        } finally {
            Libc.close(in);
            Libc.close(fd);
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no image, no temporary file")
                    .containsExactlyInAnyOrder("fdwait", "stdout.txt");
        }
        assertThat(Files.readString(out)).isEqualTo("buffered 17825792 bytes\nSAVE: refused with EIO\n");
    }

    /** The guest's pipes hold at most 64 MiB, as an unprivileged user's do on Linux (natively this runs as root). */
    @org.junit.jupiter.api.Test
    void pipesHoldAtMostWhatAnUnprivilegedUsersMay(@TempDir Path dir) throws Exception {
        Path binary = dir.resolve("fdwait");
        Files.copy(GuestPrograms.build("fdwait", GuestPrograms.Libc.MUSL), binary, StandardCopyOption.COPY_ATTRIBUTES);
        Path out = dir.resolve("stdout.txt");
        int in = Libc.check("open /dev/null", Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC, 0));
        int fd = Libc.check("open stdout", Libc.open(out.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644));
        try (Machine m = Machine.boot(InProcessVm.config(dir, 16L << 20, new Stdio(in, fd, fd)),
                ElfImage.parse(Files.readAllBytes(binary), "fdwait"), List.of("./fdwait", "budget"), List.of(), "./fdwait",
                new byte[16])) {
            assertThat(m.run()).isEqualTo(new Outcome.Exited(0));
        } finally {
            Libc.close(in);
            Libc.close(fd);
        }
        // 64 pipes of 256 pages are the 16384 pages; the 65th starts with 2 pages and may not grow until one is closed.
        assertThat(Files.readString(out)).isEqualTo("""
                grown to 1 MiB: 64 pipes, then Operation not permitted
                the next pipe holds 8192 bytes
                with one pipe closed: 1048576
                """);
    }

    /** What the image holds at the SAVE in across_save(). */
    private static void assertSavedObjects(KernelState k) {
        assertThat(k.pipes()).singleElement().satisfies(p -> {
            assertThat(p.readFile()).isNotEqualTo(-1);
            assertThat(p.writeFile()).isNotEqualTo(-1);
            // 13 bytes, then 5000: its last 904 go on in the first page, 4096 take a second one
            assertThat(p.buffers()).extracting(b -> b.data().length).containsExactly(917, 4096);
            assertThat(p.pages()).as("F_SETPIPE_SZ 131072").isEqualTo(32);
            assertThat(new String(p.buffers().getFirst().data(), 0, 13, StandardCharsets.US_ASCII)).isEqualTo("unread bytes|");
            assertThat(bytes(p)).isEqualTo(5013);
        });
        assertThat(k.eventFds()).singleElement().satisfies(e -> {
            assertThat(e.count()).isEqualTo(42);
            assertThat(e.semaphore()).isTrue();
        });
        assertThat(k.timerFds()).singleElement().satisfies(t -> {
            assertThat(t.clock()).isEqualTo(1);
            assertThat(t.intervalNanos()).isEqualTo(250_000_000L);
            assertThat(t.remainingNanos()).isBetween(1L, 400_000_000L);
            assertThat(t.expirations()).isZero();
        });
        assertThat(k.epolls()).singleElement().satisfies(e -> {
            assertThat(e.entries()).extracting(EpollEntry::data).containsExactly(1L, 2L, 3L, 4L);
            EpollEntry timer = e.entries().get(2), oneShot = e.entries().get(3);
            assertThat(timer.events() & EPOLLET).as("the timer's entry is edge-triggered").isNotZero();
            assertThat(oneShot.events() & 0xffffffffL).as("a one-shot entry that fired keeps only its flags")
                    .isEqualTo(EPOLLONESHOT);
            assertThat(e.entries()).extracting(EpollEntry::file)
                    .allSatisfy(id -> assertThat(k.files()).anySatisfy(f -> assertThat(f.id()).isEqualTo(id)));
        });
    }

    private static int bytes(PipeState p) {
        return p.buffers().stream().mapToInt(b -> b.data().length).sum();
    }

}
