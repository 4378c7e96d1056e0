package dev.scratchvm.migration;

import dev.scratchvm.migration.MigrationClient.Result;
import dev.scratchvm.migration.Messages.Purpose;
import dev.scratchvm.migration.Messages.Verdict;
import dev.scratchvm.migration.ScriptedServer.AtCommit;
import dev.scratchvm.state.MachineState;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The protocol end to end in one JVM, without KVM or sockets: what arrives, what is refused,
 * and the commit rule — the client lets the VM go only when the server has it, resumes it only
 * when the server certainly does not, and otherwise reports the migration in doubt.
 */
@DisplayName("Migration protocol")
class ProtocolTest {
    static final long SIZE = 4 << 20;
    private static final Timeouts FAST = Timeouts.ofIdle(Duration.ofSeconds(1));

    /** 4 MiB of guest memory: scattered data pages, a long run, and zeros everywhere else. */
    static MemorySegment sampleGuest() {
        MemorySegment m = Arena.ofAuto().allocate(SIZE, 4096);
        for (long page : new long[]{0, 1, 7, 100, 1023}) m.set(JAVA_LONG, page * 4096 + 8 * (page % 512), page + 1);
        for (long page = 200; page < 900; page++) m.set(JAVA_LONG, page * 4096 + 4088, page);   // only the last word set
        return m;
    }

    static final MachineState STATE = SampleStates.plain(SIZE);

    private static MigrationClient client(ScriptedServer server, List<String> log) {
        return new MigrationClient(server, "scripted", ScriptedServer.KEY, FAST, log::add);
    }

    @Test
    void memoryArrivesBitForBitAndZeroPagesAreNeverSent() {
        ScriptedServer server = new ScriptedServer(AtCommit.COMMIT);
        MemorySegment guest = sampleGuest();
        Result r = client(server, new ArrayList<>()).migrate(STATE, guest, p -> true, null);

        assertThat(r).isInstanceOfSatisfying(Result.Committed.class, c -> {
            assertThat(c.stats().memoryPages()).isEqualTo(5 + 700);
            assertThat(c.stats().runs()).isEqualTo(4 + 2);   // pages 0-1, 7, 100, 1023, and 700 pages capped at 512
            assertThat(c.stats().bytesSent()).isLessThan(705 * 4096 + 64 * 1024);
        });
        assertThat(server.guest.mismatch(guest)).isEqualTo(-1);
        assertThat(server.state).usingRecursiveComparison().isEqualTo(STATE);
        assertThat(server.connections).containsExactly(Purpose.MIGRATE);
    }

    @Test
    void pagesTheFilterExcludesAreNeitherReadNorSent() {
        ScriptedServer server = new ScriptedServer(AtCommit.COMMIT);
        MemorySegment guest = sampleGuest();
        Result r = client(server, new ArrayList<>()).migrate(STATE, guest, p -> p < 150, null);
        assertThat(r).isInstanceOfSatisfying(Result.Committed.class, c -> assertThat(c.stats().memoryPages()).isEqualTo(4));
        assertThat(server.guest.asSlice(0, 150 * 4096).mismatch(guest.asSlice(0, 150 * 4096))).isEqualTo(-1);
        assertThat(server.guest.get(JAVA_LONG, 200 * 4096 + 4088)).isZero();
    }

    @Test
    void whenCommitWasReadButTheReplyLostTheClientAsksAndLetsTheVmGo() {
        ScriptedServer server = new ScriptedServer(AtCommit.COMMIT_THEN_VANISH);
        List<String> log = new ArrayList<>();
        Result r = client(server, log).migrate(STATE, sampleGuest(), p -> true, null);
        assertThat(r).isInstanceOf(Result.Committed.class);
        assertThat(server.connections).containsExactly(Purpose.MIGRATE, Purpose.QUERY);
        assertThat(log).anyMatch(l -> l.startsWith("connection lost after COMMIT")).contains("the server confirms it took the VM");
    }

    @Test
    void whenTheServerNeverReadCommitTheClientAsksAndKeepsTheVm() {
        ScriptedServer server = new ScriptedServer(AtCommit.VANISH_BEFORE_COMMIT);
        Result r = client(server, new ArrayList<>()).migrate(STATE, sampleGuest(), p -> true, null);
        assertThat(r).isInstanceOfSatisfying(Result.Failed.class, f -> {
            assertThat(f.reason()).contains("the server confirms it discarded the VM");
            assertThat(f.errno()).isEqualTo(MigrationException.ECONNABORTED);
        });
        assertThat(server.committed).isFalse();
        assertThat(server.connections).containsExactly(Purpose.MIGRATE, Purpose.QUERY);
    }

    @Test
    void anErrorInReplyToCommitIsTheServersFinalWordNoQueryNeeded() {
        ScriptedServer server = new ScriptedServer(AtCommit.REFUSE_COMMIT);
        Result r = client(server, new ArrayList<>()).migrate(STATE, sampleGuest(), p -> true, null);
        assertThat(r).isInstanceOfSatisfying(Result.Failed.class,
                f -> assertThat(f.reason()).isEqualTo("the server aborted: the server gave up waiting for COMMIT"));
        assertThat(server.connections).containsExactly(Purpose.MIGRATE);
    }

