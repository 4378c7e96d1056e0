package dev.scratchvm.linux;

import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.scratchvm.sys.Errno.EAGAIN;
import static dev.scratchvm.sys.Errno.EINVAL;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * timerfd_create(2): a timer on one of the host's clocks, kept as the deadline on that
 * clock. Expirations are counted when someone looks (a read, a poll, a capture), as
 * hrtimer_forward counts the periods that passed, so no host timer or thread is needed.
 */
final class TimerFd implements VirtualFile {
    static final int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7;
    private static final long NANOS = 1_000_000_000L;

    final int clock;
    private final MemorySegment now = Arena.ofAuto().allocate(16, 8);
    private boolean armed;
    /** On {@link #clock}, in nanoseconds. */
    private long deadline;
    private long interval;
    /** Expirations not yet read, and all there ever were (for edge-triggered epoll). */
    private long ticks, totalTicks;
    /**
     * A restored timer's time to its next expiry, until the guest runs again ({@link #thaw}):
     * the VM was frozen from its capture to then. -1 once running.
     */
    private long frozen = -1;

    TimerFd(int clock) {
        this.clock = clock;
    }

    /** A timer rebuilt from saved state: it expires {@code remaining} after the guest runs again. */
    static TimerFd restore(int clock, long remaining, long interval, long expirations) {
        TimerFd t = new TimerFd(clock);
        t.ticks = expirations;
        t.interval = interval;
        if (remaining > 0) t.frozen = remaining;
        return t;
    }

    /** The guest runs again: a restored timer starts counting from now on this host's clock. */
    void thaw() {
        if (frozen < 0) return;
        arm(saturatingAdd(now(), frozen), interval);
        frozen = -1;
    }

    long now() {
        Libc.clockGettime(clock, now);
        return now.get(JAVA_LONG, 0) * NANOS + now.get(JAVA_LONG, 8);
    }

    /** Counts the expirations up to now. */
    private void advance(long t) {
        thaw();
        if (!armed || t < deadline) return;
        long n = interval > 0 ? (t - deadline) / interval + 1 : 1;
        ticks += n;
        totalTicks += n;
        if (interval > 0) deadline += n * interval;
        else armed = false;
    }

    private void arm(long at, long period) {
        armed = true;
        deadline = at;
        interval = period;
    }

    /**
     * timerfd_settime: {@code value} 0 disarms (the interval is kept all the same, and
     * timerfd_gettime reports it, as on Linux); absolute on the timer's clock or relative to now.
     */
    void set(long value, long period, boolean absolute) {
        frozen = -1;
        ticks = 0;
        if (value == 0) {
            armed = false;
            interval = period;
            return;
        }
        arm(absolute ? value : saturatingAdd(now(), value), period);
    }

    /** The time to the next expiry (0 when disarmed) and the interval: timerfd_gettime's answer. */
    long[] remainingAndInterval() {
        if (frozen >= 0) return new long[]{frozen, interval};
        long t = now();
        advance(t);
        return new long[]{armed ? Math.max(1, deadline - t) : 0, interval};
    }

    long expirations() {
        if (frozen >= 0) return ticks;
        advance(now());
        return ticks;
    }

    private static long saturatingAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    @Override
    public int poll(Waits waits, int depth) {
        long t = now();
        advance(t);
        if (ticks > 0) return Waits.POLLIN | Waits.POLLRDNORM;
        if (armed) waits.timer(deadline - t);
        return 0;
    }

    @Override
    public long arrivals(int interest) {
        if (frozen >= 0) return totalTicks; // rebuilding an epoll set must not start the clock
        advance(now());
        return totalTicks;
    }

    @Override
    public long read(MemorySegment dst, long length) {
        if (length < 8) return -EINVAL;
        advance(now());
        if (ticks == 0) return -EAGAIN;
        dst.set(JAVA_LONG_UNALIGNED, 0, ticks);
        ticks = 0;
        return 8;
    }

    @Override
    public long write(MemorySegment src, long length) {
        return -EINVAL; // a timerfd has no write operation
    }
}
