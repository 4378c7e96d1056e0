package dev.scratchvm.linux;

import java.lang.foreign.MemorySegment;

/**
 * A file the VMM implements itself, with no host fd behind it: a pipe end, an eventfd, a
 * timerfd, an epoll instance, a signalfd. Its whole state lives in the VMM, so it is saved with the VM.
 * Reads and writes never wait: they return -EAGAIN, and the caller waits (interruptibly)
 * when the file is in blocking mode.
 */
sealed interface VirtualFile permits Pipe.End, EventFd, TimerFd, Epoll, SignalFd {
    /**
     * The poll events ready now (POLLIN, POLLOUT, POLLHUP, POLLERR...). A file whose
     * readiness changes by itself (a timer) tells {@code waits} when; {@code depth} counts
     * nested epoll instances.
     */
    int poll(Waits waits, int depth);

    /**
     * A count that moves whenever an event of {@code interest} arrives (a write for the
     * reader, a read for the writer, an expiry): the edges edge-triggered epoll reports.
     */
    long arrivals(int interest);

    /** Up to {@code length} bytes into {@code dst}: the count, -EAGAIN when it would wait, or -errno. */
    long read(MemorySegment dst, long length);

    /** From {@code src}: the count written, -EAGAIN when it would wait, or -errno. */
    long write(MemorySegment src, long length);

    /** The last descriptor referring to it was closed. */
    default void release() {
    }
}