    @Test
    void aFailureBeforeCommitKeepsTheVmWithoutAsking() {
        ScriptedServer server = new ScriptedServer(AtCommit.COMMIT) {
            @Override
            void receive(ServerSession s) throws MigrationException {
                receiveFirst(s);
                s.reject(ErrorCode.REJECTED, "this host's CPU lacks features the VM uses: AVX-512");
            }
        };
        Result r = client(server, new ArrayList<>()).migrate(STATE, sampleGuest(), p -> true, null);
        assertThat(r).isInstanceOfSatisfying(Result.Failed.class, f -> {
            assertThat(f.reason()).isEqualTo("the server refused: this host's CPU lacks features the VM uses: AVX-512");
            assertThat(f.errno()).isEqualTo(MigrationException.EREMOTEIO);
        });
        assertThat(server.connections).containsExactly(Purpose.MIGRATE);
    }

    @Test
    void whenTheServerCannotBeAskedTheMigrationIsInDoubtNeverResumed() {
        ScriptedServer server = new ScriptedServer(AtCommit.COMMIT_THEN_VANISH, null, 1);
        long start = System.nanoTime();
        Result r = client(server, new ArrayList<>()).migrate(STATE, sampleGuest(), p -> true, null);
        assertThat(r).isInstanceOfSatisfying(Result.InDoubt.class,
                d -> assertThat(d.reason()).contains("could not be asked within 2 s (connection refused)"));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(FAST.resolve(), FAST.resolve().plusSeconds(3));
        assertThat(server.connections.size()).isGreaterThan(2);   // it kept asking
    }

    @Test
    void aServerWithoutARecordOfTheMigrationLeavesItInDoubt() {
        ScriptedServer server = new ScriptedServer(AtCommit.COMMIT_THEN_VANISH, Verdict.UNKNOWN, Integer.MAX_VALUE);
        Result r = client(server, new ArrayList<>()).migrate(STATE, sampleGuest(), p -> true, null);
        assertThat(r).isInstanceOfSatisfying(Result.InDoubt.class,
                d -> assertThat(d.reason()).contains("has no record of the migration"));
    }

    @Test
    void runsOutsideGuestMemoryOverlappingOrOutOfOrderAreRefusedBeforeTheirDataIsRead() {
        assertThat(memoryError(run(1024, 1))).contains("lies outside guest memory of 1024 pages");
        assertThat(memoryError(run(1020, 8))).contains("lies outside guest memory");
        assertThat(memoryError(run(10, 2), run(11, 1))).contains("overlaps an earlier run");
        assertThat(memoryError(run(10, 1), run(5, 1))).contains("overlaps an earlier run");
        assertThat(memoryError(run(0, 0))).contains("MEMORY run of 0 pages");
        assertThat(memoryError(run(-1L, 1))).contains("lies outside guest memory");
    }

    @Test
    void endMustCountWhatArrived() throws Exception {
        MemoryTransport[] pair = MemoryTransport.pair();
        FrameWriter out = new FrameWriter(pair[0]);
        out.send(MessageType.MEMORY, new Messages.MemoryRun(3, 1).encode(ByteBuffer.allocate(12)), ByteBuffer.allocate(4096));
        out.send(MessageType.END, new Messages.End(0, 2, 1, out.transcript()).encode());
        assertThatThrownBy(() -> MemoryStream.receive(new FrameReader(pair[1]), Arena.ofAuto().allocate(SIZE)))
                .hasMessage("END counts 2 runs, 1 pages, but 1 runs, 1 pages arrived");
    }

    private record Run(long first, int count) {
    }

    private static Run run(long first, int count) {
        return new Run(first, count);
    }

    /** Sends runs with their header only; the receiver must refuse before wanting the data. */
    private static String memoryError(Run... runs) {
        MemoryTransport[] pair = MemoryTransport.pair();
        try {
            FrameWriter out = new FrameWriter(pair[0]);
            for (int i = 0; i < runs.length; i++) {
                Run r = runs[i];
                int data = i < runs.length - 1 ? r.count() * 4096 : 0;
                ByteBuffer head = ByteBuffer.allocate(12).putLong(r.first()).putInt(r.count()).flip();
                if (i == runs.length - 1) {
                    // Only the header of the last run: its length field still promises the pages.
                    ByteBuffer frame = ByteBuffer.allocate(8).put((byte) MessageType.MEMORY.code).put((byte) 0)
                            .putShort((short) 0).putInt(12 + r.count() * 4096).flip();
                    out.sendRaw(frame);
                    out.sendRaw(head);
                } else {
                    out.send(MessageType.MEMORY, head, ByteBuffer.allocate(data));
                }
            }
            MemoryStream.receive(new FrameReader(pair[1]), Arena.ofAuto().allocate(SIZE));
            throw new AssertionError("accepted");
        } catch (MigrationException e) {
            return e.getMessage();
        }
    }
}
