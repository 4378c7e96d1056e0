package dev.scratchvm.migration;

import dev.scratchvm.migration.Lab.Server;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A VM that has a file mapped MAP_SHARED moves to another root at SAVE with --with-files: the
 * mapped pages are not sent as memory, the file travels with the guest's stores in it, and the
 * server maps it again, so the guest goes on writing through its mapping there.
 */
@KvmTest
class SharedMappingMigrationTest {
    @TempDir
    Path dir;

    @Test
    void theMappedFileTravelsWithTheVmAndIsMappedAgainOnTheServer(@TempDir Path serverRoot, @TempDir Path nativeDir)
            throws Exception {
        Path binary = GuestPrograms.build("mapshared", Lab.libc());
        NativeRun natively = GuestPrograms.runNatively(binary, nativeDir, List.of(), Map.of(), Duration.ofSeconds(60));
        assertThat(natively.exitCode()).isZero();
        Files.copy(binary, dir.resolve("mapshared"), StandardCopyOption.COPY_ATTRIBUTES);
        Path key = Lab.key(dir);
        try (Server server = Lab.server(serverRoot, key);
             VmmProcess client = VmmProcess.start(dir, "run", "--migrate-to", server.address(), "--key-file", key.toString(),
                     "--migrate-timeout", Lab.TIMEOUT, "--with-files", "./mapshared")) {
            assertThat(client.awaitExit()).as("%s", client).isZero();
            assertThat(server.process().awaitExit()).as("%s", server.process()).isZero();
            assertThat(server.process().stdout()).as("the guest finished on the server").startsWith("ok   SAVE\n")
                    .endsWith("mapshared: all ok (0 failures)\n");
            assertThat(client.stdout() + server.process().stdout()).isEqualTo(natively.stdout());
        }
        assertThat(Files.readAllBytes(serverRoot.resolve("shared.dat")))
                .isEqualTo(Files.readAllBytes(nativeDir.resolve("shared.dat")));
    }
}
