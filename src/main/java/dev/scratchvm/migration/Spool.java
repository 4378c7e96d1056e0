package dev.scratchvm.migration;

import dev.scratchvm.image.StateCodec;
import dev.scratchvm.state.MachineState;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The server's durable copy of a VM arriving in rounds (protocol 2): a sparse file of guest
 * memory ({@code ID.pages}, page N at offset 4096·N) that a thread of its own keeps up to date
 * while later rounds arrive, each round written and fdatasynced behind the network; and the
 * state ({@code ID.state}), written last. So the VM is durable before READY for the cost of
 * the last round and the state, not of all of memory. A restarted server turns the two into
 * an ordinary image ({@link Handoffs}).
 *
 * <p>The writer copies from guest memory, which later rounds keep overwriting: a copy may
 * hold a newer page than its round, never an older one, and a newer round's copy of the same
 * page is written after it. What is on disk when {@link #finish} returns is what is in memory.
 */
final class Spool implements Rounds.Sink, AutoCloseable {
    private static final Object STOP = new Object();

    private final Path pages, state;
    private final FileChannel file;
    private final MemorySegment guest;
    /** Runs ({@code long[]{first, count, zero}}) to copy, and flushes ({@code CompletableFuture}) to make durable. */
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private volatile IOException failure;

    Spool(Path pages, Path state, MemorySegment guest) throws IOException {
        this.pages = pages;
        this.state = state;
        this.guest = guest;
        this.file = FileChannel.open(pages, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            file.write(ByteBuffer.allocate(1), guest.byteSize() - 1);   // sparse, and exactly the size of guest memory
            Files.deleteIfExists(state);
            Files.createFile(state);
            try (FileChannel d = FileChannel.open(state.getParent(), StandardOpenOption.READ)) {
                d.force(true);   // both names are durable now; finish() only has to sync contents
            }
        } catch (IOException e) {
            file.close();
            throw e;
        }
        this.writer = Thread.ofPlatform().name("migration-spool").daemon().start(this::loop);
    }

    /** Queued at once: the writer copies it while the next runs arrive (disk and network overlap). */
    @Override
    public void run(long first, long count, boolean zero) {
        queue.add(new long[]{first, count, zero ? 1 : 0});
    }

    /**
     * Queues the round for the disk and waits until it is durable. The client hears of it
     * (ROUND_DONE) before it decides to stop the guest, so a disk slower than the network
     * slows the rounds down instead of leaving a backlog for the stopped guest to wait on.
     */
    @Override
    public void roundEnd() {
        try {
            flush().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException e) {
            // Reported by finish(), which the migration cannot pass without it.
        }
    }

    private CompletableFuture<Void> flush() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        queue.add(done);
        return done;
    }

    /**
     * Waits until every round is on disk, then writes the state: the VM is durable when this
     * returns. The state file was created (and its directory synced) with the spool, so one
     * fdatasync makes it durable; no rename is needed, because nothing reads it unless the
     * journal says the migration committed, which happens only after this returned.
     */
    void finish(MachineState s) throws IOException {
        try {
            flush().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while writing the VM to disk");
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
        try (FileChannel ch = FileChannel.open(state, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(StateCodec.encode(s));
            while (b.hasRemaining()) ch.write(b);
            ch.force(false);
        }
    }

    private void loop() {
        ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 20);
        try {
            for (Object item; (item = queue.take()) != STOP; ) {
                if (item instanceof CompletableFuture<?> f) {
                    @SuppressWarnings("unchecked")
                    CompletableFuture<Void> done = (CompletableFuture<Void>) f;
                    try {
                        if (failure == null) file.force(false);
                    } catch (IOException e) {
                        failure = e;
                    }
                    if (failure != null) done.completeExceptionally(failure);
                    else done.complete(null);
                    continue;
                }
                if (failure != null) continue;
                long[] r = (long[]) item;
                long at = r[0] * Messages.PAGE, len = r[1] * Messages.PAGE;
                try {
                    if (r[2] == 0) {
                        ByteBuffer b = guest.asSlice(at, len).asByteBuffer();
                        while (b.hasRemaining()) file.write(b, at + b.position());
                    } else {
                        for (long off = 0; off < len; ) {
                            ByteBuffer z = zeros.clear().limit((int) Math.min(zeros.capacity(), len - off));
                            off += file.write(z, at + off);
                        }
                    }
                } catch (IOException e) {
                    failure = e;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the writer and waits for it (guest memory may be unmapped afterwards); the files stay. */
    @Override
    public void close() {
        queue.clear();   // after finish() nothing is left; after a failure what is left need not be written
        queue.add(STOP);
        try {
            writer.join();
            file.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException ignored) {
            // Closing anyway.
        }
    }
}
