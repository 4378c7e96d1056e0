package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.sys.Wakeup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Readiness of any file the guest holds, and the one way the guest waits for it. The guest
 * has a single thread, so while it waits nothing of the VMM's own files changes but the
 * timers: a wait scans what it waits for, and if nothing is ready blocks in one host ppoll
 * on the host fds among them (stdio, devices), the nearest timer expiry, its timeout and
 * the {@link Wakeup} a pause uses, then scans again.
 */
final class Waits {
    static final int POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20,
            POLLRDNORM = 0x40, POLLRDBAND = 0x80, POLLWRNORM = 0x100, POLLWRBAND = 0x200, POLLRDHUP = 0x2000;
    /** What poll reports for a regular file or a directory: always ready (DEFAULT_POLLMASK). */
    static final int ALWAYS_READY = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
    /** What a scan returns when the wait was cut short by a pause. */
    static final long WOKEN = Long.MIN_VALUE;
    private static final int MAX_HOST_FDS = FdTable.MAX_FDS;

    /** What a wait checks: a count of ready things (or -errno) to return, 0 to go on waiting. */
    @FunctionalInterface
    interface Scan {
        long run();
    }

    private final Wakeup wakeup;
    private final Arena arena = Arena.ofAuto();
    /** struct pollfd: slot 0 is the wakeup's, then the host fds the last scan looked at. */
    private final MemorySegment pollFds = arena.allocate(8L * (MAX_HOST_FDS + 1), 8);
    private final MemorySegment one = arena.allocate(8, 8), zero = arena.allocate(16, 8);
    private int hostFds;
    private long nextTimer;
    private long remaining;

    Waits(Wakeup wakeup) {
        this.wakeup = wakeup;
    }

    /** The events ready on {@code f} now; for a host fd, also what the next block waits for. */
    int poll(OpenFile f, int interest, int depth) {
        if (f.virtual != null) return f.virtual.poll(this, depth);
        if (f.kind == FileKind.REGULAR || f.kind == FileKind.DIRECTORY) return ALWAYS_READY;
        return host(f.hostFd, interest);
    }

    private int host(int fd, int interest) {
        one.set(JAVA_INT, 0, fd);
        one.set(JAVA_SHORT, 4, (short) interest);
        one.set(JAVA_SHORT, 6, (short) 0);
        int n = Libc.ppoll(one, 1, zero);
        if (hostFds < MAX_HOST_FDS) {
            long at = 8L * (1 + hostFds++);
            pollFds.set(JAVA_INT, at, fd);
            pollFds.set(JAVA_SHORT, at + 4, (short) interest);
        }
        return n > 0 ? one.get(JAVA_SHORT, 6) & 0xffff : 0;
    }

    /** A timer the scan looked at expires in {@code nanos}. */
    void timer(long nanos) {
        nanos = Math.max(0, nanos);
        nextTimer = nextTimer < 0 ? nanos : Math.min(nextTimer, nanos);
    }

    /**
     * Scans until it finds something, {@code timeoutNanos} pass (negative: no limit; 0: scan
     * once) or a pause cuts in. Returns the scan's result, 0 when the time is up, or
     * {@link #WOKEN}, after which {@link #remaining()} tells how much of the timeout was left.
     */
    long until(Scan scan, long timeoutNanos) {
        long start = System.nanoTime();
        while (true) {
            hostFds = 0;
            nextTimer = -1;
            long r = scan.run();
            if (r != 0) return r;
            long left = timeoutNanos < 0 ? -1 : timeoutNanos - (System.nanoTime() - start);
            if (timeoutNanos >= 0 && left <= 0) return 0;
            long block = left < 0 ? nextTimer : nextTimer < 0 ? left : Math.min(left, nextTimer);
            if (wakeup.awaitAny(pollFds, 1 + hostFds, block) == Wakeup.Result.WOKEN) {
                remaining = timeoutNanos < 0 ? -1 : Math.max(0, timeoutNanos - (System.nanoTime() - start));
                return WOKEN;
            }
        }
    }

    /** After {@link #WOKEN}: the part of the timeout that was left, or -1 for a wait without limit. */
    long remaining() {
        return remaining;
    }

}
