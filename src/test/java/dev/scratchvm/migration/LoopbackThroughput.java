package dev.scratchvm.migration;

import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.sys.Libc;

import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * Measurement tool, not a test: raw TCP throughput between two JVMs over loopback, the ceiling
 * for a migration. Plain blocking SocketChannels and direct buffers, no framing or checksums.
 * <pre>
 *   java -cp target/test-classes:target/classes dev.scratchvm.migration.LoopbackThroughput sink PORT [fresh [thp]]
 *   java -cp target/test-classes:target/classes dev.scratchvm.migration.LoopbackThroughput source HOST PORT MiB
 * </pre>
 * With "fresh", the sink receives into a newly mapped, untouched region, as a migration server
 * does, instead of reusing one buffer; "thp" also asks for transparent huge pages there.
 */
public final class LoopbackThroughput {
    private static final int CHUNK = 2 << 20;

    public static void main(String[] args) throws Exception {
        if (args[0].equals("sink")) {
            boolean fresh = args.length > 2 && args[2].equals("fresh");
            try (ServerSocketChannel server = ServerSocketChannel.open()) {
                server.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
                server.bind(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[1])));
                System.out.println("ready");
                try (SocketChannel ch = server.accept()) {
                    ByteBuffer sizeBuf = ByteBuffer.allocate(8);
                    while (sizeBuf.hasRemaining()) ch.read(sizeBuf);
                    long total = sizeBuf.flip().getLong();
                    long start = System.nanoTime(), got = 0;
                    if (fresh) {
                        // A new, untouched mapping, as guest memory on a migration server; 2 MiB reads.
                        try (GuestMemory memory = GuestMemory.allocate((total + CHUNK - 1) / CHUNK * CHUNK, 0)) {
                            if (args.length > 3) Libc.madvise(memory.segment().address(), memory.size(), 14);
                            for (long off = 0; got < total; off += CHUNK) {
                                ByteBuffer b = memory.segment().asSlice(off, Math.min(CHUNK, total - off)).asByteBuffer();
                                while (b.hasRemaining()) {
                                    int n = ch.read(b);
                                    if (n < 0) throw new java.io.EOFException();
                                    got += n;
                                }
                            }
                        }
                    } else {
                        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
                        while (got < total) {
                            int n = ch.read(buf.clear());
                            if (n < 0) break;
                            got += n;
                        }
                    }
                    long ns = System.nanoTime() - start;
                    System.out.printf("sink: %d bytes in %.1f ms = %.2f GB/s%n", got, ns / 1e6, got / (ns / 1e9) / 1e9);
                }
            }
        } else {
            long total = Long.parseLong(args[3]) << 20;
            try (SocketChannel ch = SocketChannel.open()) {
                ch.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
                ch.connect(new InetSocketAddress(args[1], Integer.parseInt(args[2])));
                ch.write(ByteBuffer.allocate(8).putLong(total).flip());
                ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
                while (buf.hasRemaining()) buf.putLong(buf.position() * 0x9E3779B97F4A7C15L + 1);
                long start = System.nanoTime(), sent = 0;
                while (sent < total) {
                    buf.clear().limit((int) Math.min(CHUNK, total - sent));
                    while (buf.hasRemaining()) sent += ch.write(buf);
                }
                long ns = System.nanoTime() - start;
                System.out.printf("source: %d bytes in %.1f ms = %.2f GB/s%n", sent, ns / 1e6, sent / (ns / 1e9) / 1e9);
            }
        }
    }
}
