package dev.scratchvm.snapshot;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Files the program had open at SAVE() are open again after the restore, as they were:
 * offsets, O_APPEND, close-on-exec, dup'd descriptors sharing one offset, the working
 * directory, and the fd numbers. Opening them again never repeats O_TRUNC.
 */
@KvmTest
class OpenFilesTest {
    private static final int O_TRUNC = 01000, O_APPEND = 02000;

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void descriptorsOffsetsAndFlagsAreAsBeforeTheSave(Libc libc, @TempDir Path dir) throws Exception {
        Path nativeDir = Files.createDirectory(dir.resolve("native"));
        NativeRun natively = Guest.runNatively("fds_save", libc, nativeDir);
        assertThat(natively.stdout()).endsWith("fds_save: all ok (0 failures)\n");
        Path vmDir = Files.createDirectory(dir.resolve("vm"));
        String prog = Guest.install("fds_save", libc, vmDir);

        Result run = Steps.runUntilSaved(vmDir, "vm.img", "--trace=none", prog);
        assertSavedDescriptors(vmDir.resolve("vm.img"));
        Result restore = Steps.restore(vmDir, "--trace=none");

        assertThat(restore.exit()).as("%s", restore).isZero();
        assertThat(run.stdout() + restore.stdout()).isEqualTo(natively.stdout());
        assertThat(Guest.files(vmDir.resolve("fds"))).isEqualTo(Guest.files(nativeDir.resolve("fds")));
        // opened with O_TRUNC before the save: the first part is still there
        assertThat(Guest.read(vmDir.resolve("fds/trunc.txt"))).isEqualTo("part one\npart two\n");
        assertThat(Guest.read(vmDir.resolve("fds/rw.txt"))).isEqualTo("abcXYfgh");
    }

    /** What the image says about them: one open file description per open(), shared by its dups. */
    private static void assertSavedDescriptors(Path image) throws Exception {
        KernelState k;
        try (ImageReader r = ImageReader.open(image)) {
            k = r.state().kernel();
        }
        assertThat(k.cwd()).isEqualTo("/fds");
        OpenFileState rw = file(k, "/fds/rw.txt");
        assertThat(rw.offset()).isEqualTo(3);
        assertThat(k.fds().stream().filter(d -> d.fileId() == rw.id()).map(FdState::fd))
                .as("fds sharing rw.txt").hasSize(3).contains(50);
        OpenFileState trunc = file(k, "/fds/trunc.txt");
        assertThat(trunc.offset()).isEqualTo(9);
        assertThat(trunc.flags() & O_TRUNC).as("flags as the program passed them").isEqualTo(O_TRUNC);
        assertThat(trunc.fingerprint().size()).isEqualTo(9);
        assertThat(file(k, "/fds/setfl.txt").flags() & O_APPEND).as("O_APPEND set with F_SETFL").isEqualTo(O_APPEND);
        assertThat(k.fds().stream().filter(FdState::closeOnExec).map(FdState::fileId))
                .singleElement().satisfies(id -> assertThat(k.files()).filteredOn(f -> f.id() == id)
                        .singleElement().extracting(OpenFileState::path).isEqualTo("/fds/input.txt"));
    }

    private static OpenFileState file(KernelState k, String path) {
        return k.files().stream().filter(f -> f.path().equals(path)).findFirst().orElseThrow(
                () -> new AssertionError(path + " not among the saved open files " + k.files()));
    }
}
