package dev.scratchvm.snapshot;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.snapshot.Guest.FileState;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.scratchvm.snapshot.Guest.LAB_BOTH;
import static dev.scratchvm.snapshot.Guest.LAB_FILE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * When the VM cannot be saved, the VMM says why in one line and the program carries on in the
 * same VMM: its SAVE() returns a negative errno, and it runs to its normal end. An image
 * already at the target path is left as it was.
 */
@KvmTest
class FailedSaveTest {

    @Test
    void aDeletedFileTooLargeForAnImageIsRefusedAndTheProgramCarriesOn(@TempDir Path dir) throws Exception {
        String prog = Guest.install("unlinked_save", Libc.MUSL, dir);
        Path image = Files.writeString(dir.resolve("vm.img"), "an older image\n");
        FileState older = FileState.of(image);

        Result r = Steps.vmm(dir, "run", prog, "scratch.tmp");

        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.stdout()).isEqualTo("save refused: -9\nunlinked file still usable\n");
        assertOneMessage(r, "cannot save", "scratch.tmp", "deleted", "2097152 bytes", "at most 1048576 bytes");
        older.assertUnchanged(image);
        assertThat(dir).isDirectoryNotContaining(p -> p.getFileName().toString().startsWith("vm.img.tmp"));
    }

    @Test
    void aDeletedFileOpenedTwiceIsRefusedAndTheProgramCarriesOn(@TempDir Path dir) throws Exception {
        String prog = Guest.install("unlinked_save", Libc.MUSL, dir);

        Result r = Steps.vmm(dir, "run", prog, "twice.tmp", "100", "twice");

        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.stdout()).isEqualTo("save refused: -9\nunlinked file still usable\n");
        assertOneMessage(r, "cannot save", "twice.tmp", "guest fd 3", "guest fd 4", "two opens of one deleted file");
    }

    @Test
    void anImageThatCannotBeWrittenLetsTheProgramFinish(@TempDir Path dir) {
        String app = Guest.installLabApp(Libc.MUSL, dir);

        Result r = Steps.vmm(dir, "run", "--image", "no-such-dir/vm.img", app);

        assertThat(r.exit()).as("%s", r).isZero();
        assertOneMessage(r, "no-such-dir/vm.img", "SAVE returns -");
        assertThat(r.stderrLines()).as("%s", r).contains("CLOSE 3 - return 0");
        // the lab program ignores what SAVE() returned and writes its second line right away
        assertThat(Guest.read(dir.resolve(LAB_FILE))).isEqualTo(LAB_BOTH);
        assertThat(dir.resolve("no-such-dir")).doesNotExist();
    }

    /** Exactly one VMM message, no "SAVE OPERATION", no stack trace, and the guest's normal end. */
    private static void assertOneMessage(Result r, String... mentions) {
        assertThat(r.stderrLines()).as("%s", r).doesNotContain(Steps.SAVED)
                .filteredOn(l -> l.startsWith("scratchvm: "))
                .singleElement().asString().contains(mentions);
        assertThat(r.stderr()).doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(r.stderrLines()).last().isEqualTo("EXIT 0");
    }
}
