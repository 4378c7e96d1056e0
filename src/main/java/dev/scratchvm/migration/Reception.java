package dev.scratchvm.migration;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The server's front door: one thread accepts connections and, with one selector, reads each
 * one's first flight (preamble and HELLO) without a thread per connection. Unauthenticated
 * connections live within a small budget ({@link Admission}) and a deadline counted from
 * accept; a connection whose HELLO arrived is handed, with its ticket and those bytes, to
 * its own virtual thread for the rest of the handshake.
 */
final class Reception implements AutoCloseable {
    /** Unauthenticated connections at once, in all and from one address (IPv6: one /64); see {@link Admission}. */
    static final int MAX_UNAUTHENTICATED = 64, MAX_UNAUTHENTICATED_PER_ADDRESS = 8;
    /** Preamble and HELLO: what a client sends before it hears from the server. */
    static final int FIRST_FLIGHT = Messages.Preamble.BYTES + FrameWriter.HEADER + Messages.Hello.BYTES + FrameWriter.TRAILER;
    /** Connections the kernel queues until accepted: enough that a flood of connects does not crowd out a client's SYN. */
    private static final int BACKLOG = 1024;
    private static final int ACCEPT_BATCH = 16;

    /** Goes on with a connection whose first flight arrived; runs on its own thread. */
    @FunctionalInterface
    interface Handshaker {
        void handshake(SocketChannel ch, Admission.Ticket ticket, ByteBuffer first);
    }

    private final ServerSocketChannel server;
    private final Selector selector;
    private final Timeouts timeouts;
    private final Consumer<String> log;
    private final Handshaker handshaker;
    /** Whether clients must speak TLS: their first flight is then a TLS record (the ClientHello). */
    private final boolean tls;
    private final Admission admission = new Admission(MAX_UNAUTHENTICATED, MAX_UNAUTHENTICATED_PER_ADDRESS);
    /** Connections whose first flight the acceptor is reading; only the acceptor thread touches these. */
    private final Set<Waiting> waiting = new LinkedHashSet<>();
    private boolean flush;
    private final DropLog drops;
    private final Thread acceptor;
    private volatile boolean closed;

    /** A connection whose preamble and HELLO are still arriving: a socket, a 57-byte buffer and its ticket; no thread. */
    private static final class Waiting {
        final SocketChannel ch;
        final String peer;
        ByteBuffer first = ByteBuffer.allocate(FIRST_FLIGHT);
        Admission.Ticket ticket;
        SelectionKey key;

        Waiting(SocketChannel ch, String peer) {
            this.ch = ch;
            this.peer = peer;
        }
    }

    /**
     * Log lines about unauthenticated connections, at most {@link #PER_SECOND} a second: a flood
     * must not become a flood of log lines. What is held back is counted in one line.
     */
    private static final class DropLog {
        private static final int PER_SECOND = 10;
        private static final long WINDOW = TimeUnit.SECONDS.toNanos(1);
        private final Consumer<String> log;
        private long windowStart;
        private int lines;
        private long held;

        DropLog(Consumer<String> log) {
            this.log = log;
            this.windowStart = System.nanoTime() - WINDOW;
        }

        synchronized void line(String text) {
            flush();
            if (lines++ < PER_SECOND) log.accept(text);
            else held++;
        }

        /** Ends the current window once its second is over, reporting what it held back. */
        synchronized void flush() {
            long now = System.nanoTime();
            if (now - windowStart < WINDOW) return;
            if (held > 0) log.accept("dropped " + held + " more unauthenticated connections in the last second (not logged one by one)");
            windowStart = now;
            lines = 0;
            held = 0;
        }

        synchronized boolean holding() {
            return held > 0;
        }

        /** When {@link #flush} has something to report, if {@link #holding}. */
        synchronized long due() {
            return windowStart + WINDOW;
        }
    }

    private Reception(ServerSocketChannel server, Selector selector, Timeouts timeouts, Consumer<String> log, Handshaker handshaker,
                      boolean tls) {
        this.server = server;
        this.tls = tls;
        this.selector = selector;
        this.timeouts = timeouts;
        this.log = log;
        this.handshaker = handshaker;
        this.drops = new DropLog(log);
        this.acceptor = Thread.ofPlatform().name("migration-acceptor").daemon().start(this::acceptLoop);
    }

    /** Binds {@code at} (port 0 picks a free port) and starts accepting. */
    static Reception open(Endpoint at, Timeouts timeouts, Consumer<String> log, Handshaker handshaker) throws IOException {
        return open(at, timeouts, log, handshaker, false);
    }

