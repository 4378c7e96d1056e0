package dev.scratchvm.migration;

import dev.scratchvm.image.StateCodec;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.sys.Libc;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The server's copy of a VM arriving in rounds (protocol 2), which outlives the server: a
 * sparse file of guest memory ({@code ID.pages}, page N at offset 4096·N) that a thread of its
 * own keeps up to date while later rounds arrive, each round written behind the network; and
 * the state ({@code ID.state}), written last. A restarted server turns the two into an
 * ordinary image ({@link Handoffs}). With {@code disk}, each round is also fdatasynced and the
 * whole copy is on disk before READY; without it, the copy is in the page cache when
 * {@link #finish} returns, which a killed server does not lose (a restarted host does: see
 * {@link Handoffs.Durability}), and no disk write is part of the guest's downtime.
 *
 * <p>The writer copies from guest memory, which later rounds keep overwriting: a copy may
 * hold a newer page than its round, never an older one, and a newer round's copy of the same
 * page is written after it. What is on disk when {@link #finish} returns is what is in memory.
 *
 * <p>Nothing is synced while the spool is set up (a live migration's PREPARE): the names of
 * both files, the journal's {@code pending} line and the last pages are made durable together
 * in {@link #finish}, in parallel, before READY, which is the only point that needs them.
 * (Starting the disk's writeback early, every few MiB, made a refused migration's clean-up
 * wait for that writeback when it removes the file, long enough for the client's next attempt
 * to find the server busy; so the writer leaves writeback to the kernel and the last flush.)
 */
final class Spool implements Rounds.Sink, AutoCloseable {
    private static final Object STOP = new Object();

    /** Something to make durable before READY besides the spool's own files (the journal's pending line). */
    @FunctionalInterface
    interface Durable {
        void sync() throws IOException;
    }

    private final Path pages, state;
    private final int fd;
    private final MemorySegment guest;
    private final Durable alongside;
    /** fdatasync each round and the state: the copy survives the host, not only the server. */
    private final boolean disk;
    /** Runs ({@code long[]{first, count, zero}}) to copy, and flushes ({@code CompletableFuture}) to make durable. */
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private volatile IOException failure;
    /** Set by the first {@link #close}: the descriptor is a bare number, which a second close could take from someone else. */
    private boolean closed;

    Spool(Path pages, Path state, MemorySegment guest, Durable alongside, boolean disk) throws IOException {
        this.disk = disk;
        this.pages = pages;
        this.state = state;
        this.guest = guest;
        this.alongside = alongside;
        int f = Libc.open(pages.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0600);
        if (f < 0) throw new IOException("cannot create " + pages + ": " + Libc.strerror(-f));
        this.fd = f;
        try {
            // Sparse, and exactly the size of guest memory.
            if (Libc.ftruncate(fd, guest.byteSize()) < 0) throw new IOException("cannot size " + pages);
            Files.deleteIfExists(state);
            Files.createFile(state);
        } catch (IOException e) {
            Libc.close(fd);
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
     * Queues the round for the disk and waits until it is written (and with {@code disk},
     * durable). The client hears of it
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
     * Waits until every round is written and writes the state: the copy is complete (with
     * {@code disk}, durable) when this returns. The pages' last flush (on the writer), the
     * state's write and, with {@code disk}, its fdatasync and the directory's (both names), and
     * {@code alongside} run at once. No rename is needed
     * for the state, because nothing reads it unless the journal says the migration
     * committed, which happens only after this returned.
     */
    void finish(MachineState s) throws IOException {
        CompletableFuture<Void> flushed = flush();
        CompletableFuture<Void> names = !disk ? CompletableFuture.completedFuture(null) : sync("migration-spool-names", () -> {
            try (FileChannel d = FileChannel.open(state.getParent(), StandardOpenOption.READ)) {
                d.force(true);
            }
        });
        CompletableFuture<Void> journal = sync("migration-spool-journal", alongside);
        try (FileChannel ch = FileChannel.open(state, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(StateCodec.encode(s));
            while (b.hasRemaining()) ch.write(b);
            if (disk) ch.force(false);
        } finally {
            // Every sync is waited for, also when one failed: none may outlive the spool.
            IOException first = null;
            for (CompletableFuture<Void> f : java.util.List.of(flushed, names, journal)) {
                try {
                    f.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    if (first == null) first = new IOException("interrupted while writing the VM to disk");
                } catch (java.util.concurrent.ExecutionException e) {
                    if (first == null) first = e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
                }
            }
            if (first != null) throw first;
        }
    }

    private static CompletableFuture<Void> sync(String name, Durable what) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread.ofVirtual().name(name).start(() -> {
            try {
                what.sync();
                done.complete(null);
            } catch (IOException | RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    private void loop() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment zeros = arena.allocate(1 << 20, 4096);
            for (Object item; (item = queue.take()) != STOP; ) {
                if (item instanceof CompletableFuture<?> f) {
                    @SuppressWarnings("unchecked")
                    CompletableFuture<Void> done = (CompletableFuture<Void>) f;
                    if (failure == null && disk && Libc.fdatasync(fd) < 0) failure = new IOException("cannot sync " + pages + " to disk");
                    if (failure != null) done.completeExceptionally(failure);
                    else done.complete(null);
                    continue;
                }
                if (failure != null) continue;
                long[] r = (long[]) item;
                long at = r[0] * Messages.PAGE, len = r[1] * Messages.PAGE;
                try {
                    if (r[2] == 0) {
                        write(guest.asSlice(at, len), at);
                    } else {
                        for (long off = 0; off < len; ) {
                            long n = Math.min(zeros.byteSize(), len - off);
                            write(zeros.asSlice(0, n), at + off);
                            off += n;
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

    /** Writes {@code data} at {@code at}, straight from its memory (guest memory: no copy). */
    private void write(MemorySegment data, long at) throws IOException {
        for (long off = 0; off < data.byteSize(); ) {
            long n = Libc.pwrite(fd, data.asSlice(off), data.byteSize() - off, at + off);
            if (n < 0) throw new IOException("cannot write " + pages + ": " + Libc.strerror((int) -n));
            off += n;
        }
    }

    /**
     * Writes, flushes and finishes a throwaway spool of {@code state}'s memory size in a
     * temporary directory, so that a server's first real one (its last flush and the state's
     * write are guest downtime) runs warm code. Only an optimisation: failures are ignored.
     */
    static void rehearse(MachineState state) {
        Path dir = null;
        try (Arena arena = Arena.ofConfined()) {
            dir = Files.createTempDirectory("scratchvm-spool-warm-up-");
            MemorySegment memory = arena.allocate(state.memory().size(), 4096);
            long pages = memory.byteSize() / Messages.PAGE;
            try (Spool spool = new Spool(dir.resolve("warm-up.pages"), dir.resolve("warm-up.state"), memory, () -> { }, false)) {
                spool.run(0, Math.min(pages, 512), false);
                spool.run(pages - 1, 1, true);
                spool.roundEnd();
                spool.run(1, 1, false);
                spool.finish(state);
            }
        } catch (IOException | RuntimeException ignored) {
            // Only an optimisation; a real spool reports any real problem.
        } finally {
            if (dir != null) {
                for (String f : new String[]{"warm-up.pages", "warm-up.state", ""}) {
                    try {
                        Files.deleteIfExists(dir.resolve(f));
                    } catch (IOException ignored) {
                        // A temporary file left behind.
                    }
                }
            }
        }
    }

    /** Stops the writer and waits for it (guest memory may be unmapped afterwards); the files stay. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        queue.clear();   // after finish() nothing is left; after a failure what is left need not be written
        queue.add(STOP);
        try {
            writer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Libc.close(fd);
    }
}
