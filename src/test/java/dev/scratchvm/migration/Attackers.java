package dev.scratchvm.migration;

import dev.scratchvm.migration.Messages.Purpose;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Peers without the key, in the test JVM, against a migration server: each kind of attack as a
 * one-shot method, and {@link #start} to run them all at once, continuously, until closed —
 * idle connections held open and re-opened as soon as they are dropped, slow-loris peers, huge
 * length prefixes, garbage, and replays of a recorded session. Attackers run on platform
 * threads, as another process's would, so that they do not queue in front of the server's
 * virtual threads when server and attackers share this JVM.
 */
final class Attackers implements AutoCloseable {
    /** How a one-shot attack ended. */
    enum End { DROPPED, AUTH_REFUSED, ANSWERED }

    private final InetSocketAddress target;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stop;

    final AtomicLong idleConnections = new AtomicLong(), idleDropped = new AtomicLong();
    final AtomicLong hugeDropped = new AtomicLong(), garbageDropped = new AtomicLong();
    final AtomicLong replaysRefused = new AtomicLong(), replaysAnswered = new AtomicLong(), other = new AtomicLong();
    /** Milliseconds each slow-loris connection lived before the server dropped it. */
    final List<Long> lorisLifetimes = Collections.synchronizedList(new ArrayList<>());

    Attackers(InetSocketAddress target) {
        this.target = target;
    }

    /** A valid preamble and HELLO, as a client sends first: what a slow-loris trickles. */
    static byte[] firstFlight() {
        ByteBuffer hello = new Messages.Hello(Purpose.MIGRATE, Handshake.nonce()).encode();
        ByteBuffer b = ByteBuffer.allocate(Reception.FIRST_FLIGHT).put(Messages.Preamble.CURRENT.encode())
                .put((byte) MessageType.HELLO.code).put((byte) 0).putShort((short) 0).putInt(hello.remaining()).put(hello.duplicate());
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b.array(), Messages.Preamble.BYTES, FrameWriter.HEADER + Messages.Hello.BYTES);
        return b.putInt((int) crc.getValue()).array();
    }

    /** A preamble and a HELLO header whose length field says 2^31 bytes. */
    static byte[] hugeLength() {
        return ByteBuffer.allocate(Messages.Preamble.BYTES + FrameWriter.HEADER).put(Messages.Preamble.CURRENT.encode())
                .put((byte) MessageType.HELLO.code).put((byte) 0).putShort((short) 0).putInt(0x8000_0000).array();
    }

    static byte[] garbage(Random random) {
        byte[] g = new byte[1 + random.nextInt(200)];
        random.nextBytes(g);
        g[0] = 'G';   // never the magic's first byte
        return g;
    }

    /**
     * Everything a real client sent in a successful handshake and status query, recorded at
     * its transport.
     */
    static byte[] recordSession(Endpoint server, MigrationKey key, Timeouts timeouts) throws MigrationException {
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        SocketTransport real = SocketTransport.connect(server, timeouts);
        Transport recording = new Transport() {
            @Override
            public void readFully(ByteBuffer dst) throws MigrationException {
                real.readFully(dst);
            }

            @Override
            public void writeFully(ByteBuffer... srcs) throws MigrationException {
                for (ByteBuffer b : srcs) {
                    byte[] copy = new byte[b.remaining()];
                    b.duplicate().get(copy);
                    sent.writeBytes(copy);
                }
                real.writeFully(srcs);
            }

            @Override
            public void deadline(long nanoTime) {
                real.deadline(nanoTime);
            }

            @Override
            public void idleTimeout(long nanos) {
                real.idleTimeout(nanos);
            }

            @Override
            public long idleTimeout() {
                return real.idleTimeout();
            }

            @Override
            public long bytesRead() {
                return real.bytesRead();
            }

            @Override
            public long bytesWritten() {
                return real.bytesWritten();
            }

            @Override
            public String peer() {
                return real.peer();
            }

            @Override
            public void close() {
                real.close();
            }
        };
        try (ClientSession c = new ClientSession(recording, key)) {
            c.handshake(Purpose.QUERY, Handshake.nonce(), timeouts.handshake(), Messages.Preamble.CURRENT);
            c.query(Handshake.nonce());
        }
        return sent.toByteArray();
    }

    /** Opens a connection, sends {@code bytes}, and reads what comes back until the server closes it. */
    byte[] exchange(byte[] bytes) throws IOException {
        try (Socket s = connect()) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(bytes);
            s.getOutputStream().flush();
            return readToEnd(s.getInputStream());
        } finally {
            open.removeIf(Socket::isClosed);
        }
    }

    /** Sends a replayed session; how the server answered it. */
    End replay(byte[] recorded) throws IOException {
        byte[] answer = exchange(recorded);
        // The server's preamble, then frames: CHALLENGE, and ERROR (authentication) or AUTH.
        ByteBuffer b = ByteBuffer.wrap(answer);
        if (b.remaining() < Messages.Preamble.BYTES) return End.DROPPED;
        b.position(Messages.Preamble.BYTES);
        while (b.remaining() >= FrameWriter.HEADER) {
            int type = b.get(b.position()) & 0xff;
            int length = b.getInt(b.position() + 4);
            if (type == MessageType.AUTH.code) return End.ANSWERED;
            if (type == MessageType.ERROR.code && length >= 2 && b.remaining() >= FrameWriter.HEADER + 2) {
                return b.getShort(b.position() + FrameWriter.HEADER) == ErrorCode.AUTH.wire() ? End.AUTH_REFUSED : End.DROPPED;
            }
            if (b.remaining() < FrameWriter.HEADER + length + FrameWriter.TRAILER) break;
            b.position(b.position() + FrameWriter.HEADER + length + FrameWriter.TRAILER);
        }
        return End.DROPPED;
    }

    /** Connects and sends nothing; returns once the server drops the connection. */
    void idle() throws IOException {
        try (Socket s = connect()) {
            idleConnections.incrementAndGet();
            readToEnd(s.getInputStream());
            idleDropped.incrementAndGet();
        } finally {
            open.removeIf(Socket::isClosed);
        }
    }

    /**
     * Sends a valid first flight one byte every {@code gapMillis}; returns how long the server
     * let the connection live, in milliseconds.
     */
    long slowLoris(long gapMillis) throws IOException, InterruptedException {
        byte[] flight = firstFlight();
        try (Socket s = connect()) {
            long start = System.nanoTime();
            long[] ended = new long[1];
            Thread reader = Thread.ofPlatform().daemon().start(() -> {
                try {
                    readToEnd(s.getInputStream());
                } catch (IOException ignored) {
                    // reset: dropped all the same
                }
                ended[0] = System.nanoTime();
            });
            try {
                for (int i = 0; i < flight.length && reader.isAlive(); i++) {
                    s.getOutputStream().write(flight[i]);
                    reader.join(gapMillis);
                }
            } catch (IOException e) {
                // Dropped while writing.
            }
            reader.join(30_000);
            return (ended[0] - start) / 1_000_000;
        } finally {
            open.removeIf(Socket::isClosed);
        }
    }

    /** Starts every kind of attack at once, each re-started as soon as the server drops it. */
    Attackers start(int idle, byte[] recordedSession) {
        for (int i = 0; i < idle; i++) loop("idle", this::idle);
        loop("slow-loris", () -> lorisLifetimes.add(slowLoris(1000)));
        loop("huge-length", () -> {
            if (exchange(hugeLength()).length <= Messages.Preamble.BYTES) hugeDropped.incrementAndGet();
            else other.incrementAndGet();
        });
        Random random = new Random(42);
        loop("garbage", () -> {
            if (exchange(garbage(random)).length == 0) garbageDropped.incrementAndGet();
            else other.incrementAndGet();
        });
        loop("replay", () -> {
            switch (replay(recordedSession)) {
                case AUTH_REFUSED -> replaysRefused.incrementAndGet();
                case ANSWERED -> replaysAnswered.incrementAndGet();
                case DROPPED -> other.incrementAndGet();
            }
        });
        return this;
    }

    interface Attack {
        void run() throws Exception;
    }

    private void loop(String name, Attack attack) {
        threads.add(Thread.ofPlatform().daemon().name("attack-" + name).start(() -> {
            while (!stop) {
                try {
                    attack.run();
                } catch (Exception e) {
                    if (stop) return;
                    try {
                        Thread.sleep(5);   // refused or reset before connecting: do not spin
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }));
    }

    private Socket connect() throws IOException {
        Socket s = new Socket();
        open.add(s);
        try {
            s.connect(target, 5_000);
        } catch (IOException e) {
            s.close();
            open.remove(s);
            throw e;
        }
        if (stop) s.close();
        return s;
    }

    private static byte[] readToEnd(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) out.write(buf, 0, n);
        } catch (java.net.SocketException e) {
            // A reset ends the connection as well as a FIN.
        }
        return out.toByteArray();
    }

    /** Open attack sockets now. */
    int openSockets() {
        open.removeIf(Socket::isClosed);
        return open.size();
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        for (Thread t : threads) t.join(5_000);
        open.clear();
    }
}
