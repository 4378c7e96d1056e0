package dev.scratchvm.snapshot;

import dev.scratchvm.image.ImageReader;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A file deleted while open has no path to open again: its bytes travel in the image, and a
 * restore in a new VMM makes an unlinked file of them with the same permission bits, flags
 * and offset, shared by the dups and the MAP_SHARED mapping as before.
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
class GhostFileTest {

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void deletedFilesBehaveAsNativelyAcrossASaveAndARestoreInANewVmm(Libc libc, @TempDir Path dir) throws Exception {
        Path nativeDir = Files.createDirectory(dir.resolve("native"));
        NativeRun natively = Guest.runNatively("ghost", libc, nativeDir);
        assertThat(natively.stdout()).contains("nlink 0").endsWith("ghost: done\n");
        Path vmDir = Files.createDirectory(dir.resolve("vm"));
        String prog = Guest.install("ghost", libc, vmDir);

        Result run = Steps.runUntilSaved(vmDir, "vm.img", "--trace=none", prog);
        List<OpenFileState> ghosts = ghosts(vmDir.resolve("vm.img"));
        Result restore = Steps.restore(vmDir, "--trace=none");

        assertThat(restore.exit()).as("%s", restore).isZero();
        assertThat(run.stdout() + restore.stdout()).isEqualTo(natively.stdout());
        assertThat(ghosts).extracting(OpenFileState::path)
                .containsExactlyInAnyOrder("/ghost-rw.dat", "/ghost-ro.dat", "/ghost-ap.dat");
        OpenFileState rw = ghosts.stream().filter(f -> f.path().equals("/ghost-rw.dat")).findFirst().orElseThrow();
        assertThat(rw.mode()).isEqualTo(0640);
        assertThat(rw.offset()).isEqualTo(6);
        assertThat(rw.content()).hasSize(8192);
        assertThat(new String(rw.content(), 4096, 13, StandardCharsets.ISO_8859_1))
                .as("a store through the shared mapping is in the saved bytes").isEqualTo("mapped-before");
        try (Stream<Path> left = Files.list(vmDir)) {
            assertThat(left.map(p -> p.getFileName().toString())).as("no name of a deleted file comes back")
                    .noneMatch(n -> n.startsWith("ghost-"));
        }
    }

    private static List<OpenFileState> ghosts(Path image) throws Exception {
        KernelState k;
        try (ImageReader r = ImageReader.open(image)) {
            k = r.state().kernel();
        }
        return k.files().stream().filter(f -> f.kind() == FileKind.GHOST).toList();
    }
}
