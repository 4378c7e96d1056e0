package dev.scratchvm.migration;

import dev.scratchvm.sys.Libc;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The server's copy of a VM arriving in rounds, on real files, synced to disk or left in the page cache. */
class SpoolTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "synced to disk: {0}")
    @ValueSource(booleans = {true, false})
    void whatFinishReturnsIsInTheFilePageForPageAndClosingTwiceClosesNothingElse(boolean synced) throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment guest = arena.allocate(4L << 20, 4096);
            guest.asSlice(3 * 4096, 4096).fill((byte) 7);
            guest.asSlice(600 * 4096, 4096).fill((byte) 9);
            Path pages = dir.resolve("vm.pages");
            int[] journalSyncs = {0};
            Spool spool = new Spool(pages, dir.resolve("vm.state"), guest, () -> journalSyncs[0]++, synced);
            spool.run(3, 1, false);
            spool.roundEnd();
            spool.run(600, 1, false);
            spool.run(3, 1, true);   // became zero in a later round
            spool.finish(SampleStates.plain(guest.byteSize()));
            spool.close();
            byte[] disk = Files.readAllBytes(pages);
            assertThat(disk).hasSize((int) guest.byteSize());
            assertThat(disk[3 * 4096]).isZero();
            assertThat(disk[600 * 4096]).isEqualTo((byte) 9);
            assertThat(Files.size(dir.resolve("vm.state"))).isPositive();
            assertThat(journalSyncs[0]).as("the pending line is made durable before READY").isEqualTo(1);

            // The descriptor number the spool used is free again, and likely the next one handed out.
            int other = Libc.open(dir.toString(), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
            try {
                spool.close();
                assertThat(Libc.fcntl(other, Libc.F_GETFL, 0)).as("still open after the second close").isNotNegative();
            } finally {
                Libc.close(other);
            }
        }
    }
}
