package dev.scratchvm.snapshot;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A file the program deleted while it still has it open (tmpfile(), SQLite's temporary files)
 * survives a save and a restore in a new VMM: its bytes travel in the image, and the restored
 * program finds them at the same offset in a file that is still nameless (st_nlink 0), to which
 * it goes on writing. Nothing is left behind in the root.
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
class DeletedOpenFileTest {

    @ParameterizedTest(name = "{0} bytes of filler")
    @ValueSource(ints = {0, 300_000, (1 << 20) - 13})
    void aDeletedOpenFileComesBackWithItsBytes(int filler, @TempDir Path dir) throws Exception {
        String prog = Guest.install("unlinked_save", Libc.MUSL, dir);

        Steps.runUntilSaved(dir, "vm.img", prog, "scratch.tmp", Integer.toString(filler));
        Result r = Steps.restore(dir, "vm.img");

        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.stdout()).isEqualTo("save returned 0\nunlinked file still usable\n");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("what the root holds afterwards")
                    .containsExactlyInAnyOrder(prog.substring(prog.lastIndexOf('/') + 1), "vm.img");
        }
    }
}
