package dev.scratchvm.migration;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * In-memory {@link Transport}s for protocol tests without sockets: {@link #pair()} gives two
 * connected ends; {@link #replaying(byte[])} gives an end whose peer has sent exactly those
 * bytes and then closed. Every end records what was written to it.
 */
final class MemoryTransport implements Transport {
    /** One direction: a growable byte queue. */
    private static final class Pipe {
        private byte[] buf = new byte[1024];
        private int head, tail;
        private boolean closed;

        synchronized void write(ByteBuffer b) {
            int n = b.remaining();
            if (tail + n > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, tail + n));
            b.get(buf, tail, n);
            tail += n;
            notifyAll();
        }

        synchronized int read(ByteBuffer dst, long timeoutNanos) throws InterruptedException {
            long until = System.nanoTime() + timeoutNanos;
            while (head == tail && !closed) {
                long left = until - System.nanoTime();
                if (left <= 0) return 0;
                wait(Math.max(1, left / 1_000_000));
            }
            if (head == tail) return -1;
            int n = Math.min(dst.remaining(), tail - head);
            dst.put(buf, head, n);
            head += n;
            return n;
        }

        synchronized void close() {
            closed = true;
            notifyAll();
        }

        synchronized boolean isClosed() {
            return closed;
        }
    }

    private final Pipe in, out;
    private final ByteArrayOutputStream written = new ByteArrayOutputStream();
    private long idleNanos = 2_000_000_000L;
    private long bytesRead, bytesWritten;

    private MemoryTransport(Pipe in, Pipe out) {
        this.in = in;
        this.out = out;
    }

    static MemoryTransport[] pair() {
        Pipe a = new Pipe(), b = new Pipe();
        return new MemoryTransport[]{new MemoryTransport(a, b), new MemoryTransport(b, a)};
    }

    /** An end that reads {@code bytes}, then end of stream; what it writes goes nowhere. */
    static MemoryTransport replaying(byte[] bytes) {
        Pipe in = new Pipe();
        in.write(ByteBuffer.wrap(bytes));
        in.close();
        return new MemoryTransport(in, new Pipe());
    }

    /** Everything written to this end so far. */
    synchronized byte[] written() {
        return written.toByteArray();
    }

    @Override
    public void readFully(ByteBuffer dst) throws MigrationException {
        while (dst.hasRemaining()) {
            int n;
            try {
                n = in.read(dst, idleNanos);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw MigrationException.network("interrupted", MigrationException.ECONNABORTED);
            }
            if (n < 0) throw MigrationException.network("connection closed by peer", MigrationException.ECONNRESET);
            if (n == 0) throw MigrationException.network("no data from peer", dev.scratchvm.sys.Errno.ETIMEDOUT);
            bytesRead += n;
        }
    }

    @Override
    public void writeFully(ByteBuffer... srcs) throws MigrationException {
        if (out.isClosed()) throw MigrationException.network("connection closed", MigrationException.ECONNRESET);
        for (ByteBuffer b : srcs) {
            byte[] copy = new byte[b.remaining()];
            b.duplicate().get(copy);
            synchronized (this) {
                written.writeBytes(copy);
            }
            bytesWritten += copy.length;
            out.write(b);
        }
    }

    @Override
    public void deadline(long nanoTime) {
    }

    @Override
    public void idleTimeout(long nanos) {
        idleNanos = nanos;
    }

    @Override
    public long idleTimeout() {
        return idleNanos;
    }

    @Override
    public long bytesRead() {
        return bytesRead;
    }

    @Override
    public long bytesWritten() {
        return bytesWritten;
    }

    @Override
    public String peer() {
        return "memory";
    }

    @Override
    public void close() {
        in.close();
        out.close();
    }
}
