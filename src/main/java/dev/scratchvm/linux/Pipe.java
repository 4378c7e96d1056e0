package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.PipeBuffer;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import static dev.scratchvm.sys.Errno.EAGAIN;
import static dev.scratchvm.sys.Errno.EBUSY;
import static dev.scratchvm.sys.Errno.EINVAL;
import static dev.scratchvm.sys.Errno.EPERM;
import static dev.scratchvm.sys.Errno.EBADF;
import static dev.scratchvm.sys.Errno.EPIPE;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * A pipe inside the one guest process, its buffer held by the VMM rather than by a host
 * pipe: the unread bytes are then plain state, saved with the VM and restored anywhere,
 * and nothing is lost or read twice around a save (draining a host pipe at save and
 * refilling it at restore would need both to be exact, and a host pipe's capacity is the
 * host's). As Linux does, the buffer is a ring of 16 pages: a write that does not fill a
 * page goes on in the last page while it has room, otherwise it takes a new page, so the
 * bytes a pipe still takes are those Linux would take.
 */
final class Pipe {
    static final int PAGE = 4096, PAGES = 16;
    /** pipe-max-size: what F_SETPIPE_SZ may ask for without CAP_SYS_RESOURCE. */
    static final int MAX_PAGES = 256;

    private static final class Page {
        final byte[] bytes = new byte[PAGE];
        int offset, length;
    }

    private final ArrayDeque<Page> pages = new ArrayDeque<>();
    private boolean readerOpen, writerOpen;
    /** Capacity in pages (F_SETPIPE_SZ), accounted in {@link #budget}. */
    private int slots;
    private final PipeBudget budget;
    /** Completed writes and reads, for edge-triggered epoll. */
    private long writes, reads;
    final End readEnd = new End(true), writeEnd = new End(false);

    Pipe(PipeBudget budget) {
        this(budget, true, true, List.of(), budget.forNewPipe());
    }

    private Pipe(PipeBudget budget, boolean readerOpen, boolean writerOpen, List<PipeBuffer> buffers, int slots) {
        this.budget = budget;
        this.slots = slots;
        this.readerOpen = readerOpen;
        this.writerOpen = writerOpen;
        for (PipeBuffer b : buffers) {
            Page p = new Page();
            p.offset = b.offset();
            p.length = b.data().length;
            System.arraycopy(b.data(), 0, p.bytes, p.offset, p.length);
            pages.add(p);
        }
    }

    /** A pipe rebuilt from saved state (StateRules have checked the buffers fit). */
    static Pipe restore(PipeBudget budget, boolean readerOpen, boolean writerOpen, List<PipeBuffer> buffers, int pages) {
        budget.restored(pages);
        return new Pipe(budget, readerOpen, writerOpen, buffers, pages);
    }

    int pages() {
        return slots;
    }

    /** Capacity in bytes (F_GETPIPE_SZ). */
    int capacity() {
        return slots * PAGE;
    }

    /**
     * F_SETPIPE_SZ: the size rounded up to a power-of-2 number of pages; -EPERM above
     * pipe-max-size (1 MiB: the guest gets no CAP_SYS_RESOURCE) or past the guest's
     * {@link PipeBudget}, -EBUSY if the bytes in it would not fit. Returns the new capacity.
     */
    long resize(long size) {
        if (size > 1L << 31) return -EINVAL;
        long bytes = size < PAGE ? PAGE : Long.highestOneBit(size - 1) << 1;
        if (bytes > (long) MAX_PAGES * PAGE) return -EPERM;
        int wanted = (int) (bytes / PAGE);
        if (wanted < pages.size()) return -EBUSY;
        if (!budget.resize(slots, wanted)) return -EPERM;
        slots = wanted;
        return bytes;
    }

    List<PipeBuffer> buffers() {
        List<PipeBuffer> out = new ArrayList<>(pages.size());
        for (Page p : pages) {
            byte[] data = new byte[p.length];
            System.arraycopy(p.bytes, p.offset, data, 0, p.length);
            out.add(new PipeBuffer(p.offset, data));
        }
        return out;
    }

    /** The inode number fstat and /proc/self/fd show: the same for both ends, stable while the pipe lives. */
    long inode() {
        return System.identityHashCode(this) & 0xffffffffL;
    }

    /** Bytes waiting to be read (FIONREAD). */
    int available() {
        int n = 0;
        for (Page p : pages) n += p.length;
        return n;
    }

    private long read(MemorySegment dst, long length) {
        if (length == 0) return 0;
        if (pages.isEmpty()) return writerOpen ? -EAGAIN : 0; // no writer left: end of file
        long done = 0;
        while (done < length && !pages.isEmpty()) {
            Page p = pages.peekFirst();
            int n = (int) Math.min(p.length, length - done);
            MemorySegment.copy(p.bytes, p.offset, dst, JAVA_BYTE, done, n);
            p.offset += n;
            p.length -= n;
            done += n;
            if (p.length == 0) pages.removeFirst();
        }
        reads++;
        return done;
    }

    private long write(MemorySegment src, long length) {
        if (!readerOpen) return -EPIPE;
        if (length == 0) return 0;
        long done = 0;
        // What does not fill whole pages may go on in the last one (pipe_write's merge).
        int rest = (int) (length & (PAGE - 1));
        Page last = pages.peekLast();
        if (rest != 0 && last != null && last.offset + last.length + rest <= PAGE) {
            MemorySegment.copy(src, JAVA_BYTE, 0, last.bytes, last.offset + last.length, rest);
            last.length += rest;
            done = rest;
        }
        while (done < length && pages.size() < slots) {
            Page p = new Page();
            p.length = (int) Math.min(PAGE, length - done);
            MemorySegment.copy(src, JAVA_BYTE, done, p.bytes, 0, p.length);
            pages.addLast(p);
            done += p.length;
        }
        if (done == 0) return -EAGAIN;
        writes++;
        return done;
    }

    /** One end; each is one open file description (pipe(2) makes two, dup shares them). */
    final class End implements VirtualFile {
        final boolean reader;

        private End(boolean reader) {
            this.reader = reader;
        }

        Pipe pipe() {
            return Pipe.this;
        }

        @Override
        public int poll(Waits waits, int depth) {
            if (reader) return (pages.isEmpty() ? 0 : Waits.POLLIN | Waits.POLLRDNORM) | (writerOpen ? 0 : Waits.POLLHUP);
            return (pages.size() < slots ? Waits.POLLOUT | Waits.POLLWRNORM : 0) | (readerOpen ? 0 : Waits.POLLERR);
        }

        @Override
        public long arrivals(int interest) {
            return reader ? writes + (writerOpen ? 0 : 1) : reads + (readerOpen ? 0 : 1);
        }

        @Override
        public long read(MemorySegment dst, long length) {
            return reader ? Pipe.this.read(dst, length) : -EBADF;
        }

        @Override
        public long write(MemorySegment src, long length) {
            return reader ? -EBADF : Pipe.this.write(src, length);
        }

        @Override
        public void release() {
            if (reader) readerOpen = false;
            else writerOpen = false;
            if (!readerOpen && !writerOpen) {
                budget.release(slots);
                pages.clear();
            }
        }
    }
}
