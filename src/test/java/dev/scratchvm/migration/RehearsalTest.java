package dev.scratchvm.migration;

import dev.scratchvm.linux.Trace;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.WarmUp;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import dev.scratchvm.testing.KvmTest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The warm-up's whole migrations to itself, as a VMM runs them before its first real one: they
 * commit (a rehearsal that quietly failed at its first step would warm nothing), and they
 * leave no descriptor, mapping or temporary file behind.
 */
@KvmTest
@DisplayName("A VMM rehearses whole migrations to itself and leaves nothing behind")
class RehearsalTest {
    @Test
    void rehearsedMigrationsCommitAndLeaveNothingBehind() throws Exception {
        MachineConfig config = new MachineConfig(16L << 20, Path.of("."), Trace.none(), false);
        // Once first: what the JDK loads and maps for good the first time is not a leak.
        AtomicInteger first = new AtomicInteger();
        WarmUp.inBackground(config, (state, own, until) -> first.set(Rehearsal.run(state, own, System.nanoTime() + 30_000_000_000L, 2)),
                WarmUp.Budget.BEFORE_START).join(30_000);
        assertThat(first.get()).as("migrations committed").isEqualTo(2);

        long fds = count("/proc/self/fd"), maps = lines("/proc/self/maps"), temps = temporaries();
        AtomicInteger committed = new AtomicInteger();
        WarmUp.inBackground(config, (state, own, until) -> committed.set(Rehearsal.run(state, own, System.nanoTime() + 30_000_000_000L, 10)),
                WarmUp.Budget.BEFORE_START).join(60_000);
        assertThat(committed.get()).as("migrations committed").isEqualTo(10);
        assertThat(count("/proc/self/fd")).as("descriptors").isLessThanOrEqualTo(fds + 2);
        assertThat(lines("/proc/self/maps")).as("mappings").isLessThanOrEqualTo(maps + 8);
        assertThat(temporaries()).as("temporary directories").isEqualTo(temps);
    }

    private static long temporaries() throws IOException {
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("scratchvm-rehearsal-") || n.startsWith("scratchvm-warm-up-")).count();
        }
    }

    private static long count(String dir) throws IOException {
        try (Stream<Path> s = Files.list(Path.of(dir))) {
            return s.count();
        }
    }

    private static long lines(String file) throws IOException {
        try (Stream<String> s = Files.lines(Path.of(file))) {
            return s.count();
        }
    }
}
