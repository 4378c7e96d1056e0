package dev.scratchvm.linux;

import dev.scratchvm.sys.Libc;

import static dev.scratchvm.sys.Errno.*;

/** Clocks and sleeping, served from the host's clocks (there is no vDSO in the guest). */
final class TimeCalls {
    private static final int MAX_CLOCK = 11, TIMER_ABSTIME = 1;

    private final GuestArgs args;

    TimeCalls(GuestArgs args) {
        this.args = args;
    }

    void register(SyscallTable t) {
        t.register(Nr.CLOCK_GETTIME, "clock_gettime", c -> {
            if (c.a0() < 0 || c.a0() > MAX_CLOCK) return -EINVAL;
            return Libc.clockGettime((int) c.a0(), args.buffer(c.a1(), 16));
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
                long now = System.currentTimeMillis() * 1000 + (System.nanoTime() / 1000 % 1000);
                args.writeLong(c.a0(), now / 1_000_000);
                args.writeLong(c.a0() + 8, now % 1_000_000);
            }
            if (c.a1() != 0) args.buffer(c.a1(), 8).fill((byte) 0);
            return 0;
        });
        t.register(Nr.TIME, "time", c -> {
            long seconds = System.currentTimeMillis() / 1000;
            if (c.a0() != 0) args.writeLong(c.a0(), seconds);
            return seconds;
        });
        t.register(Nr.NANOSLEEP, "nanosleep", c -> sleep(c.a0(), c.a1()));
        t.register(Nr.CLOCK_NANOSLEEP, "clock_nanosleep", c -> {
            if ((c.a1() & TIMER_ABSTIME) != 0) return -EINVAL;
            return sleep(c.a2(), c.a3());
        });
    }

    private long sleep(long reqAddr, long remAddr) {
        long seconds = args.readLong(reqAddr), nanos = args.readLong(reqAddr + 8);
        if (seconds < 0 || nanos < 0 || nanos >= 1_000_000_000L) return -EINVAL;
        return Libc.nanosleep(args.buffer(reqAddr, 16), remAddr == 0 ? java.lang.foreign.MemorySegment.NULL : args.buffer(remAddr, 16));
    }
}
