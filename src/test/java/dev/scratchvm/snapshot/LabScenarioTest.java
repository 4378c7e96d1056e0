package dev.scratchvm.snapshot;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.scratchvm.snapshot.Guest.LAB_BOTH;
import static dev.scratchvm.snapshot.Guest.LAB_FILE;
import static dev.scratchvm.snapshot.Guest.LAB_FIRST;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The lab scenario (examples/lab3/app.c): a program writes a line to a file, asks for SAVE,
 * and a brand-new VMM process resumes it from the image; it writes the second line through
 * the same, still-open descriptor and exits.
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
class LabScenarioTest {

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void theProgramStopsAtSaveAndAnotherVmmFinishesIt(Libc libc, @TempDir Path dir) {
        String app = Guest.installLabApp(libc, dir);

        Result run = Steps.runUntilSaved(dir, "vm.img", app);
        if (libc == Libc.MUSL) {
            assertThat(run.stderrLines()).contains("OPEN ./ay_caramba 32834 511 - return 3");
        } else {
            assertThat(run.stderrLines()).anyMatch(l -> l.matches("OPEN(AT)? .*\\./ay_caramba \\d+ 511 - return 3"));
        }
        assertThat(run.stderrLines()).anyMatch(l -> l.matches("WRITE 3 \\p{XDigit}+ 16 - return 16"));
        assertThat(run.stdout()).isEmpty();
        assertThat(Guest.read(dir.resolve(LAB_FILE))).isEqualTo(LAB_FIRST);

        Result restore = Steps.restore(dir, "vm.img");
        assertThat(restore.exit()).as("%s", restore).isZero();
        assertThat(restore.stderrLines()).as("%s", restore).hasSize(4);
        assertThat(restore.stderrLines().get(1)).matches("WRITE 3 \\p{XDigit}+ 12 - return 12");
        assertThat(restore.stderrLines().subList(2, 4)).containsExactly("CLOSE 3 - return 0", "EXIT 0");
        assertThat(Guest.read(dir.resolve(LAB_FILE))).isEqualTo(LAB_BOTH);
    }

    @Test
    void restoreWithoutArgumentsResumesVmImgInTheCurrentDirectory(@TempDir Path dir) {
        String app = Guest.installLabApp(Libc.MUSL, dir);
        Steps.runUntilSaved(dir, "vm.img", app);

        Result restore = Steps.restore(dir, "--trace=none");

        assertThat(restore.exit()).isZero();
        assertThat(restore.stderrLines()).containsExactly(Steps.RESTORED);
        assertThat(Guest.read(dir.resolve(LAB_FILE))).isEqualTo(LAB_BOTH);
    }

    @Test
    void theImageGoesWhereRunImageSaysAndTheGuestRootMayBeAnotherDirectory(@TempDir Path dir) throws Exception {
        Path root = Files.createDirectory(dir.resolve("root"));
        Files.createDirectory(dir.resolve("saved"));
        String app = Guest.installLabApp(Libc.MUSL, dir);

        Steps.runUntilSaved(dir, "saved/lab.img", "--image", "saved/lab.img", "--root", "root", app);
        assertThat(dir.resolve("vm.img")).doesNotExist();
        assertThat(Guest.read(root.resolve(LAB_FILE))).isEqualTo(LAB_FIRST);

        Result restore = Steps.restore(dir, "saved/lab.img", "--root", "root");
        assertThat(restore.exit()).as("%s", restore).isZero();
        assertThat(Guest.read(root.resolve(LAB_FILE))).isEqualTo(LAB_BOTH);
        assertThat(dir.resolve(LAB_FILE)).doesNotExist();
    }
}