    /** As {@link #open(Endpoint, Timeouts, Consumer, Handshaker)}; with {@code tls}, a first flight is one TLS record. */
    static Reception open(Endpoint at, Timeouts timeouts, Consumer<String> log, Handshaker handshaker, boolean tls) throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open();
        Selector sel = null;
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ch.setOption(StandardSocketOptions.SO_RCVBUF, SocketTransport.SOCKET_BUFFER);
            ch.bind(new InetSocketAddress(at.host(), at.port()), BACKLOG);
            ch.configureBlocking(false);
            sel = Selector.open();
            ch.register(sel, SelectionKey.OP_ACCEPT);
        } catch (IOException e) {
            if (sel != null) sel.close();
            ch.close();
            throw new IOException("cannot listen on " + at + ": " + e.getMessage(), e);
        }
        return new Reception(ch, sel, timeouts, log, handshaker, tls);
    }

    InetSocketAddress address() {
        try {
            return (InetSocketAddress) server.getLocalAddress();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Unauthenticated connections held now. */
    int unauthenticated() {
        return admission.size();
    }

    /** The connection authenticated or failed: it leaves the budget. False if it was evicted already. */
    boolean release(Admission.Ticket ticket) {
        return admission.release(ticket);
    }

    /** A line about an unauthenticated peer, rate-limited. */
    void dropped(String line) {
        drops.line(line);
    }

    private void acceptLoop() {
        while (true) {
            try {
                if (flush) {
                    flush = false;
                    selector.selectNow();   // also completes the close of channels dropped since the last select
                } else {
                    selector.select(millisToNextWake());
                }
            } catch (ClosedSelectorException e) {
                break;
            } catch (IOException e) {
                log.accept("accept failed: " + e.getMessage());
                sleep(100);
                continue;
            }
            if (closed) break;
            try {
                boolean acceptable = false;
                for (SelectionKey k : selector.selectedKeys()) {
                    if (k.attachment() instanceof Waiting w) {
                        if (k.isValid()) readFirstFlight(w);
                    } else {
                        acceptable = true;
                    }
                }
                selector.selectedKeys().clear();
                // Data already here before new connections: a client that sent its HELLO is never the one pushed out.
                if (acceptable) acceptSome();
                expire();
                drops.flush();
            } catch (RuntimeException e) {
                // The acceptor must outlive anything one connection can cause.
                if (closed) break;
                selector.selectedKeys().clear();
                log.accept("acceptor: internal error: " + e);
                sleep(100);
            }
        }
        for (Waiting w : List.copyOf(waiting)) drop(w, null);
        for (Admission.Ticket t : admission.drain()) t.evict();
        try {
            selector.close();
        } catch (IOException ignored) {
            // Shutting down.
        }
    }

    /** Accepts what is queued, a batch at a time, each into the unauthenticated budget. */
    private void acceptSome() {
        for (int i = 0; i < ACCEPT_BATCH; i++) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                // Typically EMFILE: the descriptors are exhausted. Pausing keeps this from spinning.
                log.accept("accept failed: " + e.getMessage());
                sleep(100);
                return;
            }
            if (ch == null) return;
            InetSocketAddress from;
            try {
                ch.configureBlocking(false);
                from = (InetSocketAddress) ch.getRemoteAddress();
            } catch (IOException e) {
                abort(ch);
                continue;
            }
            if (from == null) {
                abort(ch);
                continue;
            }
            Waiting w = new Waiting(ch, Endpoint.format(from));
            List<Admission.Ticket> evicted = new ArrayList<>(1);
            w.ticket = admission.admit(from.getAddress(), System.nanoTime(), () -> drop(w, null), evicted);
            for (Admission.Ticket t : evicted) {
                t.evict();
                drops.line("dropped " + t + " (unauthenticated) to make room for " + w.peer + ": at most "
                        + MAX_UNAUTHENTICATED_PER_ADDRESS + " per address and " + MAX_UNAUTHENTICATED + " in all");
                flush = true;
            }
            try {
                w.key = ch.register(selector, SelectionKey.OP_READ, w);
            } catch (IOException e) {
                admission.release(w.ticket);
                abort(ch);
                continue;
            }
            waiting.add(w);
            readFirstFlight(w);
        }
    }

    /**
     * Reads what has arrived of the first flight (preamble and HELLO), without blocking. Once it
     * is complete, or shows the peer is not a current migration client, the connection goes on
     * to its own handshake thread; a peer whose first bytes are not the magic is dropped here.
     */
    private void readFirstFlight(Waiting w) {
        int n;
        try {
            n = w.ch.read(w.first);
        } catch (IOException e) {
            drop(w, "connection to " + w.peer + " lost: " + e.getMessage());
            return;
        }
        if (n < 0) {
            drop(w, "connection closed by " + w.peer);
            return;
        }
        if (n > 0) admission.reached(w.ticket, Admission.Stage.PARTIAL);
        FirstFlight f = firstFlight(w.first, tls);
        int end = tls ? tlsRecordEnd(w.first) : -1;
        if (f == FirstFlight.INCOMPLETE && end > w.first.capacity()) {
            // The ClientHello's record is longer than a plaintext first flight: room for exactly that record.
            w.first = ByteBuffer.allocate(end).put(w.first.flip());
            readFirstFlight(w);
            return;
        }
        switch (f) {
            case INCOMPLETE -> { }
            case NOT_MIGRATION -> drop(w, tls ? "not a migration client (neither TLS nor the migration magic bytes)"
                    : "not a migration client (wrong magic bytes)");
            case COMPLETE, UNUSUAL -> handOver(w, f);
        }
    }

    enum FirstFlight { INCOMPLETE, COMPLETE, NOT_MIGRATION, UNUSUAL }

    /** Largest TLS record a ClientHello may come in (2^14 bytes of plaintext, RFC 8446 5.1). */
    static final int MAX_TLS_RECORD = 1 << 14;

    /**
     * Judges a first flight on a server that does ({@code tls}) or does not use TLS. With TLS,
     * the first flight is the first TLS record (the ClientHello, whose length its 5-byte header
     * gives). A peer speaking the other kind goes on to the handshake thread, which tells it in
     * words it understands; bytes that are neither are dropped here.
     */
    static FirstFlight firstFlight(ByteBuffer b, boolean tls) {
        int have = b.position();
        if (have == 0 || b.get(0) != 0x16) return firstFlight(b);
        if (have < 5) return FirstFlight.INCOMPLETE;
        int end = tlsRecordEnd(b);
        if (end < 0) return tls ? FirstFlight.NOT_MIGRATION : firstFlight(b);
        if (!tls) return FirstFlight.UNUSUAL;   // a TLS client at a plaintext server: answered with an ERROR
        return have >= end ? FirstFlight.COMPLETE : FirstFlight.INCOMPLETE;
    }

    /** Where the TLS handshake record at the start of {@code b} ends; -1 if it is not one (or its header is incomplete). */
    static int tlsRecordEnd(ByteBuffer b) {
        if (b.position() < 5 || b.get(0) != 0x16 || b.get(1) != 0x03) return -1;
        int length = Short.toUnsignedInt(b.getShort(3));
        return length == 0 || length > MAX_TLS_RECORD ? -1 : 5 + length;
    }

    /** Judges the bytes of a first flight read so far (position = bytes read). */
    static FirstFlight firstFlight(ByteBuffer b) {
        int have = b.position();
        byte[] magic = Messages.Preamble.MAGIC;
        for (int i = 0; i < Math.min(have, magic.length); i++) {
            if (b.get(i) != magic[i]) return FirstFlight.NOT_MIGRATION;
        }
        // Another major version, or a first frame other than a well-formed HELLO header: the handshake
        // thread answers as the protocol says (ERROR 2) or names the problem.
        if (have >= Messages.Preamble.BYTES && !Messages.Preamble.served(Short.toUnsignedInt(b.getShort(8)))) {
            return FirstFlight.UNUSUAL;
        }
        int h = Messages.Preamble.BYTES;
        if (have >= h + FrameWriter.HEADER && (b.get(h) != (byte) MessageType.HELLO.code || b.get(h + 1) != 0
                || b.getShort(h + 2) != 0 || b.getInt(h + 4) != Messages.Hello.BYTES)) {
            return FirstFlight.UNUSUAL;
        }
        return b.hasRemaining() ? FirstFlight.INCOMPLETE : FirstFlight.COMPLETE;
    }

    private void handOver(Waiting w, FirstFlight f) {
        waiting.remove(w);
        w.key.cancel();
        flush = true;
        admission.reached(w.ticket, f == FirstFlight.COMPLETE || !w.first.hasRemaining() ? Admission.Stage.HELLO : Admission.Stage.PARTIAL);
        if (!w.ticket.onEvict(() -> abort(w.ch))) return;   // cannot happen on this thread; for clarity
        ByteBuffer first = w.first.flip();
        Thread.ofVirtual().name("migration-handshake").start(() -> handshaker.handshake(w.ch, w.ticket, first));
    }

    /** Drops connections whose handshake deadline passed while their first flight was still arriving. */
    private void expire() {
        long now = System.nanoTime(), limit = timeouts.handshake().toNanos();
        for (Waiting w : List.copyOf(waiting)) {
            if (now - (w.ticket.since() + limit) >= 0) drop(w, "the handshake with " + w.peer + " did not finish in time");
        }
    }

    /** Until the next deadline or held-back log summary; 0 (no limit) when there is neither. */
    private long millisToNextWake() {
        boolean any = drops.holding();
        long next = drops.due(), limit = timeouts.handshake().toNanos();
        for (Waiting w : waiting) {
            long at = w.ticket.since() + limit;
            if (!any || at - next < 0) next = at;
            any = true;
        }
        if (!any) return 0;
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(next - System.nanoTime()) + 1);
    }

    /** Closes a connection still in its first flight; logs {@code why} unless null (evicted, or closing). */
    private void drop(Waiting w, String why) {
        waiting.remove(w);
        if (w.key != null) w.key.cancel();
        abort(w.ch);
        admission.release(w.ticket);
        flush = true;
        if (why != null) drops.line("dropped " + w.peer + ": " + why);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Closes with a reset: nothing was sent that must arrive, and no TIME_WAIT is left behind. */
    private static void abort(SocketChannel ch) {
        try {
            ch.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException | RuntimeException ignored) {
            // Closed already, or the option refused: an ordinary close does as well.
        }
        try {
            ch.close();
        } catch (IOException ignored) {
            // Dropping it anyway.
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // Shutting down.
        }
        selector.wakeup();   // the acceptor closes what is still unauthenticated, and the selector
        acceptor.interrupt();
    }
}
