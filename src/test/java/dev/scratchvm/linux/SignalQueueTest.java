package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.PendingSignal;
import dev.scratchvm.state.KernelState.SignalAction;
import dev.scratchvm.state.KernelState.SignalState;
import dev.scratchvm.state.KernelState.TimerState;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How signals wait for delivery and timers count down, without a VM: the rules of Linux's
 * pending queue, and timers that keep exactly the time they had left across a restore.
 */
class SignalQueueTest {
    private static PendingSignal signal(int n, int code) {
        return new PendingSignal(n, code, 1, 0, 0, 0);
    }

    @Test
    void standardSignalsMergeRealTimeSignalsQueueAndFaultsComeFirst() {
        Signals s = new Signals(List.of(), SignalState.NONE);
        s.setBlocked(~0L);
        s.generate(signal(10, Signals.SI_USER));
        s.generate(signal(10, Signals.SI_TKILL));
        s.generate(signal(34, Signals.SI_QUEUE));
        s.generate(signal(34, Signals.SI_QUEUE));
        s.generate(signal(Signals.SIGSEGV, Signals.SI_KERNEL));
        assertThat(s.capture(List.of()).pending()).extracting(PendingSignal::signal).containsExactly(10, 34, 34, 11);
        assertThat(s.blocked() & Signals.UNBLOCKABLE).isZero();

        long all = s.pendingMask();
        assertThat(s.dequeue(all).signal()).isEqualTo(Signals.SIGSEGV);
        PendingSignal usr1 = s.dequeue(all & s.pendingMask());
        assertThat(usr1.signal()).isEqualTo(10);
        assertThat(usr1.code()).as("the first one generated is the one delivered").isEqualTo(Signals.SI_USER);
        assertThat(s.dequeue(s.pendingMask()).signal()).isEqualTo(34);
        assertThat(s.dequeue(s.pendingMask()).signal()).isEqualTo(34);
        assertThat(s.pendingMask()).isZero();
    }

    @Test
    void ignoredSignalsAreDroppedUnlessBlockedAndDiscardedWhenTheActionBecomesIgnore() {
        Signals s = new Signals(List.of(), SignalState.NONE);
        s.generate(signal(17, Signals.SI_USER));                 // SIGCHLD: ignored by default
        s.generate(signal(19, Signals.SI_USER));                 // SIGSTOP: a lone VM has nobody to continue it
        assertThat(s.pendingMask()).isZero();
        s.setBlocked(Signals.bit(10));
        s.setAction(new SignalAction(10, Signals.SIG_IGN, 0, 0, 0));
        s.generate(signal(10, Signals.SI_USER));
        assertThat(s.pendingMask()).as("blocked: kept, the action may change before it is unblocked").isEqualTo(Signals.bit(10));
        s.setAction(new SignalAction(10, Signals.SIG_IGN, 0, 0, 0));
        assertThat(s.pendingMask()).as("setting SIG_IGN discards it, blocked or not").isZero();
    }

    @Test
    void restoredTimersKeepTheTimeTheyHadLeftUntilTheGuestRuns() throws Exception {
        AtomicInteger kicks = new AtomicInteger();
        long left = 800_000_000L;
        try (Timers t = new Timers(kicks::incrementAndGet, new GuestCpuClock(),
                List.of(new TimerState(TimerState.ITIMER_REAL, 1, Signals.SIGALRM, 0, left, 0, 0),
                        new TimerState(2, 0, 34, 7, 0, 5_000_000L, 3)))) {
            Thread.sleep(50);
            assertThat(t.capture()).as("not started: nothing counted").containsExactly(
                    new TimerState(TimerState.ITIMER_REAL, 1, Signals.SIGALRM, 0, left, 0, 0),
                    new TimerState(2, 0, 34, 7, 0, 5_000_000L, 3));
            t.start();
            Thread.sleep(50);
            long remaining = t.capture().getFirst().remainingNanos();
            assertThat(remaining).isLessThan(left - 40_000_000L).isGreaterThan(0);
            assertThat(kicks.get()).isZero();
        }
    }

    @Test
    void aPeriodicTimerCountsOverrunsWhileItsSignalIsPending() throws Exception {
        AtomicInteger kicks = new AtomicInteger();
        Signals s = new Signals(List.of(), SignalState.NONE);
        s.setAction(new SignalAction(34, 0x401000, Signals.SA_RESTORER, 0x401100, 0));
        s.setBlocked(Signals.bit(34));
        try (Timers t = new Timers(kicks::incrementAndGet, new GuestCpuClock(), List.of())) {
            int id = t.create(1, 34, 9L);
            t.set(id, 1_000_000L, 2_000_000L);
            Thread.sleep(30);
            t.collect(s);
            assertThat(kicks.get()).as("the vCPU was told").isPositive();
            assertThat(s.capture(List.of()).pending()).containsExactly(new PendingSignal(34, Signals.SI_TIMER, 0, 0, id, 9));
            Thread.sleep(20);
            t.collect(s);
            assertThat(s.capture(List.of()).pending()).as("one signal, however many expiries").hasSize(1);
            assertThat(t.takeOverrun(id)).isGreaterThanOrEqualTo(5);
            assertThat(t.takeOverrun(id)).isZero();
        }
    }
}
