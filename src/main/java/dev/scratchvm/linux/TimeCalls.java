package dev.scratchvm.linux;

import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.scratchvm.sys.Errno.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Clocks, sleeping and futex waits, served from the host's clocks (there is no vDSO in
 * the guest). The guest has one thread and gets no signals, so nothing can wake a
 * futex waiter: a wait can only find the value changed or time out.
 */
final class TimeCalls {
    private static final int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, MAX_CLOCK = 11, TIMER_ABSTIME = 1;
    private static final int FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4,
            FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10, FUTEX_PRIVATE = 128, FUTEX_CLOCK_REALTIME = 256;
    private static final long NANOS = 1_000_000_000L;

    private final GuestArgs args;
    /** Host CLOCK_REALTIME for gettimeofday and time, so they agree with clock_gettime to the microsecond. */
    private final MemorySegment now = Arena.ofAuto().allocate(16, 8);
    private final MemorySegment request = Arena.ofAuto().allocate(16, 8);

    TimeCalls(GuestArgs args) {
        this.args = args;
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
        t.register(Nr.NANOSLEEP, "nanosleep", c -> sleep(c.a0(), c.a1()));
        t.register(Nr.CLOCK_NANOSLEEP, "clock_nanosleep", c -> {
            if (c.a0() < 0 || c.a0() > MAX_CLOCK) return -EINVAL;
            if ((c.a1() & TIMER_ABSTIME) == 0) return sleep(c.a2(), c.a3());
            long seconds = args.readLong(c.a2()), nanos = args.readLong(c.a2() + 8);
            if (seconds < 0 || nanos < 0 || nanos >= NANOS) return -EINVAL;
            return sleepUntil((int) c.a0(), seconds, nanos);
        });
        t.register(Nr.FUTEX, "futex", this::futex);
    }

    private long sleep(long reqAddr, long remAddr) {
        long seconds = args.readLong(reqAddr), nanos = args.readLong(reqAddr + 8);
        if (seconds < 0 || nanos < 0 || nanos >= NANOS) return -EINVAL;
        return Libc.nanosleep(args.buffer(reqAddr, 16), remAddr == 0 ? MemorySegment.NULL : args.output(remAddr, 16));
    }

    /** Sleeps until {@code clock} reads at least the given time (TIMER_ABSTIME). */
    private long sleepUntil(int clock, long seconds, long nanos) {
        long r = Libc.clockGettime(clock, now);
        if (r < 0) return r;
        long left = toNanos(seconds - now.get(JAVA_LONG, 0), nanos - now.get(JAVA_LONG, 8));
        return left <= 0 ? 0 : sleepNanos(left);
    }

    /** seconds and nanoseconds as nanoseconds, saturating instead of overflowing (timeouts can be huge). */
    private static long toNanos(long seconds, long nanos) {
        return seconds >= Long.MAX_VALUE / NANOS - 1 ? Long.MAX_VALUE : seconds * NANOS + nanos;
    }

    private long sleepNanos(long nanos) {
        request.set(JAVA_LONG, 0, nanos / NANOS);
        request.set(JAVA_LONG, 8, nanos % NANOS);
        return Libc.nanosleep(request, MemorySegment.NULL);
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
                long r = op == FUTEX_WAIT ? sleepNanos(toNanos(seconds, nanos)) : sleepUntil(clock, seconds, nanos);
                yield r < 0 ? r : -ETIMEDOUT;
            }
            default -> -ENOSYS;
        };
    }

    /** A single-threaded program waiting on itself without a timeout hangs on Linux too. */
    private long waitForever() {
        while (true) sleepNanos(3600 * NANOS);
    }
}
