package dev.scratchvm.control;

import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.linux.Stdio;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FileLock;
import dev.scratchvm.state.KernelState.LockOwner;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.Snapshots;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The guest's file locks are real locks on the host file: another process sees them, a
 * guest waiting for one can be paused, and a snapshot carries them to the VM restored from
 * it, which takes them again, or is refused when someone else holds a conflicting lock.
 * guest/tests/locks.c runs in this JVM with standard input on a FIFO; "another process" is
 * the same program run natively ({@code locks probe}).
 */
@KvmTest
class FileLocksTest {
    private static final long MEMORY = 16L << 20;
    private static final Controller.SaveHandler NO_SAVE = m -> false;
    /** What {@code locks probe data} prints while the guest of {@code locks hold data} holds its locks. */
    private static final String HELD = """
            write lock at 10, 10 bytes, of a process
            read lock at 100, 0 bytes, of an open file description
            flock LOCK_EX: Resource temporarily unavailable
            """;
    private static final String FREE = "flock LOCK_EX: granted\n";

    @TempDir
    Path dir;
    private Path binary, data, stdout, fifo;
    private int in, out, err;

    @BeforeEach
    void setUp() throws Exception {
        binary = GuestPrograms.build("locks", GuestPrograms.Libc.MUSL);
        Files.copy(binary, dir.resolve("locks"), StandardCopyOption.COPY_ATTRIBUTES);
        data = Files.write(dir.resolve("data"), new byte[200]);
        stdout = dir.resolve("stdout.txt");
        fifo = dir.resolve("stdin.fifo");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor()).isZero();
        // O_RDWR: opening a FIFO this way does not wait for a writer, and reads block until data comes.
        in = Libc.check("open fifo", Libc.open(fifo.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0));
        out = Libc.check("open stdout", Libc.open(stdout.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644));
        err = Libc.check("open stderr", Libc.open(dir.resolve("stderr.txt").toString(),
                Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644));
    }

    @AfterEach
    void tearDown() {
        Libc.close(in);
        Libc.close(out);
        Libc.close(err);
    }

    @Test
    void locksHeldAtASnapshotAreSeenByOthersAndTakenAgainByTheRestoredVm() throws Exception {
        String expected = natively(null, "go\n".getBytes(), "hold", "data");
        Path image = dir.resolve("vm.img");
        try (Machine m = boot("hold", "data"); Controller c = Controller.of(m, NO_SAVE).start()) {
            awaitOutput("holding\n");
            assertThat(probe()).as("another process sees the guest's locks").isEqualTo(HELD);
            c.snapshot(image, Snapshots.Kind.FULL, false);
            assertThat(c.awaitEnd().exitStatus()).isZero();
        }
        assertThat(probe()).as("the saved VM has ended: its locks are gone").isEqualTo(FREE);
        try (ImageReader r = ImageReader.open(image)) {
            List<FileLock> saved = new ArrayList<>();
            for (KernelState.OpenFileState f : r.state().kernel().files()) saved.addAll(f.locks());
            assertThat(r.state().kernel().processName()).isEqualTo("lock-holder");
            assertThat(r.state().kernel().dumpable()).isFalse();
            assertThat(saved).as("the image records them").containsExactlyInAnyOrder(
                    new FileLock(LockOwner.POSIX, true, 10, 10), new FileLock(LockOwner.OFD, false, 100, 0),
                    new FileLock(LockOwner.FLOCK, false, 0, 0));
        }

        try (Machine m = restore(image); Controller c = Controller.of(m, NO_SAVE).start()) {
            assertThat(probe()).as("the restored VM holds them again").isEqualTo(HELD);
            Files.writeString(fifo, "go\n");
            assertThat(c.awaitEnd().exitStatus()).isZero();
        }
        assertThat(output()).isEqualTo(expected);
        assertThat(probe()).isEqualTo(FREE);
    }

    @Test
    void aSnapshotThatLeavesTheVmRunningLeavesItsLocksInPlace() throws Exception {
        String expected = natively(null, "go\n".getBytes(), "hold", "data");
        try (Machine m = boot("hold", "data"); Controller c = Controller.of(m, NO_SAVE).start()) {
            awaitOutput("holding\n");
            // Fingerprinting the write-only file opens and closes a second descriptor of it, which drops
            // the process's POSIX locks on it: the capture takes them again.
            c.snapshot(dir.resolve("vm.img"), Snapshots.Kind.FULL, true);
            assertThat(probe()).isEqualTo(HELD);
            Files.writeString(fifo, "go\n");
            assertThat(c.awaitEnd().exitStatus()).isZero();
        }
        assertThat(output()).isEqualTo(expected);
    }

    @Test
    void aRestoreIsRefusedWhileSomeoneElseHoldsAConflictingLock() throws Exception {
        Path image = dir.resolve("vm.img");
        try (Machine m = boot("hold", "data"); Controller c = Controller.of(m, NO_SAVE).start()) {
            awaitOutput("holding\n");
            c.snapshot(image, Snapshots.Kind.FULL, false);
        }
        int other = Libc.check("open data", Libc.open(data.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0));
        try {
            assertThat(ofdLock(other, Libc.F_WRLCK, 15, 1)).isZero();
            assertThatThrownBy(() -> restore(image)).isInstanceOf(Machine.RestoreException.class)
                    .hasMessage("cannot take the POSIX write lock (bytes 10 to 19) on /data again: "
                            + "an open file description elsewhere (OFD lock) holds a conflicting lock");
            // The same from the command line, in a VMM process of its own: one line, exit 70, the guest never runs.
            VmmProcess.Result cli = VmmProcess.run(dir, "restore", "--trace=none", "vm.img");
            assertThat(cli.exit()).as(cli.describe()).isEqualTo(70);
            assertThat(cli.stderrLines()).as(cli.describe()).containsExactly("scratchvm: cannot take the POSIX write lock"
                    + " (bytes 10 to 19) on /data again: an open file description elsewhere (OFD lock) holds a conflicting lock");
            assertThat(cli.stdout()).isEmpty();
            assertThat(ofdLock(other, Libc.F_UNLCK, 0, 0)).isZero();
            assertThat(ofdLock(other, Libc.F_WRLCK, 150, 1)).isZero(); // the OFD read lock's range, 100 to EOF
            assertThatThrownBy(() -> restore(image)).isInstanceOf(Machine.RestoreException.class)
                    .hasMessageContaining("cannot take the OFD read lock (bytes 100 to EOF) on /data again");
            assertThat(ofdLock(other, Libc.F_UNLCK, 0, 0)).isZero();
            assertThat(Libc.flock(other, Libc.LOCK_EX | Libc.LOCK_NB)).as("the refused restores left no lock behind").isZero();
            assertThatThrownBy(() -> restore(image)).isInstanceOf(Machine.RestoreException.class)
                    .hasMessage("cannot take the flock read lock on /data again: another open file description"
                            + " holds a conflicting lock");
        } finally {
            Libc.close(other);
        }
        assertThat(probe()).isEqualTo(FREE);
        try (Machine m = restore(image); Controller c = Controller.of(m, NO_SAVE).start()) {
            assertThat(probe()).as("once the other holder is gone").isEqualTo(HELD);
            Files.writeString(fifo, "go\n");
            assertThat(c.awaitEnd().exitStatus()).isZero();
        }
    }

    /** {@code mode} waits for a lock this JVM holds: F_SETLKW against an OFD lock, or flock against an flock. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"wait", "flockwait"})
    void aGuestWaitingForALockCanBePausedAndGetsItWhenItIsReleased(String mode) throws Exception {
        String expected = natively(null, null, mode, "data");
        int other = Libc.check("open data", Libc.open(data.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0));
        assertThat(mode.equals("wait") ? ofdLock(other, Libc.F_WRLCK, 0, 0) : Libc.flock(other, Libc.LOCK_SH)).isZero();
        try (Machine m = boot(mode, "data"); Controller c = Controller.of(m, NO_SAVE).start()) {
            awaitOutput("waiting\n");
            Thread.sleep(100); // well inside the wait
            long calls = m.syscallCount();
            for (int i = 0; i < 3; i++) {
                c.pause();
                assertThat(c.state()).isEqualTo(Controller.State.PAUSED);
                c.resume();
                Thread.sleep(20);
            }
            assertThat(m.syscallCount()).as("the call was made again after each pause").isGreaterThanOrEqualTo(calls + 3);
            assertThat(output()).isEqualTo("waiting\n");
            Libc.close(other);
            other = -1;
            assertThat(c.awaitEnd().exitStatus()).isZero();
        } finally {
            if (other >= 0) Libc.close(other);
        }
        assertThat(output()).isEqualTo(expected);
    }

    @Test
    void aGuestSnapshottedWhileWaitingForALockWaitsOnInTheRestoredVm() throws Exception {
        Path image = dir.resolve("vm.img");
        int other = Libc.check("open data", Libc.open(data.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0));
        try {
            assertThat(ofdLock(other, Libc.F_WRLCK, 0, 0)).isZero();
            try (Machine m = boot("wait", "data"); Controller c = Controller.of(m, NO_SAVE).start()) {
                awaitOutput("waiting\n");
                Thread.sleep(100);
                c.snapshot(image, Snapshots.Kind.FULL, false);
            }
            try (Machine m = restore(image); Controller c = Controller.of(m, NO_SAVE).start()) {
                Thread.sleep(200);
                assertThat(c.state()).as("still waiting for the lock").isEqualTo(Controller.State.RUNNING);
                Libc.close(other);
                other = -1;
                assertThat(c.awaitEnd().exitStatus()).isZero();
            }
        } finally {
            if (other >= 0) Libc.close(other);
        }
        assertThat(output()).isEqualTo("waiting\nF_SETLKW: locked\nF_GETLK from the holder: none\n");
    }

    @Test
    void whileSqliteInTheVmHoldsAnExclusiveTransactionSqliteOutsideFindsTheDatabaseLocked() throws Exception {
        Path sqlite = GuestPrograms.buildSqliteDemo();
        Assumptions.assumeTrue(sqlite != null, "no static libsqlite3 on this host");
        Files.copy(sqlite, dir.resolve("sqlite_demo"), StandardCopyOption.COPY_ATTRIBUTES);
        assertThat(sqliteNatively("t.db")).endsWith("sqlite: ok\n");
        try (Machine m = bootProgram("sqlite_demo", "t.db", "hold"); Controller c = Controller.of(m, NO_SAVE).start()) {
            awaitOutput("holding\n");
            assertThat(sqliteNatively("t.db", "count")).isEqualTo("SELECT count(*) FROM t: database is locked\n");
            Files.writeString(fifo, "go\n");
            assertThat(c.awaitEnd().exitStatus()).isZero();
        }
        assertThat(output()).isEqualTo("holding\ncommitted: yes\n");
        assertThat(sqliteNatively("t.db", "count")).isEqualTo("SELECT count(*) FROM t -> 501\n");
    }

    private String sqliteNatively(String... args) {
        var run = GuestPrograms.runNatively(dir.resolve("sqlite_demo"), dir, List.of(args), Map.of(), null,
                Duration.ofSeconds(60));
        assertThat(run.exitCode()).as("native sqlite_demo: %s", run.stdout()).isZero();
        return run.stdout();
    }

    // ---- helpers ---------------------------------------------------------------------------

    private MachineConfig config() {
        return new MachineConfig(MEMORY, dir, new Trace(Trace.Level.NONE, System.err, ""), false, new Stdio(in, out, err));
    }

    private Machine boot(String... args) throws Exception {
        return bootProgram("locks", args);
    }

    /** A machine at the entry of dir/{@code program}. */
    private Machine bootProgram(String program, String... args) throws Exception {
        ElfImage elf = ElfImage.parse(Files.readAllBytes(dir.resolve(program)), program);
        List<String> argv = new ArrayList<>(List.of("./" + program));
        argv.addAll(List.of(args));
        return Machine.boot(config(), elf, argv, List.of(), "./" + program, new byte[16]);
    }

    private Machine restore(Path image) throws Exception {
        try (ImageReader reader = ImageReader.open(image)) {
            return Machine.restore(config(), reader.state(),
                    memory -> reader.restoreMemory(memory.segment(), ImageReader.Mode.COPY));
        }
    }

    /** F_OFD_SETLK from this JVM: an open file description other than any of the guest's. */
    private static int ofdLock(int fd, int type, long start, long length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fl = arena.allocate(32, 8);
            fl.set(JAVA_SHORT, 0, (short) type);
            fl.set(JAVA_LONG, 8, start);
            fl.set(JAVA_LONG, 16, length);
            return Libc.fcntl(fd, Libc.F_OFD_SETLK, fl);
        }
    }

    /** {@code locks probe data}, run as a separate host process. */
    private String probe() {
        return natively(null, null, "probe", "data");
    }

    private String natively(Path cwd, byte[] input, String... args) {
        Path where = cwd != null ? cwd : dir;
        if (!args[0].equals("probe")) {
            try {
                where = Files.createDirectories(dir.resolve("native"));
                Files.write(where.resolve("data"), new byte[200]);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        var run = GuestPrograms.runNatively(binary, where, List.of(args), Map.of(), input, Duration.ofSeconds(60));
        assertThat(run.exitCode()).as("native locks %s: %s", List.of(args), run.stderr()).isZero();
        return run.stdout();
    }

    private String output() throws Exception {
        return Files.readString(stdout);
    }

    private void awaitOutput(String text) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!output().contains(text)) {
            if (System.nanoTime() > deadline) throw new AssertionError("the guest never printed '" + text + "': " + output());
            Thread.sleep(5);
        }
    }
}
