package dev.scratchvm.vm;

import dev.scratchvm.testing.KvmTest;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The test helper itself: it runs the VMM in the given directory, feeds stdin, and kills runs that hang. */
@KvmTest
@DisplayName("The VmmProcess test helper")
class VmmHelperTest {

    @Test
    @DisplayName("feeds stdin and returns stdout, stderr and the exit code")
    void runsTheVmm(@TempDir Path dir) {
        Result r = VmmProcess.runWithInput(dir, "echo me\n".getBytes(StandardCharsets.UTF_8), "run",
                Guest.build("cat", Libc.GLIBC).toString());

        assertThat(r.stdout()).isEqualTo("echo me\n");
        assertThat(r.stderrLines()).as("the default trace")
                .anyMatch(l -> l.matches("READ 0 [0-9a-f]+ 65536 - return 8"))
                .anyMatch(l -> l.matches("WRITE 1 [0-9a-f]+ 8 - return 8"))
                .endsWith("EXIT 0");
        assertThat(r.exit()).isZero();
    }

    @Test
    @DisplayName("kills a run that outlives its timeout and fails the test with what it printed")
    void killsHangingRuns(@TempDir Path dir) {
        Instant start = Instant.now();
        // Millions of system calls at tens of microseconds each: far longer than the timeout.
        List<String> args = List.of("run", "--trace=none", Guest.build("syscall_loop", Libc.MUSL).toString(), "getpid",
                "1000000000");

        assertThatThrownBy(() -> VmmProcess.run(dir, null, Duration.ofSeconds(3), args))
                .isInstanceOf(AssertionError.class).hasMessageContaining("did not finish within PT3S");
        assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(20));
    }
}
