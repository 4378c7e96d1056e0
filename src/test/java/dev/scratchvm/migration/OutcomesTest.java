package dev.scratchvm.migration;

import dev.scratchvm.migration.Messages.Verdict;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The server's record of each migration: decided once, and a question decides a pending one. */
@DisplayName("Migration outcomes on the server")
class OutcomesTest {
    private final Outcomes outcomes = new Outcomes();

    @Test
    void aCommittedMigrationIsReportedCommittedAndTheClientCountsAsInformed() throws Exception {
        byte[] id = Handshake.nonce();
        Outcomes.Entry e = outcomes.begin(id, MemoryTransport.pair()[0]);
        assertThat(e.commit(() -> { })).isTrue();
        assertThat(e.awaitConfirmed(Duration.ZERO)).isFalse();
        assertThat(outcomes.find(id).resolve()).isEqualTo(Verdict.COMMITTED);
        assertThat(e.awaitConfirmed(Duration.ZERO)).isTrue();
    }

    @Test
    void aQuestionAboutAPendingMigrationAbortsItSoALateCommitCannotWin() throws Exception {
        MemoryTransport[] pair = MemoryTransport.pair();
        Outcomes.Entry e = outcomes.begin(Handshake.nonce(), pair[1]);
        assertThat(e.resolve()).isEqualTo(Verdict.ABORTED);
        assertThat(e.commit(() -> { })).isFalse();
        assertThat(e.state()).isEqualTo(Outcomes.State.ABORTED);
        assertThatThrownBy(() -> pair[0].writeFully(java.nio.ByteBuffer.allocate(1)))
                .as("its connection was closed").isInstanceOf(MigrationException.class);
    }

    @Test
    void aCommitThatCannotBeRecordedDurablyAbortsTheMigration() throws Exception {
        byte[] id = Handshake.nonce();
        Outcomes.Entry e = outcomes.begin(id, MemoryTransport.pair()[0]);
        assertThatThrownBy(() -> e.commit(() -> { throw new java.io.IOException("disk full"); }))
                .hasMessage("disk full");
        assertThat(e.state()).isEqualTo(Outcomes.State.ABORTED);
        assertThat(outcomes.find(id).resolve()).isEqualTo(Verdict.ABORTED);
    }

    @RepeatedTest(50)
    void commitAndQuestionRacingAgreeOnOneOutcome() throws Exception {
        Outcomes.Entry e = outcomes.begin(Handshake.nonce(), MemoryTransport.pair()[1]);
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Boolean> committed = new AtomicReference<>();
        AtomicReference<Verdict> answered = new AtomicReference<>();
        Thread a = Thread.ofPlatform().start(() -> {
            await(go);
            try {
                committed.set(e.commit(() -> { }));
            } catch (java.io.IOException x) {
                throw new AssertionError(x);
            }
        });
        Thread b = Thread.ofPlatform().start(() -> {
            await(go);
            answered.set(e.resolve());
        });
        go.countDown();
        a.join();
        b.join();
        assertThat(answered.get()).isEqualTo(committed.get() ? Verdict.COMMITTED : Verdict.ABORTED);
    }

    @Test
    void unknownIdsAreUnknownAndAnIdCannotBeUsedTwice() throws Exception {
        assertThat(outcomes.find(Handshake.nonce())).isNull();
        byte[] id = Handshake.nonce();
        outcomes.begin(id, MemoryTransport.pair()[0]);
        assertThatThrownBy(() -> outcomes.begin(id, MemoryTransport.pair()[0])).hasMessage("migration id reused");
    }

    private static void await(CountDownLatch l) {
        try {
            l.await();
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
