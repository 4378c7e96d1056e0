package dev.scratchvm.snapshot;

import dev.scratchvm.testing.KvmTest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A snapshot that fails because the disk is full loses no dirty page: the next diff restores
 * exactly. The full disk is real: a one-page tmpfs mounted in a private mount namespace
 * ({@code unshare -m}, which needs root), around a JVM running {@link FullDiskScenario}.
 */
@KvmTest
class FullDiskTest {
    @Test
    void aDiffAfterAFailedWriteHoldsEveryPageSinceTheLastDurableSnapshot(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(new ProcessBuilder("unshare", "-m", "true").start().waitFor() == 0,
                "needs unshare -m (root) for a private tmpfs");
        Path tiny = Files.createDirectory(dir.resolve("tiny")), disk = Files.createDirectory(dir.resolve("disk"));
        String java = ProcessHandle.current().info().command().orElse("java");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of("unshare", "-m", "--propagation", "private", "sh", "-c",
                "mount -t tmpfs -o size=4k tmpfs \"$0\" && exec \"$@\"", tiny.toString(),
                java, "--enable-native-access=ALL-UNNAMED", "-cp", cp, FullDiskScenario.class.getName(),
                tiny.toString(), disk.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(out).as(out).contains("OK full disk refused: ").contains("No space left on device");
        assertThat(p.exitValue()).as(out).isZero();
        try (var left = Files.list(tiny)) {
            assertThat(left.toList()).as("the tmpfs lived only in the private namespace").isEmpty();
        }
    }
}
