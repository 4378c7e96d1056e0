package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.sys.Wakeup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.scratchvm.sys.Errno.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Clocks, sleeping and futex waits, served from the host's clocks (there is no vDSO in
 * the guest). The guest has one thread, so nothing but a signal can wake a futex waiter:
 * a wait can only find the value changed, time out, or be cut short.
 * <p>
 * Every wait can be cut short by the VMM's {@link Wakeup} (a pause). As Linux does for a
 * stopped task, the guest then executes the call again when it runs: an absolute or
 * unlimited wait as it was, a relative one through restart_syscall with the time that
 * was left (the restart block, saved with the VM).
 */
final class TimeCalls {
    private static final int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, MAX_CLOCK = 11, TIMER_ABSTIME = 1;
    private static final int FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4,
            FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10, FUTEX_PRIVATE = 128, FUTEX_CLOCK_REALTIME = 256;
    private static final long NANOS = 1_000_000_000L;

    private final GuestArgs args;
    /** Host CLOCK_REALTIME for gettimeofday and time, so they agree with clock_gettime to the microsecond. */
    private final MemorySegment now = Arena.ofAuto().allocate(16, 8);
    private final Wakeup wakeup;
    /** A relative sleep that a pause interrupted, finished by restart_syscall; null if none. */
    KernelState.Restart restart;
    /** Where the sleep in progress reports the time left if a handler cuts it short (not saved: a restored sleep has none). */
    private long remainderAddr;
    /** Calls other than sleeps that restart_syscall finishes: the waits of {@link WaitCalls}. */
    private final java.util.Map<Integer, Resume> resumable = new java.util.HashMap<>();

    /** Finishes an interrupted call: its arguments are the registers the guest still holds. */
    @FunctionalInterface
    interface Resume {
        long resume(Call call, long remainingNanos);
    }

    void resumable(int call, Resume resume) {
        resumable.put(call, resume);
    }

    /** Has the guest finish {@code call} through restart_syscall with {@code remainingNanos} left (Linux's restart block). */
    Interrupted restartLater(int call, long remainingNanos) {
        restart = new KernelState.Restart(call, Math.max(0, remainingNanos));
        return new Interrupted(Nr.RESTART_SYSCALL);
    }

    TimeCalls(GuestArgs args, Wakeup wakeup) {
        this.args = args;
        this.wakeup = wakeup;
    }

    void register(SyscallTable t) {
        t.register(Nr.CLOCK_GETTIME, "clock_gettime", c -> {
            if (c.a0() < 0 || c.a0() > MAX_CLOCK) return -EINVAL;
            return Libc.clockGettime((int) c.a0(), args.output(c.a1(), 16));
        });
        t.register(Nr.CLOCK_GETRES, "clock_getres", c -> {
            if (c.a0() < 0 || c.a0() > MAX_CLOCK) return -EINVAL;
            if (c.a1() != 0) {
                args.writeLong(c.a1(), 0);
                args.writeLong(c.a1() + 8, 1);
            }
            return 0;
        });
        t.register(Nr.GETTIMEOFDAY, "gettimeofday", c -> {
            if (c.a0() != 0) {
                args.buffer(c.a0(), 16);
                long r = Libc.clockGettime(CLOCK_REALTIME, now);
                if (r < 0) return r;
                args.writeLong(c.a0(), now.get(JAVA_LONG, 0));
                args.writeLong(c.a0() + 8, now.get(JAVA_LONG, 8) / 1000);
            }
            if (c.a1() != 0) args.output(c.a1(), 8).fill((byte) 0);
            return 0;
        });
        t.register(Nr.TIME, "time", c -> {
            if (c.a0() != 0) args.buffer(c.a0(), 8);
            long r = Libc.clockGettime(CLOCK_REALTIME, now);
            if (r < 0) return r;
            long seconds = now.get(JAVA_LONG, 0);
            if (c.a0() != 0) args.writeLong(c.a0(), seconds);
            return seconds;
        });
        t.register(Nr.NANOSLEEP, "nanosleep", c -> sleep(Nr.NANOSLEEP, c.a0(), c.a1()));
        t.register(Nr.CLOCK_NANOSLEEP, "clock_nanosleep", c -> {
            if (c.a0() < 0 || c.a0() > MAX_CLOCK) return -EINVAL;
            if ((c.a1() & TIMER_ABSTIME) == 0) return sleep(Nr.CLOCK_NANOSLEEP, c.a2(), c.a3());
            long seconds = args.readLong(c.a2()), nanos = args.readLong(c.a2() + 8);
            if (seconds < 0 || nanos < 0 || nanos >= NANOS) return -EINVAL;
            return sleepUntil(Nr.CLOCK_NANOSLEEP, (int) c.a0(), seconds, nanos, 0);
        });
        t.register(Nr.FUTEX, "futex", this::futex);
        t.register(Nr.RESTART_SYSCALL, "restart_syscall", c -> {
            KernelState.Restart r = restart;
            if (r == null) return -EINTR; // nothing to restart: what Linux returns too
            restart = null;
            if (r.call() == Nr.FUTEX) remainderAddr = 0;
            Resume resume = resumable.get(r.call());
            if (resume != null) return resume.resume(c, r.remainingNanos());
            return sleepFor(r.call(), r.remainingNanos(), r.call() == Nr.FUTEX ? -ETIMEDOUT : 0);
        });
    }

