package dev.scratchvm.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * An eventfd that cuts a thread's host waits short. The waiting thread polls its fd
 * together with the eventfd; any other thread may {@link #wake} it. A wake stays in
 * effect until {@link #clear}, so one that arrives before the wait starts is not lost.
 */
public final class Wakeup implements AutoCloseable {
    /** How a wait ended. */
    public enum Result { READY, TIMED_OUT, WOKEN }

    private final int eventFd;
    private final Arena arena = Arena.ofShared();
    /** Only the waiting thread uses these: two struct pollfd and a struct timespec. */
    private final MemorySegment pollFds = arena.allocate(16, 8), timeout = arena.allocate(16, 8);
    private final MemorySegment one = arena.allocate(8, 8), drain = arena.allocate(8, 8);

    public Wakeup() {
        eventFd = Libc.check("eventfd", Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK));
        one.set(JAVA_LONG, 0, 1);
    }

    /** Wakes the waiter now, or makes its next wait return at once. Safe from any thread. */
    public void wake() {
        Libc.write(eventFd, one, 8);
    }

    /** Forgets earlier wakes. */
    public void clear() {
        Libc.read(eventFd, drain, 8);
    }

    /**
     * Waits until {@code fd} reports one of {@code events}, {@code nanos} pass, or a wake.
     * A wake takes precedence; POLLERR/POLLHUP/POLLNVAL count as ready, as the call that
     * follows reports them.
     *
     * @param fd    the host fd, or -1 to wait for time alone
     * @param nanos how long at most; negative waits without limit
     */
    public Result await(int fd, int events, long nanos) {
        while (true) {
            long start = nanos > 0 ? System.nanoTime() : 0;
            Result r = poll(fd, events, nanos);
            if (r != null) return r;
            if (nanos > 0) nanos = Math.max(0, nanos - (System.nanoTime() - start)); // EINTR: wait the rest
        }
    }

    /**
     * Waits until one of the host fds in {@code pollFds} (struct pollfd from index 1 on;
     * index 0 is this wakeup's, filled in here) reports an event, {@code nanos} pass, or a
     * wake. The revents are left in {@code pollFds}.
     */
    public Result awaitAny(MemorySegment pollFds, int count, long nanos) {
        while (true) {
            long start = nanos > 0 ? System.nanoTime() : 0;
            pollFds.set(JAVA_INT, 0, eventFd);
            pollFds.set(JAVA_SHORT, 4, (short) Libc.POLLIN);
            pollFds.set(JAVA_SHORT, 6, (short) 0);
            MemorySegment limit = MemorySegment.NULL;
            if (nanos >= 0) {
                timeout.set(JAVA_LONG, 0, nanos / 1_000_000_000L);
                timeout.set(JAVA_LONG, 8, nanos % 1_000_000_000L);
                limit = timeout;
            }
            int n = Libc.ppoll(pollFds, count, limit);
            if (n >= 0) {
                if (pollFds.get(JAVA_SHORT, 6) != 0) return Result.WOKEN;
                return n == 0 ? Result.TIMED_OUT : Result.READY;
            }
            if (n != -Errno.EINTR) throw new NativeException("ppoll", -n);
            if (nanos > 0) nanos = Math.max(0, nanos - (System.nanoTime() - start));
        }
    }

    /** One ppoll; null when a signal interrupted it. */
    private Result poll(int fd, int events, long nanos) {
        pollFds.set(JAVA_INT, 0, eventFd);
        pollFds.set(JAVA_SHORT, 4, (short) Libc.POLLIN);
        pollFds.set(JAVA_SHORT, 6, (short) 0);
        pollFds.set(JAVA_INT, 8, fd);
        pollFds.set(JAVA_SHORT, 12, (short) events);
        pollFds.set(JAVA_SHORT, 14, (short) 0);
        MemorySegment limit = MemorySegment.NULL;
        if (nanos >= 0) {
            timeout.set(JAVA_LONG, 0, nanos / 1_000_000_000L);
            timeout.set(JAVA_LONG, 8, nanos % 1_000_000_000L);
            limit = timeout;
        }
        int n = Libc.ppoll(pollFds, fd >= 0 ? 2 : 1, limit);
        if (n == -Errno.EINTR) return null;
        if (n < 0) throw new NativeException("ppoll", -n);
        if (pollFds.get(JAVA_SHORT, 6) != 0) return Result.WOKEN;
        return n == 0 ? Result.TIMED_OUT : Result.READY;
    }

    @Override
    public void close() {
        Libc.close(eventFd);
        arena.close();
    }
}
