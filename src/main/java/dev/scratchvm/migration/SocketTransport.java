package dev.scratchvm.migration;

import dev.scratchvm.sys.Errno;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

/**
 * TCP through a non-blocking {@link SocketChannel} and a private {@link Selector}: blocking
 * channels ignore SO_TIMEOUT, and a selector gives read and write timeouts alike without a
 * watchdog thread. Reads and writes go straight between the kernel and the caller's buffers,
 * which for guest memory are views of the guest mapping (no copy through the Java heap).
 */
final class SocketTransport implements Transport {
    /** Large buffers let a fast link stay full while the sender checksums the next run. */
    static final int SOCKET_BUFFER = 4 << 20;

    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final String peer;
    private volatile boolean closed;
    private long idleNanos;
    private long deadline;
    private long read, written;
    /** Bytes the server's acceptor read before this transport existed; served before the socket's. */
    private ByteBuffer prefix;

    private SocketTransport(SocketChannel channel, Selector selector, String peer, long idleNanos) throws IOException {
        this.channel = channel;
        this.selector = selector;
        this.key = channel.register(selector, 0);
        this.peer = peer;
        this.idleNanos = idleNanos;
    }

    /** Connects within {@code timeouts.connect()}. */
    static SocketTransport connect(Endpoint to, Timeouts timeouts) throws MigrationException {
        InetSocketAddress address = to.resolve();
        SocketChannel ch = null;
        Selector sel = null;
        try {
            ch = SocketChannel.open();
            tune(ch);
            ch.configureBlocking(false);
            sel = Selector.open();
            SocketTransport t = new SocketTransport(ch, sel, to.toString(), timeouts.idle().toNanos());
            if (!ch.connect(address)) {
                long until = System.nanoTime() + timeouts.connect().toNanos();
                t.key.interestOps(SelectionKey.OP_CONNECT);
                while (!ch.finishConnect()) {
                    long left = until - System.nanoTime();
                    if (left <= 0) {
                        throw MigrationException.network("no answer from " + to + " within "
                                + seconds(timeouts.connect().toNanos()), Errno.ETIMEDOUT);
                    }
                    sel.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                    sel.selectedKeys().clear();
                }
            }
            return t;
        } catch (MigrationException e) {
            closeQuietly(ch, sel);
            throw e;
        } catch (ConnectException e) {
            closeQuietly(ch, sel);
            throw MigrationException.network("connection refused by " + to + " (is the server running?)", Errno.ECONNREFUSED);
        } catch (NoRouteToHostException e) {
            closeQuietly(ch, sel);
            throw MigrationException.network("no route to " + to, MigrationException.EHOSTUNREACH);
        } catch (IOException e) {
            closeQuietly(ch, sel);
            throw MigrationException.network("cannot connect to " + to + ": " + reason(e), MigrationException.EHOSTUNREACH);
        }
    }

    /** Wraps a connection accepted by a server socket. */
    static SocketTransport accepted(SocketChannel ch, Timeouts timeouts) throws IOException {
        return accepted(ch, timeouts, null);
    }

