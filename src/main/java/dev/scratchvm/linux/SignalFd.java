package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.PendingSignal;

import java.lang.foreign.MemorySegment;

import static dev.scratchvm.sys.Errno.EAGAIN;
import static dev.scratchvm.sys.Errno.EINVAL;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * signalfd(2): a file that is readable while a signal of its mask is pending, and whose read
 * takes such signals off the queue as struct signalfd_siginfo, as Linux's does. It holds
 * nothing but its mask: the pending signals are the process's (saved with them).
 */
final class SignalFd implements VirtualFile {
    /** sizeof(struct signalfd_siginfo). */
    static final int SIGINFO_SIZE = 128;

    private final Signals signals;
    private final SignalDelivery delivery;
    private long mask;

    SignalFd(Signals signals, SignalDelivery delivery, long mask) {
        this.signals = signals;
        this.delivery = delivery;
        setMask(mask);
    }

    long mask() {
        return mask;
    }

    /** SIGKILL and SIGSTOP are never read through a signalfd. */
    void setMask(long mask) {
        this.mask = mask & ~Signals.UNBLOCKABLE;
    }

    private long ready() {
        delivery.collectTimers(); // a timer that expired is a pending signal now
        return signals.pendingMask() & mask;
    }

    @Override
    public int poll(Waits waits, int depth) {
        return ready() != 0 ? Waits.POLLIN | Waits.POLLRDNORM : 0;
    }

    @Override
    public long arrivals(int interest) {
        return (interest & Waits.POLLIN) != 0 ? signals.queued() : 0;
    }

    /** As many pending signals of the mask as whole structs fit, lowest (synchronous first) first. */
    @Override
    public long read(MemorySegment dst, long length) {
        if (length < SIGINFO_SIZE) return -EINVAL;
        long done = 0;
        long r;
        while (done + SIGINFO_SIZE <= length && (r = ready()) != 0) {
            PendingSignal p = signals.dequeue(r);
            write(dst.asSlice(done, SIGINFO_SIZE), p, delivery.overrun(p));
            done += SIGINFO_SIZE;
        }
        return done > 0 ? done : -EAGAIN;
    }

    /** struct signalfd_siginfo: what Linux's signalfd_copyinfo fills for each kind of sender. */
    private static void write(MemorySegment out, PendingSignal p, int overrun) {
        out.fill((byte) 0);
        out.set(JAVA_INT_UNALIGNED, 0, p.signal());
        out.set(JAVA_INT_UNALIGNED, 8, p.code());
        if (p.code() == Signals.SI_TIMER) {
            out.set(JAVA_INT_UNALIGNED, 24, p.timerId());
            out.set(JAVA_INT_UNALIGNED, 32, overrun);
        } else {
            out.set(JAVA_INT_UNALIGNED, 12, p.pid());
            out.set(JAVA_INT_UNALIGNED, 16, p.uid());
        }
        if (p.code() == Signals.SI_TIMER || p.code() == Signals.SI_QUEUE) {
            out.set(JAVA_INT_UNALIGNED, 44, (int) p.value());
            out.set(JAVA_LONG_UNALIGNED, 48, p.value());
        }
    }

    @Override
    public long write(MemorySegment src, long length) {
        return -EINVAL; // a signalfd has no write operation
    }
}
