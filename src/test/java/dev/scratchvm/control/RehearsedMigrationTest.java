package dev.scratchvm.control;

import dev.scratchvm.linux.Trace;
import dev.scratchvm.migration.Rehearsal;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.WarmUp;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A VMM with a control socket rehearses {@code ctl migrate} as it runs, through a controller:
 * the rehearsal commits (one that quietly failed would warm nothing) and its throwaway
 * machine's vCPU thread ends with it.
 */
@KvmTest
@DisplayName("A controlled VMM rehearses live migrations through a controller of their own")
class RehearsedMigrationTest {
    @Test
    void controlledRehearsalsCommitAndTheirVcpuThreadsEnd() throws Exception {
        MachineConfig config = new MachineConfig(16L << 20, Path.of("."), Trace.none(), false);
        AtomicInteger committed = new AtomicInteger();
        long threads = vcpuThreads();
        // Cold, live, through a controller, and the three again: each kind commits twice.
        WarmUp.inBackground(config, (state, own, until) -> committed.set(
                Rehearsal.run(state, own, System.nanoTime() + 60_000_000_000L, 6, RehearsedMigration.of(state, own))),
                WarmUp.Budget.BEFORE_START).join(90_000);
        assertThat(committed.get()).as("migrations committed").isEqualTo(6);
        assertThat(vcpuThreads()).as("vCPU threads left running").isEqualTo(threads);
    }

    private static long vcpuThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("vcpu0") && t.isAlive()).count();
    }
}