    /**
     * nanosleep or a relative clock_nanosleep. The remainder is written only when a signal
     * handler cuts the sleep short ({@link #abandonRestart}): a pause is not a signal.
     */
    private long sleep(int call, long reqAddr, long remAddr) {
        long seconds = args.readLong(reqAddr), nanos = args.readLong(reqAddr + 8);
        if (seconds < 0 || nanos < 0 || nanos >= NANOS) return -EINVAL;
        remainderAddr = remAddr;
        return sleepFor(call, toNanos(seconds, nanos), 0);
    }

    /**
     * A signal handler ends the interrupted sleep with -EINTR: the restart block is dropped
     * and nanosleep reports the time that was left, as Linux does.
     */
    void abandonRestart() {
        KernelState.Restart r = restart;
        restart = null;
        if (r == null || r.call() == Nr.FUTEX || remainderAddr == 0) return;
        try {
            args.writeLong(remainderAddr, r.remainingNanos() / NANOS);
            args.writeLong(remainderAddr + 8, r.remainingNanos() % NANOS);
        } catch (SyscallError e) {
            // Linux ignores a bad remainder pointer here too: the call still returns -EINTR.
        }
        remainderAddr = 0;
    }

    /**
     * Waits {@code nanos}, then returns {@code result}. Woken before that, it leaves the
     * time still to wait in the restart block and has the guest call restart_syscall.
     */
    private long sleepFor(int call, long nanos, long result) {
        long start = System.nanoTime();
        if (wakeup.await(-1, 0, nanos) != Wakeup.Result.WOKEN) return result;
        restart = new KernelState.Restart(call, Math.max(0, nanos - (System.nanoTime() - start)));
        throw new Interrupted(Nr.RESTART_SYSCALL, Interrupted.Restart.BLOCK);
    }

    /**
     * Sleeps until {@code clock} reads at least the given time (TIMER_ABSTIME). Woken
     * before that, the guest makes the same call again: the deadline does not move.
     */
    private long sleepUntil(int call, int clock, long seconds, long nanos, long result) {
        long r = Libc.clockGettime(clock, now);
        if (r < 0) return r;
        long left = toNanos(seconds - now.get(JAVA_LONG, 0), nanos - now.get(JAVA_LONG, 8));
        if (left <= 0) return result;
        if (wakeup.await(-1, 0, left) != Wakeup.Result.WOKEN) return result;
        throw new Interrupted(call, Interrupted.Restart.NEVER_AFTER_HANDLER);
    }

    /** seconds and nanoseconds as nanoseconds, saturating instead of overflowing (timeouts can be huge). */
    private static long toNanos(long seconds, long nanos) {
        return seconds >= Long.MAX_VALUE / NANOS - 1 ? Long.MAX_VALUE : seconds * NANOS + nanos;
    }


    /** futex(2) for a single thread: there is never a waiter to wake, and a wait can only time out. */
    private long futex(Call c) {
        long addr = c.a0();
        int op = (int) c.a1() & ~(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME);
        if ((addr & 3) != 0) return -EINVAL;
        int value = args.buffer(addr, 4).get(JAVA_INT, 0);
        return switch (op) {
            case FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_REQUEUE -> 0;
            case FUTEX_CMP_REQUEUE -> value == (int) c.a5() ? 0 : -EAGAIN;
            case FUTEX_WAIT, FUTEX_WAIT_BITSET -> {
                if (op == FUTEX_WAIT_BITSET && (int) c.a5() == 0) yield -EINVAL;
                if (value != (int) c.a2()) yield -EAGAIN;
                if (c.a3() == 0) yield waitForever();
                long seconds = args.readLong(c.a3()), nanos = args.readLong(c.a3() + 8);
                if (seconds < 0 || nanos < 0 || nanos >= NANOS) yield -EINVAL;
                // FUTEX_WAIT's timeout is relative; FUTEX_WAIT_BITSET's is absolute, on the chosen clock.
                int clock = (c.a1() & FUTEX_CLOCK_REALTIME) != 0 ? CLOCK_REALTIME : CLOCK_MONOTONIC;
                yield op == FUTEX_WAIT ? sleepFor(Nr.FUTEX, toNanos(seconds, nanos), -ETIMEDOUT)
                        : sleepUntil(Nr.FUTEX, clock, seconds, nanos, -ETIMEDOUT);
            }
            default -> -ENOSYS;
        };
    }

    /** A single-threaded program waiting on itself without a timeout hangs on Linux too, until paused. */
    private long waitForever() {
        wakeup.await(-1, 0, -1);
        throw new Interrupted(Nr.FUTEX);
    }
}
