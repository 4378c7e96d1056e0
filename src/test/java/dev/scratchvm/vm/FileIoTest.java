package dev.scratchvm.vm;

import dev.scratchvm.testing.KvmTest;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * File system calls reach the real files under the guest root: several descriptors at once,
 * their own offsets, O_APPEND, O_TRUNC, dup/dup2 sharing an offset, pwrite holes. Checked from
 * the program's side (fileio.c reports every check) and on disk afterwards.
 */
@KvmTest
@DisplayName("File I/O")
class FileIoTest {

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("fileio.c passes every check, as natively, and removes its files")
    void fileioChecks(Libc libc, @TempDir Path tmp) {
        Path binary = Guest.build("fileio", libc);
        Path nativeDir = Guest.freshDir(tmp, "native-"), vmDir = Guest.freshDir(tmp, "vm-");
        NativeRun expected = Guest.runNatively(binary, nativeDir, List.of("t"));

        Result r = VmmProcess.run(vmDir, "run", "--trace=none", binary.toString(), "t");

        assertThat(r.stdout()).as(r.describe()).doesNotContain("FAIL").endsWith("fileio: all ok (0 failures)\n")
                .isEqualTo(expected.stdout());
        assertThat(r.exit()).isZero();
        assertThat(vmDir).isEmptyDirectory();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("offsets, O_TRUNC, O_APPEND, dup and pwrite leave the same files on disk as natively")
    void filesOnDisk(Libc libc, @TempDir Path tmp) throws IOException {
        Path binary = Guest.build("file_state", libc);
        Path nativeDir = prepare(Guest.freshDir(tmp, "native-")), vmDir = prepare(Guest.freshDir(tmp, "vm-"));
        NativeRun expected = Guest.runNatively(binary, nativeDir, List.of());
        assertThat(expected.stdout()).as("native reference").endsWith("file_state ok\n");

        Result r = VmmProcess.run(vmDir, "run", "--trace=none", binary.toString());

        assertThat(r.stdout()).as(r.describe()).isEqualTo("input line\nfile_state ok\n");
        assertThat(r.exit()).isZero();
        assertThat(vmDir.resolve("offsets.txt")).hasContent("01AB456789\n");
        assertThat(vmDir.resolve("trunc.txt")).hasContent("short\n");
        assertThat(vmDir.resolve("append.txt")).hasContent("original\nappended\n");
        assertThat(vmDir.resolve("dup.txt")).hasContent("one two three\n");
        assertThat(vmDir.resolve("hole.bin")).hasBinaryContent("abcd\0\0\0\0yz".getBytes());
        assertThat(vmDir.resolve("keep.txt")).hasContent("keep me\n");
        // Created with 0640 and 0600: the modes asked for, less the umask.
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(vmDir.resolve("offsets.txt"))))
                .isEqualTo("rw-r-----");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(vmDir.resolve("hole.bin"))))
                .isEqualTo("rw-------");
        assertThat(Guest.tree(vmDir)).isEqualTo(Guest.tree(nativeDir));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("a created file gets the mode asked for less the umask 022: 0777 becomes rwxr-xr-x")
    void createMode(Libc libc, @TempDir Path dir) throws IOException {
        Result r = VmmProcess.run(dir, "run", "--trace=none", Guest.build("trace_demo", libc).toString());

        assertThat(r.exit()).isZero();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ay_caramba"))))
                .isEqualTo("rwxr-xr-x");
    }

    private static Path prepare(Path dir) throws IOException {
        Files.writeString(dir.resolve("keep.txt"), "keep me\n");
        Files.writeString(dir.resolve("trunc.txt"), "a long first line that O_TRUNC must remove\n");
        Files.writeString(dir.resolve("append.txt"), "original\n");
        Files.writeString(dir.resolve("input.txt"), "input line\n");
        return dir;
    }
}
