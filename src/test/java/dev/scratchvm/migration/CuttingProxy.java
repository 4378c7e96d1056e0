package dev.scratchvm.migration;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy in the test JVM between a migration client and server. On the first connection
 * it reads one direction frame by frame and stops it at an exact byte given relative to a
 * protocol message ({@link At}), so a cut lands on the same protocol step in every run even
 * though the stream's length varies: CUT closes both sockets there, as a network failure or a
 * crash would (the other direction is shut first, so nothing slips back past the cut); HOLD
 * stops forwarding in that direction until {@link #release()}, then cuts. Later connections
 * (the client's status queries) pass untouched.
 */
final class CuttingProxy implements AutoCloseable {
    enum Direction { CLIENT_TO_SERVER, SERVER_TO_CLIENT }

    enum Mode { PASS, CUT, HOLD }

    /**
     * A byte position: {@code offset} into the stream (type null), or relative to the first
     * frame of {@code type}: from its start, the middle of its payload, or from its end.
     */
    record At(MessageType type, Anchor anchor, long offset, int nth) {
        enum Anchor { STREAM, START, MIDDLE, END }

        static At stream(long offset) {
            return new At(null, Anchor.STREAM, offset, 1);
        }

        static At start(MessageType type, long plus) {
            return new At(type, Anchor.START, plus, 1);
        }

        static At middle(MessageType type) {
            return new At(type, Anchor.MIDDLE, 0, 1);
        }

        static At end(MessageType type, long plus) {
            return new At(type, Anchor.END, plus, 1);
        }

        /** The same position in the {@code n}th frame of its type instead of the first. */
        At nth(int n) {
            return new At(type, anchor, offset, n);
        }

        long resolve(long frameStart, long payloadLength) {
            return switch (anchor) {
                case STREAM -> offset;
                case START -> frameStart + offset;
                case MIDDLE -> frameStart + FrameWriter.HEADER + payloadLength / 2;
                case END -> frameStart + FrameWriter.HEADER + payloadLength + FrameWriter.TRAILER + offset;
            };
        }

        @Override
        public String toString() {
            return switch (anchor) {
                case STREAM -> "byte " + offset;
                case START -> type + " start" + (offset == 0 ? "" : " + " + offset);
                case MIDDLE -> "middle of " + type;
                case END -> type + " end" + (offset == 0 ? "" : " " + offset);
            } + (nth > 1 ? " #" + nth : "");
        }
    }

    private final ServerSocket listener;
    private final int upstreamPort;
    private final Mode mode;
    private final Direction direction;
    private final At at;
    private final CountDownLatch holding = new CountDownLatch(1), released = new CountDownLatch(1);
    private volatile boolean first = true;

    private CuttingProxy(int upstreamPort, Mode mode, Direction direction, At at) throws IOException {
        this.listener = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        this.upstreamPort = upstreamPort;
        this.mode = mode;
        this.direction = direction;
        this.at = at;
        Thread.ofPlatform().daemon().name("proxy-accept").start(this::acceptLoop);
    }

    static CuttingProxy cutting(int upstreamPort, Direction direction, At at) throws IOException {
        return new CuttingProxy(upstreamPort, Mode.CUT, direction, at);
    }

    static CuttingProxy holding(int upstreamPort, Direction direction, At at) throws IOException {
        return new CuttingProxy(upstreamPort, Mode.HOLD, direction, at);
    }

    String address() {
        return "127.0.0.1:" + listener.getLocalPort();
    }

    /** Waits until a HOLD proxy has stopped forwarding. */
    boolean awaitHolding(long seconds) throws InterruptedException {
        return holding.await(seconds, TimeUnit.SECONDS);
    }

    void release() {
        released.countDown();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket();
                server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), upstreamPort), 5_000);
                boolean faulty = first && mode != Mode.PASS;
                first = false;
                pump(client, server, faulty && direction == Direction.CLIENT_TO_SERVER);
                pump(server, client, faulty && direction == Direction.SERVER_TO_CLIENT);
            } catch (IOException e) {
                // Listener closed, or the server is gone: the client sees its connection fail.
            }
        }
    }

    private void pump(Socket from, Socket to, boolean faulty) {
        Thread.ofPlatform().daemon().name("proxy-pump").start(() -> {
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                if (faulty) forwardUntil(in, out, from);
                else in.transferTo(out);
            } catch (IOException | InterruptedException e) {
                // One side went away; close both below.
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        });
    }

    /** Forwards whole frames until the one holding the target byte; forwards up to it and stops there. */
    private void forwardUntil(InputStream in, OutputStream out, Socket reverse) throws IOException, InterruptedException {
        long forwarded = 0;
        boolean seen = false;
        int count = 0;
        byte[] chunk = in.readNBytes(Messages.Preamble.BYTES);
        long target = at.type() == null ? at.offset() : Long.MAX_VALUE;
        while (true) {
            int n = (int) Math.min(chunk.length, target - forwarded);
            if (mode == Mode.CUT && forwarded + n == target) {
                // A cut is a cut in both directions: nothing may slip back while the last bytes go out.
                reverse.shutdownOutput();
            }
            out.write(chunk, 0, n);
            out.flush();
            forwarded += n;
            if (forwarded == target) {
                stop();
                return;
            }
            byte[] header = in.readNBytes(FrameWriter.HEADER);
            if (header.length < FrameWriter.HEADER) {
                out.write(header);
                return;
            }
            long length = Integer.toUnsignedLong(ByteBuffer.wrap(header).getInt(4));
            if (!seen && MessageType.of(header[0] & 0xff) == at.type() && ++count == at.nth()) {
                seen = true;
                target = at.resolve(forwarded, length);
            }
            byte[] rest = in.readNBytes((int) length + FrameWriter.TRAILER);
            chunk = ByteBuffer.allocate(header.length + rest.length).put(header).put(rest).array();
        }
    }

    private void stop() throws InterruptedException {
        if (mode == Mode.HOLD) {
            holding.countDown();
            released.await();
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // Already closed.
        }
    }

    @Override
    public void close() throws IOException {
        release();
        listener.close();
    }
}
