package dev.scratchvm.migration;

import dev.scratchvm.image.PageFilter;
import dev.scratchvm.image.PageRuns;
import dev.scratchvm.migration.Messages.MemoryRun;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * Guest memory as MEMORY messages: runs of up to 512 consecutive non-zero pages, ascending,
 * as {@link PageRuns} cuts them for images too. Pages the filter excludes are never read
 * (reading untouched memory would fault it in) and all-zero pages are never sent: the
 * receiver's fresh mapping is zero already. Both sides
 * move the bytes straight between the socket and the guest mapping, with no copy in Java.
 */
final class MemoryStream {
    private MemoryStream() {
    }

    /** What one direction of a memory stream carried. */
    record Stats(long runs, long pages) {
        long bytes() {
            return pages * Messages.PAGE;
        }
    }

    /** The pages {@code filter} names, in the runs (and with the zero pages left out) the image writer stores. */
    static Stats send(FrameWriter out, MemorySegment guest, PageFilter filter) throws MigrationException {
        PageRuns r = new PageRuns(guest, filter, false);
        ByteBuffer head = ByteBuffer.allocateDirect(MemoryRun.BYTES);
        long runs = 0, sent = 0;
        while (r.next()) {
            out.send(MessageType.MEMORY, new MemoryRun(r.first(), r.count()).encode(head), r.bytes().asByteBuffer());
            runs++;
            sent += r.count();
        }
        return new Stats(runs, sent);
    }

    /**
     * Reads MEMORY messages into {@code guest} until END, whose counts and transcript checksum
     * must match what arrived. Each run is checked to lie inside guest memory, after the previous
     * one, before a byte of it is read; its checksum is checked once it is in place (a mismatch
     * fails the migration, and the whole guest memory is discarded).
     */
    static Stats receive(FrameReader in, MemorySegment guest) throws MigrationException {
        long pages = guest.byteSize() / Messages.PAGE;
        ByteBuffer head = ByteBuffer.allocateDirect(MemoryRun.BYTES);
        long runs = 0, received = 0, end = 0;
        while (true) {
            int transcript = in.transcript();
            MessageType t = in.next(Set.of(MessageType.MEMORY, MessageType.END));
            if (t == MessageType.END) {
                Messages.End e = Messages.End.decode(in.rest());
                in.end();
                if (e.runs() != runs || e.pages() != received) {
                    throw MigrationException.protocol("END counts " + e.runs() + " runs, " + e.pages() + " pages, but "
                            + runs + " runs, " + received + " pages arrived");
                }
                if (e.transcript() != transcript) {
                    throw MigrationException.network("transcript checksum mismatch: messages were lost or reordered in transit",
                            dev.scratchvm.sys.Errno.EIO);
                }
                return new Stats(runs, received);
            }
            MemoryRun run = MemoryRun.read(in, head, end, pages);
            long first = run.firstPage(), count = run.pageCount();
            if (in.remaining() != count * Messages.PAGE) throw MigrationException.protocol("MEMORY message length does not match its page count");
            in.read(guest.asSlice(first * Messages.PAGE, count * Messages.PAGE).asByteBuffer());
            in.end();
            end = first + count;
            runs++;
            received += count;
        }
    }
}
