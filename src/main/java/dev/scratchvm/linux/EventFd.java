package dev.scratchvm.linux;

import java.lang.foreign.MemorySegment;

import static dev.scratchvm.sys.Errno.EAGAIN;
import static dev.scratchvm.sys.Errno.EINVAL;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/** eventfd(2): an unsigned 64-bit counter that reads take and writes add to. */
final class EventFd implements VirtualFile {
    /** The counter never reaches 2^64 - 1: a write that would get there waits. */
    private static final long MAX = -2L;

    private long count;
    final boolean semaphore;
    private long reads, writes;

    EventFd(long count, boolean semaphore) {
        this.count = count;
        this.semaphore = semaphore;
    }

    long count() {
        return count;
    }

    @Override
    public int poll(Waits waits, int depth) {
        return (count != 0 ? Waits.POLLIN | Waits.POLLRDNORM : 0)
                | (Long.compareUnsigned(count, MAX) < 0 ? Waits.POLLOUT | Waits.POLLWRNORM : 0);
    }

    @Override
    public long arrivals(int interest) {
        return ((interest & Waits.POLLIN) != 0 ? writes : 0) + ((interest & Waits.POLLOUT) != 0 ? reads : 0);
    }

    @Override
    public long read(MemorySegment dst, long length) {
        if (length < 8) return -EINVAL;
        if (count == 0) return -EAGAIN;
        long value = semaphore ? 1 : count;
        dst.set(JAVA_LONG_UNALIGNED, 0, value);
        count -= value;
        reads++;
        return 8;
    }

    @Override
    public long write(MemorySegment src, long length) {
        if (length != 8) return -EINVAL; // exactly 8 since Linux 6.x (a read takes any buffer of 8 or more)
        long value = src.get(JAVA_LONG_UNALIGNED, 0);
        if (value == -1L) return -EINVAL;
        if (Long.compareUnsigned(-1L - count, value) <= 0) return -EAGAIN;
        count += value;
        writes++;
        return 8;
    }
}
