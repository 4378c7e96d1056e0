package dev.scratchvm.snapshot;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.snapshot.Guest.FileState;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;

import static dev.scratchvm.snapshot.Guest.LAB_BOTH;
import static dev.scratchvm.snapshot.Guest.LAB_FILE;
import static dev.scratchvm.snapshot.Guest.LAB_FIRST;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A saved VM refers to files on the host by path. If such a file is gone or is no longer what
 * the program saw at SAVE(), resuming would corrupt it or the program's idea of it: the restore
 * is refused before the guest runs, and the file is left alone.
 */
@KvmTest
class ChangedFilesTest {
    @TempDir
    Path dir;
    Path file;

    /** The lab program, saved after writing the first line of ay_caramba (fd 3, offset 16). */
    @BeforeEach
    void saveTheLabProgram() {
        String app = Guest.installLabApp(Libc.MUSL, dir);
        Steps.runUntilSaved(dir, "vm.img", app);
        file = dir.resolve(LAB_FILE);
        assertThat(Guest.read(file)).isEqualTo(LAB_FIRST);
    }

    @Test
    void aDeletedFileIsNotCreatedAgain() throws Exception {
        Files.delete(file);

        Result r = Steps.restoreRefused(dir);

        assertThat(r.stderr()).contains("ay_caramba");
        assertThat(file).as("no O_CREAT on restore").doesNotExist();
    }

    @Test
    void aFileWhoseSizeChangedIsRefused() throws Exception {
        Files.writeString(file, "more\n", StandardOpenOption.APPEND);
        FileState edited = FileState.of(file);

        Result r = Steps.restoreRefused(dir);

        assertThat(r.stderr()).contains("ay_caramba").contains("changed");
        edited.assertUnchanged(file);
    }

    @Test
    void aFileEditedInPlaceToTheSameSizeAndMtimeIsRefused() throws Exception {
        FileTime mtime = Files.getLastModifiedTime(file);
        Files.writeString(file, "Hello World ???\n", StandardOpenOption.WRITE);
        Files.setLastModifiedTime(file, mtime); // only the content tells
        FileState edited = FileState.of(file);

        Result r = Steps.restoreRefused(dir);

        assertThat(r.stderr()).contains("ay_caramba").contains("content");
        edited.assertUnchanged(file);
    }

    @Test
    void anImageCannotBeResumedTwiceOnceItsFileMovedOn() {
        Result first = Steps.restore(dir);
        assertThat(first.exit()).isZero();
        assertThat(Guest.read(file)).isEqualTo(LAB_BOTH);
        FileState done = FileState.of(file);

        Steps.restoreRefused(dir);

        done.assertUnchanged(file);
    }

    @Test
    void aFileRenamedAwayIsMissingAndTheNewNameIsUntouched() throws Exception {
        Path moved = dir.resolve("moved");
        Files.move(file, moved);
        FileState before = FileState.of(moved);

        Steps.restoreRefused(dir);

        assertThat(file).doesNotExist();
        before.assertUnchanged(moved);
    }

    @Test
    void theUnchangedFileIsAcceptedEvenIfItsMtimeChanged() throws Exception {
        // mtime is not part of the check: copying a file to another host changes it
        Files.setLastModifiedTime(file, FileTime.fromMillis(0));

        Result r = Steps.restore(dir);

        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(Guest.read(file)).isEqualTo(LAB_BOTH);
    }

    @Test
    void aSymlinkPlantedInItsPlaceCannotLeadOutOfTheGuestRoot(@TempDir Path outside) throws Exception {
        // the same bytes outside the root: following the link would pass the content check
        Path decoy = Files.writeString(outside.resolve(LAB_FILE), LAB_FIRST);
        FileState decoyBefore = FileState.of(decoy);
        Files.delete(file);
        Files.createSymbolicLink(file, decoy);

        Steps.restoreRefused(dir);

        decoyBefore.assertUnchanged(decoy);
        assertThat(Files.readSymbolicLink(file)).isEqualTo(decoy);
    }
}
