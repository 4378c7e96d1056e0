package dev.scratchvm.migration;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.concurrent.CompletableFuture;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Measurement tool, not a test: streams N MiB of non-zero guest memory through MemoryStream over
 * loopback TCP inside one JVM into freshly mapped guest memory (as a server does), several rounds,
 * so that cold (first round) and warm throughput show.
 * Run: java --enable-native-access=ALL-UNNAMED -cp target/classes:target/test-classes
 *      dev.scratchvm.migration.StreamThroughput [MiB] [rounds] [TLS-DIR]
 * With a TLS directory (holding both sides' files), the stream goes through TLS 1.3.
 */
public final class StreamThroughput {
    public static void main(String[] args) throws Exception {
        long mib = args.length > 0 ? Long.parseLong(args[0]) : 256;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        long size = mib << 20;
        Arena arena = Arena.ofShared();
        MemorySegment src = arena.allocate(size, 4096);
        for (long i = 0; i < size / 8; i++) src.setAtIndex(JAVA_LONG, i, i * 0x9E3779B97F4A7C15L + 1);
        Timeouts t = Timeouts.DEFAULT;
        TlsSettings serverTls = args.length > 2 ? TlsSettings.server(java.nio.file.Path.of(args[2])) : null;
        TlsSettings clientTls = args.length > 2 ? TlsSettings.client(java.nio.file.Path.of(args[2])) : null;
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            Endpoint at = new Endpoint("127.0.0.1", ((InetSocketAddress) server.getLocalAddress()).getPort());
            for (int r = 0; r < rounds; r++) {
                dev.scratchvm.memory.GuestMemory fresh = dev.scratchvm.memory.GuestMemory.allocate(size, 0x200000);
                MemorySegment dst = fresh.segment();
                CompletableFuture<Long> receiver = CompletableFuture.supplyAsync(() -> {
                    try (SocketTransport raw = SocketTransport.accepted(server.accept(), t);
                         Transport tr = serverTls == null ? raw : TlsTransport.server(raw, serverTls)) {
                        FrameReader in = new FrameReader(tr);
                        long s = System.nanoTime();
                        MemoryStream.receive(in, dst);
                        return System.nanoTime() - s;
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                long start = System.nanoTime();
                try (Transport tr = TlsTransport.connect(at, clientTls, t)) {
                    FrameWriter out = new FrameWriter(tr);
                    MemoryStream.Stats st = MemoryStream.send(out, src, p -> true);
                    out.send(MessageType.END, new Messages.End(0, st.runs(), st.pages(), out.transcript()).encode());
                    long recv = receiver.get();
                    long total = System.nanoTime() - start;
                    System.out.printf("round %d: %d MiB in %.1f ms = %.2f GB/s (receiver busy %.1f ms), wire %d bytes, equal=%b%n",
                            r, mib, total / 1e6, tr.bytesWritten() / (total / 1e9) / 1e9, recv / 1e6, tr.bytesWritten(),
                            dst.mismatch(src) == -1);
                    fresh.close();
                }
            }
        }
    }
}
