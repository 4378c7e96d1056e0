package dev.scratchvm.migration;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@DisplayName("The shared migration key")
class MigrationKeyTest {
    @TempDir
    Path dir;

    @Test
    void isCreatedOnFirstUseReadableOnlyByItsOwnerAndReusedAfterwards() throws Exception {
        Path path = dir.resolve("config/scratchvm/migration.key");
        MigrationKey first = MigrationKey.loadOrCreate(path);

        assertThat(first.created()).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(path))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(path.getParent()))).isEqualTo("rwx------");
        assertThat(Files.readString(path)).matches("[0-9a-f]{64}\n");

        MigrationKey again = MigrationKey.loadOrCreate(path);
        assertThat(again.created()).isFalse();
        assertThat(again.proof("x", new byte[]{1})).isEqualTo(first.proof("x", new byte[]{1}));
    }

    @Test
    void processesCreatingItAtTheSameTimeAllEndUpWithTheSameKey() throws Exception {
        Path path = dir.resolve("migration.key");
        Callable<byte[]> load = () -> MigrationKey.loadOrCreate(path).proof("x");
        try (var pool = Executors.newFixedThreadPool(8)) {
            List<byte[]> proofs = pool.invokeAll(java.util.Collections.nCopies(16, load)).stream().map(f -> {
                try {
                    return f.get();
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }).toList();
            assertThat(proofs).allSatisfy(p -> assertThat(p).isEqualTo(proofs.get(0)));
        }
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(path);   // no temporary file left behind
        }
    }

    @Test
    void aKeyFileOthersCanReadIsRefusedWithTheFix() throws Exception {
        Path path = Lab.key(dir);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> MigrationKey.load(path)).isInstanceOf(MigrationException.class)
                .hasMessage("key file " + path + " is accessible by other users (mode rw-r--r--); run: chmod 600 " + path);
    }

    @Test
    void anExplicitKeyFileMustExistAndHoldAtLeastSixteenBytes() throws Exception {
        assertThatThrownBy(() -> MigrationKey.load(dir.resolve("nope"))).hasMessage("key file " + dir.resolve("nope") + " does not exist");
        Path shortKey = Lab.key(dir, "tooshort");
        assertThatThrownBy(() -> MigrationKey.load(shortKey)).hasMessageContaining("holds 8 bytes; a key needs at least 16");
    }

    @Test
    void surroundingWhitespaceIsNotPartOfTheKey() throws Exception {
        Path a = Lab.key(dir, "same-secret-0123456789");
        Path b = dir.resolve("b.key");
        Files.createFile(b, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(b, "  same-secret-0123456789\r\n\n");
        assertThat(MigrationKey.load(a).proof("l")).isEqualTo(MigrationKey.load(b).proof("l"));
    }
}