    /**
     * Wraps an accepted connection of which {@code alreadyRead} (flipped; may be null) was read
     * already: reads return those bytes first.
     */
    static SocketTransport accepted(SocketChannel ch, Timeouts timeouts, ByteBuffer alreadyRead) throws IOException {
        Selector sel = null;
        try {
            String peer = Endpoint.format((InetSocketAddress) ch.getRemoteAddress());
            tune(ch);
            ch.configureBlocking(false);
            sel = Selector.open();
            SocketTransport t = new SocketTransport(ch, sel, peer, timeouts.idle().toNanos());
            if (alreadyRead != null && alreadyRead.hasRemaining()) t.prefix = alreadyRead;
            return t;
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch, sel);
            throw e;
        }
    }

    private static void tune(SocketChannel ch) throws IOException {
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);   // the handshake and commit are request/response
        ch.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
        ch.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
        ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
    }

    @Override
    public void readFully(ByteBuffer dst) throws MigrationException {
        while (dst.hasRemaining()) readSome(dst);
    }

    /**
     * Reads at least one byte into {@code dst} (which has room), as many as are there: for a
     * layer above (TLS) that reads whole records, however many have arrived.
     */
    int readSome(ByteBuffer dst) throws MigrationException {
        if (prefix != null) {
            int n = Math.min(prefix.remaining(), dst.remaining());
            dst.put(prefix.slice(prefix.position(), n));
            prefix.position(prefix.position() + n);
            read += n;
            if (!prefix.hasRemaining()) prefix = null;
            return n;
        }
        try {
            while (true) {
                int n = channel.read(dst);
                if (n < 0) throw MigrationException.network("connection closed by " + peer, MigrationException.ECONNRESET);
                if (n > 0) {
                    read += n;
                    return n;
                }
                await(SelectionKey.OP_READ);
            }
        } catch (IOException | ClosedSelectorException | CancelledKeyException e) {
            throw lost(e);
        }
    }

    @Override
    public void writeFully(ByteBuffer... srcs) throws MigrationException {
        try {
            int first = 0;
            while (first < srcs.length) {
                long n = channel.write(srcs, first, srcs.length - first);
                written += n;
                while (first < srcs.length && !srcs[first].hasRemaining()) first++;
                if (n == 0 && first < srcs.length) await(SelectionKey.OP_WRITE);
            }
        } catch (IOException | ClosedSelectorException | CancelledKeyException e) {
            throw lost(e);
        }
    }

    private void await(int op) throws IOException, MigrationException {
        long now = System.nanoTime();
        long until = now + idleNanos;
        boolean byDeadline = deadline != 0 && deadline - until < 0;
        if (byDeadline) until = deadline;
        key.interestOps(op);
        while (true) {
            long left = until - System.nanoTime();
            if (left <= 0) {
                String what = byDeadline ? "the handshake with " + peer + " did not finish in time"
                        : (op == SelectionKey.OP_READ ? "no data from " : "no progress sending to ") + peer + " for " + seconds(idleNanos);
                throw MigrationException.network(what, Errno.ETIMEDOUT);
            }
            int ready = selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            if (closed) throw MigrationException.network("connection to " + peer + " closed", MigrationException.ECONNABORTED);
            if (ready > 0) {
                selector.selectedKeys().clear();
                return;
            }
        }
    }

    private MigrationException lost(Exception e) {
        if (closed) return MigrationException.network("connection to " + peer + " closed", MigrationException.ECONNABORTED);
        return MigrationException.network("connection to " + peer + " lost: " + reason(e), MigrationException.ECONNRESET);
    }

    private static String reason(Exception e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    static String seconds(long nanos) {
        double s = nanos / 1e9;
        return (s == Math.rint(s) ? String.valueOf((long) s) : String.format("%.1f", s)) + " s";
    }

    @Override
    public void deadline(long nanoTime) {
        deadline = nanoTime;
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
        return read;
    }

    @Override
    public long bytesWritten() {
        return written;
    }

    @Override
    public String peer() {
        return peer;
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(channel, selector);
    }

    /** Closes with a reset rather than a FIN (no TIME_WAIT left here): for peers pushed out unauthenticated. */
    void abort() {
        try {
            channel.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException | RuntimeException ignored) {
            // Closed already, or the option is refused: an ordinary close does as well.
        }
        close();
    }

    private static void closeQuietly(SocketChannel ch, Selector sel) {
        try {
            if (sel != null) sel.close();    // wakes a thread blocked in select()
        } catch (IOException ignored) {
            // Nothing useful to do: the connection is being abandoned.
        }
        try {
            if (ch != null) ch.close();
        } catch (IOException ignored) {
            // As above.
        }
    }
}
