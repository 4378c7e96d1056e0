package dev.scratchvm.migration;

import dev.scratchvm.state.KernelState;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** --with-files on the server: what gets written under its root, and what never does. */
@DisplayName("Files sent with a VM")
class FileInstallerTest {
    @TempDir
    Path root;

    private static KernelState kernel(List<String> paths, String... contents) {
        return SampleStates.withFiles(4 << 20, paths,
                java.util.Arrays.stream(contents).map(c -> c.getBytes(StandardCharsets.UTF_8)).toList()).kernel();
    }

    private static void send(FileInstaller files, int index, String content, int mode) throws MigrationException {
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        FileInstaller.Sink sink = files.begin(new Messages.FileHeader(index, b.length, mode));
        sink.write(ByteBuffer.wrap(b));
        files.finish(sink);
    }

    @Test
    void aMissingFileIsAskedForAndCreatedWithItsParentsAndMode() throws Exception {
        KernelState k = kernel(List.of("/data/out/log.txt"), "hello\n");
        try (FileInstaller files = FileInstaller.plan(root, k)) {
            assertThat(files.wanted()).containsExactly(3);
            send(files, 3, "hello\n", 0640);
            files.commit();
        }
        Path f = root.resolve("data/out/log.txt");
        assertThat(f).hasContent("hello");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-r-----");
        try (var left = Files.list(f.getParent())) {
            assertThat(left).containsExactly(f);   // no temporary file left
        }
    }

    @Test
    void anIdenticalFileIsNotSentAgain() throws Exception {
        Files.writeString(root.resolve("same.txt"), "content");
        try (FileInstaller files = FileInstaller.plan(root, kernel(List.of("/same.txt"), "content"))) {
            assertThat(files.wanted()).isEmpty();
        }
    }

    @Test
    void aDifferentFileIsNeverReplaced() throws Exception {
        Files.writeString(root.resolve("mine.txt"), "the server's");
        assertThatThrownBy(() -> FileInstaller.plan(root, kernel(List.of("/mine.txt"), "the client's")))
                .hasMessage("file /mine.txt already exists on the server with different content (the server keeps its file)");
        assertThat(root.resolve("mine.txt")).hasContent("the server's");
    }

    @Test
    void nothingIsWrittenThroughASymbolicLinkOrOutsideTheRoot(@TempDir Path outside) throws Exception {
        Files.createSymbolicLink(root.resolve("link"), outside);
        assertThatThrownBy(() -> FileInstaller.plan(root, kernel(List.of("/link/x.txt"), "x")))
                .hasMessageContaining("/link is a symbolic link on the server");
        Files.createSymbolicLink(root.resolve("f.txt"), outside.resolve("f.txt"));
        assertThatThrownBy(() -> FileInstaller.plan(root, kernel(List.of("/f.txt"), "x")))
                .hasMessageContaining("is a symbolic link on the server");
        for (String bad : List.of("/../escape.txt", "/a/./b", "relative.txt", "/a\0b")) {
            assertThatThrownBy(() -> FileInstaller.plan(root, kernel(List.of(bad), "x"))).isInstanceOf(MigrationException.class);
        }
        try (var left = Files.list(outside)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void contentThatDoesNotMatchTheSavedFingerprintIsRefused() throws Exception {
        try (FileInstaller files = FileInstaller.plan(root, kernel(List.of("/a.txt"), "expected"))) {
            assertThatThrownBy(() -> send(files, 3, "EXPECTED", 0644))
                    .hasMessage("file /a.txt arrived with different content than when the VM was saved");
            assertThatThrownBy(() -> files.begin(new Messages.FileHeader(3, 99, 0644))).hasMessageContaining("is sent with 99 bytes");
            assertThatThrownBy(() -> files.begin(new Messages.FileHeader(0, 0, 0644))).hasMessage("FILE 0 was not asked for");
        }
    }

    @Test
    void anAbortedMigrationTakesAwayEverythingItCreated() throws Exception {
        Files.createDirectory(root.resolve("existing"));
        KernelState k = kernel(List.of("/existing/new.txt", "/fresh/dir/b.txt"), "a", "b");
        try (FileInstaller files = FileInstaller.plan(root, k)) {
            assertThat(files.wanted()).containsExactly(3, 4);
            send(files, 3, "a", 0644);
            send(files, 4, "b", 0644);
            assertThat(root.resolve("fresh/dir/b.txt")).exists();
            files.rollback();
        }
        try (var left = Files.walk(root)) {
            assertThat(left).containsExactlyInAnyOrder(root, root.resolve("existing"));
        }
    }
}
