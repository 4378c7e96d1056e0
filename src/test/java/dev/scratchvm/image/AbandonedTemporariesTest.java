package dev.scratchvm.image;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A save killed half-way leaves its temporary {@code NAME.tmp-PID-RANDOM} behind; the next save
 * or restore of that image removes it, and only what it can prove abandoned: the process named
 * in it is gone and nobody holds its lock.
 */
class AbandonedTemporariesTest {
    private static final long SIZE = 4L << 20;

    @TempDir
    Path dir;
    private Process live;

    @AfterEach
    void stopTheLiveProcess() {
        if (live != null) live.destroyForcibly();
    }

    @Test
    void a_save_names_its_temporary_after_its_own_process() {
        assertThat(StaleTemporaries.ownPrefix(dir.resolve("vm.img"))).isEqualTo("vm.img.tmp-" + ProcessHandle.current().pid() + "-");
    }

    @Test
    void the_next_save_removes_the_temporary_of_a_killed_save() throws Exception {
        Path leftover = fullSizeTemporary("vm.img.tmp-" + deadPid() + "-8313375342817604471");

        save("vm.img");

        assertThat(leftover).doesNotExist();
        assertThat(Files.list(dir)).extracting(p -> p.getFileName().toString()).containsExactly("vm.img");
    }

    @Test
    void the_next_restore_removes_it_too() throws Exception {
        save("vm.img");
        Path leftover = fullSizeTemporary("vm.img.tmp-" + deadPid() + "-1");

        ImageWriter.removeAbandonedTemporaries(dir.resolve("vm.img"));

        assertThat(leftover).doesNotExist();
    }

    @Test
    void a_temporary_of_a_live_process_or_of_this_one_is_kept() throws Exception {
        live = new ProcessBuilder("sleep", "60").start();
        Path othersSave = fullSizeTemporary("vm.img.tmp-" + live.pid() + "-42");
        Path ourOwn = fullSizeTemporary("vm.img.tmp-" + ProcessHandle.current().pid() + "-42");

        save("vm.img");

        assertThat(othersSave).exists();
        assertThat(ourOwn).exists();
    }

    @Test
    void a_locked_temporary_is_kept_even_when_its_process_seems_gone() throws Exception {
        // a writer in another PID namespace or on another host sharing the directory
        Path locked = fullSizeTemporary("vm.img.tmp-" + deadPid() + "-7");
        try (FileChannel ch = FileChannel.open(locked, StandardOpenOption.WRITE)) {
            ch.lock(); // held here rather than in another process: the cleaner's tryLock fails the same way
            save("vm.img");
        }
        assertThat(locked).exists();
    }

    @Test
    void files_that_are_not_its_temporaries_are_kept() throws Exception {
        String dead = Long.toString(deadPid());
        Path[] others = {fullSizeTemporary("other.img.tmp-" + dead + "-1"), fullSizeTemporary("vm.img.tmp-123456789012345"),
                fullSizeTemporary("vm.img.tmp-" + dead), fullSizeTemporary("vm.img.tmp-x" + dead + "-1"),
                fullSizeTemporary("vm.img.bak")};
        Files.createSymbolicLink(dir.resolve("vm.img.tmp-" + dead + "-2"), others[0]);

        save("vm.img");

        for (Path p : others) assertThat(p).exists();
        assertThat(dir.resolve("vm.img.tmp-" + dead + "-2")).isSymbolicLink();
    }

    private void save(String name) throws Exception {
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            guest.fillPage(700, 1);
            ImageWriter.write(dir.resolve(name), TestStates.sample(SIZE), guest.segment, PageFilter.ALL);
        }
    }

    private Path fullSizeTemporary(String name) throws Exception {
        return Files.write(dir.resolve(name), new byte[64 << 10]);
    }

    /** The PID of a process that has exited (and been reaped). */
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }
}
