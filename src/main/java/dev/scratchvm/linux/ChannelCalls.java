package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.MemorySegment;

import static dev.scratchvm.sys.Errno.EINVAL;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static dev.scratchvm.sys.Errno.EMFILE;

/**
 * The files the VMM implements for the guest: pipe(2) and pipe2(2), eventfd(2), and
 * timerfd_create(2) with timerfd_settime and timerfd_gettime. Reading and writing them goes
 * through {@link FileCalls} like any file; waiting on them through {@link WaitCalls}.
 */
final class ChannelCalls {
    private static final int EFD_SEMAPHORE = 1, TFD_TIMER_ABSTIME = 1, TFD_TIMER_CANCEL_ON_SET = 2;
    private static final long NANOS = 1_000_000_000L;

    private final GuestArgs args;
    private final FdTable fds;
    private final FileCalls files;
    private final Trace trace;
    private final PipeBudget pipes;

    ChannelCalls(GuestArgs args, FdTable fds, FileCalls files, Trace trace, PipeBudget pipes) {
        this.pipes = pipes;
        this.args = args;
        this.fds = fds;
        this.files = files;
        this.trace = trace;
    }

    void register(SyscallTable t) {
        t.registerTraced(Nr.PIPE, "pipe", c -> pipe(c.a0(), 0));
        t.registerTraced(Nr.PIPE2, "pipe2", c -> pipe(c.a0(), (int) c.a1()));
        t.registerTraced(Nr.EVENTFD, "eventfd", c -> eventfd(c.a0(), 0));
        t.registerTraced(Nr.EVENTFD2, "eventfd2", c -> eventfd(c.a0(), (int) c.a1()));
        t.registerTraced(Nr.TIMERFD_CREATE, "timerfd_create", c -> timerfdCreate((int) c.a0(), (int) c.a1()));
        t.registerTraced(Nr.TIMERFD_SETTIME, "timerfd_settime", this::timerfdSettime);
        t.registerTraced(Nr.TIMERFD_GETTIME, "timerfd_gettime", c -> {
            TimerFd timer = timer(c.fd());
            args.output(c.a1(), 32);
            putTimes(c.a1(), timer.remainingAndInterval());
            return traced("TIMERFD_GETTIME " + c.fd(), 0);
        });
    }

    private long traced(String text, long result) {
        trace.file(text, result);
        return result;
    }

    /** pipe2: flags O_CLOEXEC and O_NONBLOCK (O_DIRECT's packet mode is not offered). */
    private long pipe(long fdsAddr, int flags) {
        String label = "PIPE2 " + flags;
        if ((flags & ~(Libc.O_CLOEXEC | Libc.O_NONBLOCK)) != 0) return traced(label, -EINVAL);
        args.output(fdsAddr, 8);
        boolean cloexec = (flags & Libc.O_CLOEXEC) != 0;
        int nonblock = flags & Libc.O_NONBLOCK;
        Pipe pipe = new Pipe(pipes);
        OpenFile reader = new OpenFile(pipe.readEnd, FileKind.PIPE, Libc.O_RDONLY | nonblock);
        OpenFile writer = new OpenFile(pipe.writeEnd, FileKind.PIPE, Libc.O_WRONLY | nonblock);
        int r = fds.install(reader, cloexec, 0);
        if (r < 0) return traced(label, -EMFILE);
        int w = fds.install(writer, cloexec, 0);
        if (w < 0) {
            fds.close(r);
            return traced(label, -EMFILE);
        }
        MemorySegment out = args.output(fdsAddr, 8);
        out.set(JAVA_INT_UNALIGNED, 0, r);
        out.set(JAVA_INT_UNALIGNED, 4, w);
        return traced(label + " -> " + r + " " + w, 0);
    }

    private long eventfd(long initial, int flags) {
        String label = "EVENTFD2 " + (initial & 0xffffffffL) + " " + flags;
        if ((flags & ~(EFD_SEMAPHORE | Libc.O_CLOEXEC | Libc.O_NONBLOCK)) != 0) return traced(label, -EINVAL);
        EventFd e = new EventFd(initial & 0xffffffffL, (flags & EFD_SEMAPHORE) != 0);
        return traced(label, install(new OpenFile(e, FileKind.EVENTFD, Libc.O_RDWR | (flags & Libc.O_NONBLOCK)), flags));
    }

    private long timerfdCreate(int clock, int flags) {
        String label = "TIMERFD_CREATE " + clock + " " + flags;
        if ((flags & ~(Libc.O_CLOEXEC | Libc.O_NONBLOCK)) != 0) return traced(label, -EINVAL);
        if (clock != TimerFd.CLOCK_REALTIME && clock != TimerFd.CLOCK_MONOTONIC && clock != TimerFd.CLOCK_BOOTTIME) {
            return traced(label, -EINVAL);
        }
        TimerFd t = new TimerFd(clock);
        return traced(label, install(new OpenFile(t, FileKind.TIMERFD, Libc.O_RDWR | (flags & Libc.O_NONBLOCK)), flags));
    }

    private int install(OpenFile f, int flags) {
        int fd = fds.install(f, (flags & Libc.O_CLOEXEC) != 0, 0);
        return fd < 0 ? -EMFILE : fd;
    }

    private TimerFd timer(int fd) {
        OpenFile f = files.file(fd);
        if (!(f.virtual instanceof TimerFd t)) throw new SyscallError(EINVAL);
        return t;
    }

    private long timerfdSettime(Call c) {
        String label = "TIMERFD_SETTIME " + c.fd() + " " + c.a1();
        int flags = (int) c.a1();
        if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) != 0) return traced(label, -EINVAL);
        long interval = timespec(c.a2()), value = timespec(c.a2() + 16);
        TimerFd timer = timer(c.fd());
        // TFD_TIMER_CANCEL_ON_SET is accepted, as Linux does, but the host's clock being set is not passed on.
        if (c.a3() != 0) args.output(c.a3(), 32);
        long[] old = timer.remainingAndInterval();
        timer.set(value, interval, (flags & TFD_TIMER_ABSTIME) != 0);
        if (c.a3() != 0) putTimes(c.a3(), old);
        return traced(label, 0);
    }

    /** A struct timespec as nanoseconds; EINVAL unless 0 <= tv_nsec < 10^9 and tv_sec >= 0. */
    private long timespec(long addr) {
        long seconds = args.readLong(addr), nanos = args.readLong(addr + 8);
        if (seconds < 0 || nanos < 0 || nanos >= NANOS) throw new SyscallError(EINVAL);
        return seconds >= Long.MAX_VALUE / NANOS - 1 ? Long.MAX_VALUE : seconds * NANOS + nanos;
    }

    /** struct itimerspec {it_interval, it_value}. */
    private void putTimes(long addr, long[] remainingAndInterval) {
        long interval = remainingAndInterval[1], value = remainingAndInterval[0];
        args.writeLong(addr, interval / NANOS);
        args.writeLong(addr + 8, interval % NANOS);
        args.writeLong(addr + 16, value / NANOS);
        args.writeLong(addr + 24, value % NANOS);
    }

}
