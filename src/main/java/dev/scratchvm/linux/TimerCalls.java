package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.TimerState;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.scratchvm.sys.Errno.*;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * alarm, setitimer and getitimer (ITIMER_REAL on the time that passes, ITIMER_VIRTUAL and
 * ITIMER_PROF on the guest's CPU time as {@link GuestCpuClock} counts it), and the POSIX timers of timer_create on
 * CLOCK_REALTIME, CLOCK_MONOTONIC and CLOCK_BOOTTIME that send a signal (SIGEV_SIGNAL,
 * SIGEV_THREAD_ID to the one thread) or nothing (SIGEV_NONE).
 */
final class TimerCalls {
    private static final int ITIMER_REAL = 0, ITIMER_VIRTUAL = 1, ITIMER_PROF = 2, CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7;
    private static final int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD_ID = 4, TIMER_ABSTIME = 1;
    private static final long NANOS = 1_000_000_000L, MICROS = 1_000_000L, CPU_TICK_NANOS = 4_000_000L;

    private final GuestArgs args;
    private final Timers timers;
    private final Signals signals;
    private final MemorySegment now = Arena.ofAuto().allocate(16, 8);

    TimerCalls(GuestArgs args, Timers timers, Signals signals) {
        this.args = args;
        this.timers = timers;
        this.signals = signals;
    }

    void register(SyscallTable t) {
        t.register(Nr.ALARM, "alarm", c -> {
            long[] old = timers.set(TimerState.ITIMER_REAL, (c.a0() & 0xffffffffL) * NANOS, 0);
            // Linux rounds the seconds left to the nearest, and never reports 0 for an alarm still pending.
            long seconds = old[0] / NANOS, micros = old[0] % NANOS / 1000;
            if ((seconds == 0 && micros > 0) || micros >= 500_000) seconds++;
            return seconds;
        });
        t.register(Nr.SETITIMER, "setitimer", this::setitimer);
        t.register(Nr.GETITIMER, "getitimer", c -> {
            int id = itimer(c.a0());
            writeTimeval(c.a1(), timers.get(id));
            return 0;
        });
        t.register(Nr.TIMER_CREATE, "timer_create", this::create);
        t.register(Nr.TIMER_SETTIME, "timer_settime", this::settime);
        t.register(Nr.TIMER_GETTIME, "timer_gettime", c -> {
            int id = timer(c.a0());
            writeTimespec(c.a1(), timers.get(id));
            return 0;
        });
        t.register(Nr.TIMER_GETOVERRUN, "timer_getoverrun", c -> timers.lastOverrun(timer(c.a0())));
        t.register(Nr.TIMER_DELETE, "timer_delete", c -> {
            int id = timer(c.a0());
            timers.delete(id);
            signals.dropTimerSignals(id);
            return 0;
        });
    }

    /** The timer setitimer's {@code which} names; EINVAL for another. */
    private static int itimer(long which) {
        return switch ((int) which) {
            case ITIMER_REAL -> TimerState.ITIMER_REAL;
            case ITIMER_VIRTUAL -> TimerState.ITIMER_VIRTUAL;
            case ITIMER_PROF -> TimerState.ITIMER_PROF;
            default -> throw new SyscallError(EINVAL);
        };
    }

    private long setitimer(Call c) {
        int id = itimer(c.a0());
        long interval = 0, value = 0;
        if (c.a1() != 0) {
            MemorySegment in = args.buffer(c.a1(), 32);
            interval = timeval(in, 0);
            value = timeval(in, 16);
        }
        if (c.a2() != 0) args.output(c.a2(), 32);
        // Linux's set_cpu_itimer adds a tick to the first expiry of a CPU timer (HZ 250 on Debian's kernels).
        if (id != TimerState.ITIMER_REAL && value > 0) value = Math.min(Long.MAX_VALUE / 2, value + CPU_TICK_NANOS);
        long[] old = timers.set(id, value, interval);
        if (c.a2() != 0) writeTimeval(c.a2(), old);
        return 0;
    }

    private static long timeval(MemorySegment in, long at) {
        long s = in.get(JAVA_LONG_UNALIGNED, at), us = in.get(JAVA_LONG_UNALIGNED, at + 8);
        if (s < 0 || us < 0 || us >= MICROS) throw new SyscallError(EINVAL);
        return saturate(s, us * 1000);
    }

    private static long timespec(MemorySegment in, long at) {
        long s = in.get(JAVA_LONG_UNALIGNED, at), ns = in.get(JAVA_LONG_UNALIGNED, at + 8);
        if (s < 0 || ns < 0 || ns >= NANOS) throw new SyscallError(EINVAL);
        return saturate(s, ns);
    }

    private static long saturate(long seconds, long nanos) {
        return seconds >= Long.MAX_VALUE / NANOS - 1 ? Long.MAX_VALUE / 2 : seconds * NANOS + nanos;
    }

    /** {remaining, interval} as struct itimerval: interval first, then value. */
    private void writeTimeval(long addr, long[] setting) {
        MemorySegment out = args.output(addr, 32);
        out.set(JAVA_LONG_UNALIGNED, 0, setting[1] / NANOS);
        out.set(JAVA_LONG_UNALIGNED, 8, setting[1] % NANOS / 1000);
        // A pending expiry shows at least 1 µs, as Linux's does.
        long value = setting[0] > 0 ? Math.max(setting[0], 1000) : 0;
        out.set(JAVA_LONG_UNALIGNED, 16, value / NANOS);
        out.set(JAVA_LONG_UNALIGNED, 24, value % NANOS / 1000);
    }

    private void writeTimespec(long addr, long[] setting) {
        MemorySegment out = args.output(addr, 32);
        out.set(JAVA_LONG_UNALIGNED, 0, setting[1] / NANOS);
        out.set(JAVA_LONG_UNALIGNED, 8, setting[1] % NANOS);
        out.set(JAVA_LONG_UNALIGNED, 16, setting[0] / NANOS);
        out.set(JAVA_LONG_UNALIGNED, 24, setting[0] % NANOS);
    }

    /** timer_create: struct sigevent is sigev_value (8), sigev_signo, sigev_notify, then the thread id. */
    private long create(Call c) {
        int clock = (int) c.a0();
        if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME) return -EINVAL;
        args.output(c.a2(), 4);
        int signal = Signals.SIGALRM, notify = SIGEV_SIGNAL;
        Long value = null; // without a sigevent, si_value carries the timer's id (Linux's default)
        if (c.a1() != 0) {
            MemorySegment ev = args.buffer(c.a1(), 20);
            value = ev.get(JAVA_LONG_UNALIGNED, 0);
            signal = ev.get(JAVA_INT_UNALIGNED, 8);
            notify = ev.get(JAVA_INT_UNALIGNED, 12);
            if (notify == SIGEV_THREAD_ID) {
                if (ev.get(JAVA_INT_UNALIGNED, 16) != Libc.getpid()) return -EINVAL;
                notify = SIGEV_SIGNAL;
            }
            if (notify == SIGEV_NONE) signal = 0;
            else if (notify != SIGEV_SIGNAL || signal < 1 || signal > 64) return -EINVAL;
        }
        int id = timers.create(clock, signal, value);
        if (id < 0) return -EAGAIN;
        args.output(c.a2(), 4).set(JAVA_INT_UNALIGNED, 0, id);
        return 0;
    }

    private long settime(Call c) {
        int id = timer(c.a0());
        if (c.a2() == 0) return -EFAULT;
        MemorySegment in = args.buffer(c.a2(), 32);
        long interval = timespec(in, 0), value = timespec(in, 16);
        if (c.a3() != 0) args.output(c.a3(), 32);
        if (value > 0 && (c.a1() & TIMER_ABSTIME) != 0) {
            long r = Libc.clockGettime(timers.clock(id), now);
            if (r < 0) return r;
            long current = saturate(now.get(JAVA_LONG, 0), now.get(JAVA_LONG, 8));
            value = Math.max(1, value - current); // a time already past expires at once
        }
        long[] old = timers.set(id, value, interval);
        if (c.a3() != 0) writeTimespec(c.a3(), old);
        return 0;
    }

    /** The timer a guest's timer_t names; EINVAL if there is none. */
    private int timer(long id) {
        if (id < 0 || id > Integer.MAX_VALUE || !timers.exists((int) id)) throw new SyscallError(EINVAL);
        return (int) id;
    }
}
