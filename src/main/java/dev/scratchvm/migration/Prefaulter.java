package dev.scratchvm.migration;

import dev.scratchvm.sys.Libc;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Faults the server's fresh guest memory in on a thread of its own, ahead of the pages the
 * client announced (PLAN), so that the receiving thread copies from the socket into memory that
 * already exists instead of taking a page fault every 4 KiB (which made reception, not the
 * network, the limit). MADV_POPULATE_WRITE (Linux 5.14) does it in one call per chunk; where
 * the kernel lacks it, this thread stops and reception faults pages in as before.
 */
final class Prefaulter implements AutoCloseable {
    private static final int MADV_POPULATE_WRITE = 23;
    /** Small enough that the receiver, working through the same runs, seldom waits on this thread's page-table lock for long. */
    private static final long CHUNK = 2L << 20;
    private static final long[] STOP = new long[0];

    private final MemorySegment guest;
    private final LinkedBlockingQueue<long[]> runs = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean closed;
    private volatile long populatedBytes;

    Prefaulter(MemorySegment guest) {
        this.guest = guest;
        this.thread = Thread.ofPlatform().name("migration-prefault").daemon().start(this::loop);
    }

    void add(List<long[]> planned) {
        runs.addAll(planned);
    }

    /** Bytes faulted in so far (for measurements). */
    long populatedBytes() {
        return populatedBytes;
    }

    private void loop() {
        try {
            for (long[] r; (r = runs.take()) != STOP && !closed; ) {
                long at = r[0] * Messages.PAGE, end = at + r[1] * Messages.PAGE;
                for (; at < end && !closed; at += CHUNK) {
                    long len = Math.min(CHUNK, end - at);
                    if (Libc.madvise(guest.address() + at, len, MADV_POPULATE_WRITE) != 0) return;
                    populatedBytes += len;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the thread and waits for it: the memory may be unmapped afterwards. */
    @Override
    public void close() {
        closed = true;
        runs.add(STOP);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
