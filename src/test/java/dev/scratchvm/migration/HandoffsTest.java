package dev.scratchvm.migration;

import dev.scratchvm.image.ImageReader;
import dev.scratchvm.image.StateCodec;
import dev.scratchvm.image.TestStates;
import dev.scratchvm.migration.Messages.Verdict;
import dev.scratchvm.state.MachineState;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The server's journal of arriving VMs, as a restarted server reads it: what was committed
 * and never started is handed back whole, what was pending is undone, and status queries
 * about either are answered for certain.
 */
@DisplayName("Durable handoff journal of a migration server")
class HandoffsTest {
    private static final long MEMORY = 16L << 20;

    @TempDir
    Path dir;

    private static String id(int n) {
        byte[] b = new byte[32];
        b[0] = (byte) n;
        return HexFormat.of().formatHex(b);
    }

    private static void prepare(Handoffs h, String id) throws IOException {
        MachineState state = TestStates.sample(MEMORY);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(MEMORY, 4096);
            memory.set(java.lang.foreign.ValueLayout.JAVA_LONG, 3 << 20, 0x5eed_0000_0000_0001L);
            h.prepare(id, state, memory, page -> true);
        }
    }

    @Test
    void aVmCommittedButNeverStartedIsHandedBackWholeAfterARestart() throws Exception {
        try (Handoffs h = Handoffs.open(dir)) {
            prepare(h, id(1));
            h.commit(id(1));
            // killed here: COMMITTED may have reached the client, the guest never ran
        }
        try (Handoffs h = Handoffs.open(dir)) {
            assertThat(h.resumable()).containsExactly(dir.resolve(id(1) + ".img"));
            try (ImageReader r = ImageReader.open(h.resumable().getFirst())) {
                assertThat(StateCodec.encode(r.state())).isEqualTo(StateCodec.encode(TestStates.sample(MEMORY)));
            }
            assertThat(h.verdict(id(1))).isEqualTo(Verdict.COMMITTED);
            h.started(id(1));
            assertThat(h.resumable()).isEmpty();
        }
        assertThat(dir.resolve(id(1) + ".img")).as("removed once the guest ran, at the latest when the server stops").doesNotExist();
        try (Handoffs h = Handoffs.open(dir)) {
            assertThat(h.resumable()).as("a VM that started is never run again").isEmpty();
            assertThat(h.verdict(id(1))).isEqualTo(Verdict.COMMITTED);
        }
    }

    /** A live migration's copy, left in the page cache (the default), committed; the guest never ran. */
    private void commitSpooled(String id, String boot) throws Exception {
        try (Handoffs h = Handoffs.open(dir, Handoffs.Durability.PAGE_CACHE, boot); Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(MEMORY, 4096);
            memory.set(java.lang.foreign.ValueLayout.JAVA_LONG, 3 << 20, 0x5eed_0000_0000_0002L);
            try (Spool spool = h.spool(id, memory)) {
                spool.run(3 << 8, 1, false);
                spool.roundEnd();
                spool.finish(TestStates.sample(MEMORY));
            }
            h.commit(id);
        }
    }

    @Test
    void aPageCacheCopyIsHandedBackAfterTheServerWasKilledButNotAfterTheHostRestarted() throws Exception {
        commitSpooled(id(5), "boot-a");
        try (Handoffs h = Handoffs.open(dir, Handoffs.Durability.PAGE_CACHE, "boot-a")) {
            assertThat(h.resumable()).as("same boot: the page cache still holds every byte").containsExactly(dir.resolve(id(5) + ".img"));
            try (ImageReader r = ImageReader.open(h.resumable().getFirst())) {
                assertThat(r.state().memory().size()).isEqualTo(MEMORY);
            }
        }
        commitSpooled(id(6), "boot-a");
        try (Handoffs h = Handoffs.open(dir, Handoffs.Durability.PAGE_CACHE, "boot-b")) {
            assertThat(h.resumable()).as("a copy that was never synced may be torn after a host restart: never run")
                    .containsExactly(dir.resolve(id(5) + ".img"));
            assertThat(h.recovered()).anySatisfy(line -> assertThat(line).contains(id(6).substring(0, 8)).contains("lost"));
            assertThat(h.verdict(id(6))).as("the client was told COMMITTED: the answer stays").isEqualTo(Verdict.COMMITTED);
            assertThat(dir.resolve(id(6) + ".pages")).doesNotExist();
        }
        try (Handoffs h = Handoffs.open(dir, Handoffs.Durability.PAGE_CACHE, "boot-b")) {
            assertThat(h.resumable()).as("the boot stays with the line when the journal is compacted").containsExactly(dir.resolve(id(5) + ".img"));
            assertThat(h.recovered()).noneSatisfy(line -> assertThat(line).contains(id(6).substring(0, 8)));
        }
    }

    @Test
    void aPendingVmIsDiscardedWithTheFilesItCreatedAndCountsAsAborted() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        Path state = dir.resolve("state");
        try (Handoffs h = Handoffs.open(state)) {
            h.creating(id(2), root.resolve("sub"));
            Files.createDirectory(root.resolve("sub"));
            h.creating(id(2), root.resolve("sub/.f.0.migrating"));
            Files.writeString(root.resolve("sub/.f.0.migrating"), "half");
            prepare(h, id(2));
            // killed before COMMIT arrived
        }
        try (Handoffs h = Handoffs.open(state)) {
            assertThat(h.resumable()).isEmpty();
            assertThat(root.resolve("sub")).doesNotExist();
            assertThat(state.resolve(id(2) + ".img")).doesNotExist();
            assertThat(h.verdict(id(2))).as("the client asking hears for certain that it was not taken")
                    .isEqualTo(Verdict.ABORTED);
            assertThat(h.recovered()).singleElement().asString().contains("pending");
            assertThat(h.verdict(id(9))).as("a migration never seen here").isNull();
        }
    }

    @Test
    void anAbortedMigrationLeavesNoImage() throws Exception {
        try (Handoffs h = Handoffs.open(dir)) {
            prepare(h, id(3));
            h.abort(id(3));
            assertThat(dir.resolve(id(3) + ".img")).doesNotExist();
            assertThat(h.verdict(id(3))).isEqualTo(Verdict.ABORTED);
        }
    }

    @Test
    void aTornLastJournalLineIsIgnored() throws Exception {
        try (Handoffs h = Handoffs.open(dir)) {
            prepare(h, id(4));
            h.commit(id(4));
        }
        Files.writeString(dir.resolve("journal"), "started 00ab", java.nio.file.StandardOpenOption.APPEND);
        try (Handoffs h = Handoffs.open(dir)) {
            assertThat(h.resumable()).hasSize(1);
        }
    }

    @Test
    void oneServerAtATimeOwnsAStateDirectory() throws Exception {
        try (Handoffs h = Handoffs.open(dir)) {
            assertThatThrownBy(() -> Handoffs.open(dir)).isInstanceOf(IOException.class)
                    .hasMessageContaining("in use by another server");
        }
        Handoffs.open(dir).close();
    }
}
