package dev.scratchvm.control;

import dev.scratchvm.linux.Stdio;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.Snapshots;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code snapshot --leave-running} in a loop while the guest appends to a file: every
 * snapshot, restored next to a copy of the file as it was at that moment, goes on writing
 * exactly the lines an uninterrupted run writes (every tenth to the end of the file), and
 * the guest that went on is not disturbed.
 *
 * <p>{@code -Dscratchvm.test.leaveRunningSnapshots=N} sets the number (default 100).
 */
@KvmTest
class LeaveRunningTest {
    private static final int SNAPSHOTS = Integer.getInteger("scratchvm.test.leaveRunningSnapshots", 100);
    private static final String LINES = "6000", WORK = "3000";
    private static final int LINE_BYTES = "line 9999 0123456789abcdef\n".length();
    /** Lines the guest writes between two snapshots, at least, so they spread over its run. */
    private static final int GAP_LINES = 8;
    /** Lines a restored guest must add, all checked, before it is stopped; every tenth runs to its end. */
    private static final int CONTINUED_LINES = 20;

    @TempDir
    Path diskDir;
    private Path dir;

    /**
     * In memory where there is a tmpfs: the snapshots' fsyncs then cost nothing, so a
     * hundred fit into a short guest run, and restoring each to its end stays quick.
     */
    @BeforeEach
    void chooseDirectory() throws IOException {
        Path shm = Path.of("/dev/shm");
        dir = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "leave-running") : diskDir;
    }

    @AfterEach
    void removeIt() throws IOException {
        if (dir.equals(diskDir)) return;
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    @Test
    void everySnapshotOfAGuestWritingAFileRestoresToAConsistentFile() throws Exception {
        List<Path> taken = new ArrayList<>();
        String expected;
        try (SteerGuest guest = SteerGuest.in(dir)) {
            guest.nativeOutput(null, "writer", LINES, "native.txt", WORK);
            expected = Files.readString(dir.resolve("native.txt"));
            try (Machine m = guest.boot("writer", LINES, "out.txt", WORK); Controller c = Controller.of(m, x -> false)) {
                // Listeners run on the vCPU thread while the guest is still stopped: the file is as the snapshot saw it.
                c.listen(e -> {
                    if (e instanceof Controller.Event.SnapshotTaken t) copy(dir.resolve("out.txt"), t.snapshot().image().resolveSibling("out.txt"));
                });
                c.start();
                guest.awaitOutputFile(dir.resolve("out.txt"));
                for (int i = 0; i < SNAPSHOTS; i++) {
                    Path image = Files.createDirectories(dir.resolve("snap" + i)).resolve("vm.img");
                    Controller.Snapshotted s = c.snapshot(image, Snapshots.Kind.FULL, true);
                    assertThat(s.after()).as("the guest was still writing at snapshot %d", i).isEqualTo(Controller.State.RUNNING);
                    taken.add(image);
                    awaitGrowth(dir.resolve("out.txt"), GAP_LINES, c);
                }
                assertThat(c.awaitEnd().exitStatus()).isZero();
            }
            assertThat(guest.output()).isEqualTo("wrote " + LINES + " lines\n");
            assertThat(Files.readString(dir.resolve("out.txt"))).isEqualTo(expected);
        }
        for (int i = 0; i < taken.size(); i++) {
            Path snapDir = taken.get(i).getParent();
            String before = Files.readString(snapDir.resolve("out.txt"));
            assertThat(expected).as("%s holds a prefix of the file", snapDir).startsWith(before);
            boolean toTheEnd = i % 10 == 9;
            try (Machine m = Snapshots.restore(taken.get(i), config(snapDir, snapDir.resolve("stdout.txt")), null);
                 Controller c = Controller.of(m, x -> false).start()) {
                if (toTheEnd) {
                    assertThat(c.awaitEnd().exitStatus()).as("restored from %s", snapDir).isZero();
                } else {
                    awaitGrowth(snapDir.resolve("out.txt"), CONTINUED_LINES, c);
                    c.pause();
                }
            }
            String after = Files.readString(snapDir.resolve("out.txt"));
            if (toTheEnd) assertThat(after).as("file finished by %s", snapDir).isEqualTo(expected);
            else assertThat(expected).as("file continued by %s", snapDir).startsWith(after).hasSizeGreaterThan(before.length());
        }
    }

    /** Waits until {@code file} has grown by {@code lines} lines or the guest has ended. */
    private static void awaitGrowth(Path file, int lines, Controller c) throws IOException, InterruptedException {
        long target = Files.size(file) + (long) lines * LINE_BYTES;
        while (Files.size(file) < target && c.state() == Controller.State.RUNNING) Thread.sleep(0, 200_000);
    }

    private static MachineConfig config(Path root, Path stdout) throws IOException {
        Files.createFile(stdout);
        int out = dev.scratchvm.sys.Libc.open(stdout.toString(), dev.scratchvm.sys.Libc.O_WRONLY, 0);
        return new MachineConfig(SteerGuest.MEMORY, root, new Trace(Trace.Level.NONE, System.err, ""), false,
                new Stdio(0, out, 2));
    }

    private static void copy(Path from, Path to) {
        try {
            Files.copy(from, to, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
