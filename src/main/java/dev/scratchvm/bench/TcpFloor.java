package dev.scratchvm.bench;

import dev.scratchvm.memory.GuestMemory;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The floor for migration: raw TCP over loopback between two JVM processes, no framing,
 * no checksums. The sink (a child JVM, {@link #main}) either reuses one buffer (the pure
 * network floor) or receives into fresh, untouched memory as a migration server must.
 */
public final class TcpFloor {
    private static final int CHUNK = 2 << 20;

    /** Child process: {@code TcpFloor fresh|reuse} — accepts one connection, prints the port first. */
    public static void main(String[] args) throws Exception {
        boolean fresh = args[0].equals("fresh");
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            server.bind(new InetSocketAddress("127.0.0.1", 0));
            System.out.println(((InetSocketAddress) server.getLocalAddress()).getPort());
            System.out.flush();
            try (SocketChannel ch = server.accept()) {
                ByteBuffer size = ByteBuffer.allocate(8);
                while (size.hasRemaining()) ch.read(size);
                long total = size.flip().getLong(), got = 0;
                GuestMemory memory = fresh ? GuestMemory.allocate((total + CHUNK - 1) / CHUNK * CHUNK, 0) : null;
                ByteBuffer reused = fresh ? null : ByteBuffer.allocateDirect(CHUNK);
                for (long off = 0; got < total; off += CHUNK) {
                    ByteBuffer b = fresh ? memory.segment().asSlice(off, Math.min(CHUNK, total - off)).asByteBuffer() : reused.clear();
                    while (b.hasRemaining() && got < total) {
                        int n = ch.read(b);
                        if (n < 0) throw new java.io.EOFException();
                        got += n;
                    }
                }
                ch.write(ByteBuffer.wrap(new byte[]{1})); // done: the sender stops its clock
                if (memory != null) memory.close();
            }
        }
    }

    /** Sends {@code bytes} to a new sink process; returns GB/s from the first byte to the sink's acknowledgement. */
    static double measure(long bytes, boolean fresh) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process sink = new ProcessBuilder(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), TcpFloor.class.getName(), fresh ? "fresh" : "reuse"))
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(sink.getInputStream(), StandardCharsets.UTF_8));
            int port = Integer.parseInt(out.readLine().trim());
            try (SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", port))) {
                ch.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
                ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
                for (int i = 0; i < CHUNK; i++) buf.put(i, (byte) (i * 31 + 7));
                ch.write(ByteBuffer.allocate(8).putLong(0, bytes));
                long start = System.nanoTime();
                for (long sent = 0; sent < bytes; ) {
                    buf.clear().limit((int) Math.min(CHUNK, bytes - sent));
                    while (buf.hasRemaining()) sent += ch.write(buf);
                }
                ByteBuffer ack = ByteBuffer.allocate(1);
                while (ack.hasRemaining()) if (ch.read(ack) < 0) throw new java.io.EOFException("sink closed");
                return bytes / (double) (System.nanoTime() - start);
            }
        } finally {
            if (!sink.waitFor(10, TimeUnit.SECONDS)) sink.destroyForcibly();
        }
    }
}
