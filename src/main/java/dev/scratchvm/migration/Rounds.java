package dev.scratchvm.migration;

import dev.scratchvm.image.PageFilter;
import dev.scratchvm.image.PageMap;
import dev.scratchvm.image.PageRuns;
import dev.scratchvm.migration.Messages.MemoryRun;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Protocol 2's memory: rounds of MEMORY and ZERO runs, each round closed by ROUND. Within a
 * round runs ascend and do not overlap; a later round may send a page again, and its copy
 * wins. The first round skips all-zero pages (the server's fresh memory reads as zero); later
 * rounds send a page that became zero as a ZERO run, which the server turns back into
 * untouched memory. Pages move straight between the socket and guest memory, as in protocol 1.
 */
final class Rounds {
    private Rounds() {
    }

    /** What one round carried. */
    record Sent(long runs, long pages, long bytes) {
    }

    /**
     * Sends the pages {@code filter} names, read from {@code guest} as they are now (the guest
     * may be writing them: a page changed meanwhile is dirty, and a later round sends it again).
     */
    static Sent send(FrameWriter out, MemorySegment guest, PageFilter filter, boolean first, Staging staging) throws MigrationException {
        PageRuns r = new PageRuns(guest, filter, !first);
        ByteBuffer head = ByteBuffer.allocateDirect(MemoryRun.BYTES);
        long runs = 0, pages = 0, bytes = 0;
        while (r.next()) {
            MemoryRun run = new MemoryRun(r.first(), r.count());
            if (r.zero()) {
                out.send(MessageType.ZERO, run.encode(head));
                bytes += FrameWriter.HEADER + MemoryRun.BYTES + FrameWriter.TRAILER;
            } else {
                out.send(MessageType.MEMORY, run.encode(head), staging == null ? r.bytes().asByteBuffer() : staging.copy(r.bytes()));
                bytes += FrameWriter.HEADER + MemoryRun.BYTES + r.bytes().byteSize() + FrameWriter.TRAILER;
            }
            runs++;
            pages += r.count();
        }
        return new Sent(runs, pages, bytes);
    }

    /**
     * A private copy of a run, for memory the guest may be writing while it is sent: the frame's
     * checksum and the bytes on the wire must be of the same bytes. (A page changed meanwhile
     * is dirty, and a later round sends it again.)
     */
    static final class Staging {
        private final MemorySegment buffer = java.lang.foreign.Arena.ofAuto().allocate((long) PageMap.MAX_RUN_PAGES * Messages.PAGE, 4096);

        ByteBuffer copy(MemorySegment run) {
            MemorySegment.copy(run, 0, buffer, 0, run.byteSize());
            return buffer.asSlice(0, run.byteSize()).asByteBuffer();
        }
    }

    /** The runs of the pages {@code filter} names, merged across gaps so that at most {@link Messages.Plan#MAX_RUNS} remain. */
    static Messages.Plan plan(PageFilter filter, long guestPages) {
        List<long[]> runs = new ArrayList<>();
        for (long p = filter.next(0, guestPages); p < guestPages; ) {
            long end = p + 1;
            while (end < guestPages && filter.mayBeNonZero(end)) end++;
            runs.add(new long[]{p, end - p});
            p = filter.next(end, guestPages);
        }
        while (runs.size() > Messages.Plan.MAX_RUNS) {
            List<long[]> merged = new ArrayList<>(runs.size() / 2 + 1);
            for (int i = 0; i < runs.size(); i += 2) {
                long[] a = runs.get(i);
                if (i + 1 == runs.size()) merged.add(a);
                else merged.add(new long[]{a[0], runs.get(i + 1)[0] + runs.get(i + 1)[1] - a[0]});
            }
            runs = merged;
        }
        return new Messages.Plan(runs);
    }

    /**
     * The server's side: reads rounds into {@code guest} until a frame that is not memory
     * arrives, and returns its type (the frame is left for the caller to read). Every run is
     * checked to lie inside guest memory, after the previous run of its round, before a byte
     * of it is read; each ROUND's counts and transcript checksum must match what arrived.
     */
    /** Told of every run as it lands in guest memory, and of every round's end (the server's durable copy). */
    interface Sink {
        void run(long first, long count, boolean zero);

        void roundEnd();
    }

    static final class Receiver {
        private static final int MADV_DONTNEED = 4;
        private final MemorySegment guest;
        private final long guestPages;
        private final Prefaulter prefaulter;
        private final Sink sink;
        private final ByteBuffer head = ByteBuffer.allocateDirect(MemoryRun.BYTES);
        private int rounds;
        private long runs, pages, end, totalRuns, totalPages;

        Receiver(MemorySegment guest, Prefaulter prefaulter, Sink sink) {
            this.guest = guest;
            this.guestPages = guest.byteSize() / Messages.PAGE;
            this.prefaulter = prefaulter;
            this.sink = sink;
        }

        MessageType receive(FrameReader in, FrameWriter out, Set<MessageType> after) throws MigrationException {
            Set<MessageType> expected = new java.util.HashSet<>(after);
            expected.addAll(Set.of(MessageType.MEMORY, MessageType.ZERO, MessageType.ROUND, MessageType.PLAN));
            while (true) {
                int transcript = in.transcript();
                MessageType t = in.next(expected);
                switch (t) {
                    case PLAN -> {
                        Messages.Plan plan = Messages.Plan.decode(in.rest(), guestPages);
                        in.end();
                        if (prefaulter != null) prefaulter.add(plan.runs());
                    }
                    case MEMORY, ZERO -> run(in, t == MessageType.ZERO);
                    case ROUND -> {
                        Messages.Round r = Messages.Round.decode(in.rest());
                        in.end();
                        if (r.round() != rounds || r.runs() != runs || r.pages() != pages) {
                            throw MigrationException.protocol("ROUND " + r.round() + " counts " + r.runs() + " runs, " + r.pages()
                                    + " pages, but round " + rounds + " brought " + runs + " runs, " + pages + " pages");
                        }
                        if (r.transcript() != transcript) {
                            throw MigrationException.network("transcript checksum mismatch: messages were lost or reordered in transit",
                                    dev.scratchvm.sys.Errno.EIO);
                        }
                        if (sink != null) sink.roundEnd();
                        // The round is durable here: the client may now count on it when it decides to stop the guest.
                        out.send(MessageType.ROUND_DONE, ByteBuffer.allocate(4).putInt(rounds).flip());
                        rounds++;
                        totalRuns += runs;
                        totalPages += pages;
                        runs = pages = end = 0;
                    }
                    default -> {
                        // The last round, sent with the guest stopped, has no ROUND: what ends the stream
                        // ends it, END's totals count it, and the server's durable copy takes it at READY.
                        totalRuns += runs;
                        totalPages += pages;
                        runs = pages = end = 0;
                        return t;
                    }
                }
            }
        }

        private void run(FrameReader in, boolean zero) throws MigrationException {
            MemoryRun run = MemoryRun.read(in, head, end, guestPages);
            long first = run.firstPage(), count = run.pageCount();
            MemorySegment dst = guest.asSlice(first * Messages.PAGE, count * Messages.PAGE);
            if (zero) {
                if (in.remaining() != 0) throw MigrationException.protocol("ZERO message carries page bytes");
                // Fresh anonymous memory: dropping the pages makes them read as zero again, without writing them.
                if (Libc.madvise(dst.address(), dst.byteSize(), MADV_DONTNEED) != 0) dst.fill((byte) 0);
            } else {
                if (in.remaining() != count * Messages.PAGE) throw MigrationException.protocol("MEMORY message length does not match its page count");
                in.read(dst.asByteBuffer());
            }
            in.end();
            if (sink != null) sink.run(first, count, zero);
            end = first + count;
            runs++;
            pages += count;
        }

        int rounds() {
            return rounds;
        }

        long runs() {
            return totalRuns;
        }

        long pages() {
            return totalPages;
        }
    }
}
