package dev.scratchvm.snapshot;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A VMM killed in the middle of a save leaves its temporary image behind (nothing can run in a
 * process killed with SIGKILL); the next save of the same image removes it, so a crash costs
 * disk space only until then.
 */
@KvmTest
class KilledSaveTest {
    @TempDir
    Path dir;

    @Test
    void the_next_save_removes_what_a_killed_save_left() throws Exception {
        String prog = Guest.install("bigheap_save", Libc.MUSL, dir);
        Path leftover;
        try (VmmProcess vmm = VmmProcess.start(dir, "run", "--memory", "512M", prog, "300")) {
            leftover = awaitTemporary(vmm);
            vmm.kill();
        }
        assertThat(leftover).as("the killed save's temporary").exists();
        assertThat(leftover.getFileName().toString()).matches("vm\\.img\\.tmp-\\d+-\\d+");

        VmmProcess.Result again = Steps.runUntilSaved(dir, "vm.img", "--memory", "64M", prog, "32");

        assertThat(again.exit()).isZero();
        assertThat(leftover).doesNotExist();
        assertThat(temporaries()).isEmpty();
    }

    /** Polls until the save has created its temporary (the guest first fills 300 MiB). */
    private Path awaitTemporary(VmmProcess vmm) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline && vmm.isAlive()) {
            Optional<Path> tmp = temporaries().stream().findFirst();
            if (tmp.isPresent()) return tmp.get();
            Thread.sleep(1);
        }
        throw new AssertionError("the save never started: " + vmm);
    }

    private List<Path> temporaries() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith("vm.img.tmp-")).toList();
        }
    }
}
