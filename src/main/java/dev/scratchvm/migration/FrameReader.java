package dev.scratchvm.migration;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.zip.CRC32C;

/**
 * Reads frames written by {@link FrameWriter}. {@link #next} validates the header (known type,
 * expected here, length within the type's limit) before any payload byte is read; the payload
 * is then read in pieces, straight into the caller's buffers, and {@link #end} checks the CRC.
 * An ERROR frame from the peer, allowed anywhere, becomes a {@link MigrationException}.
 */
final class FrameReader {
    private static final int GROW = 64 << 10;

    private final Transport in;
    private final ByteBuffer header = ByteBuffer.allocateDirect(FrameWriter.HEADER);
    private final ByteBuffer trailer = ByteBuffer.allocateDirect(FrameWriter.TRAILER);
    private final CRC32C crc = new CRC32C();
    private final FrameWriter.Transcript transcript = new FrameWriter.Transcript();
    private MessageType type;
    private long remaining;

    FrameReader(Transport in) {
        this.in = in;
    }

    /** Reads the next frame header; the type must be one of {@code expected} (or ERROR). */
    MessageType next(Set<MessageType> expected) throws MigrationException {
        header.clear();
        in.readFully(header);
        header.flip();
        int code = header.get(0) & 0xff, flags = header.get(1) & 0xff, reserved = header.getShort(2);
        long length = Integer.toUnsignedLong(header.getInt(4));
        MessageType t = MessageType.of(code);
        if (t == null) throw MigrationException.protocol(String.format("unknown message type 0x%02x", code));
        if (flags != 0 || reserved != 0) throw MigrationException.protocol(t + " message has non-zero reserved header bits");
        if (length > t.maxLength) {
            throw MigrationException.protocol(t + " message of " + length + " bytes exceeds its limit of " + t.maxLength);
        }
        if (t != MessageType.ERROR && !expected.contains(t)) {
            throw MigrationException.protocol("unexpected " + t + " message (expected "
                    + expected.stream().map(Enum::name).sorted().collect(Collectors.joining(" or ")) + ")");
        }
        crc.reset();
        crc.update(header.duplicate());
        type = t;
        remaining = length;
        if (t == MessageType.ERROR) {
            Messages.ErrorReply e = Messages.ErrorReply.decode(rest());
            end();
            throw MigrationException.fromPeer(e.code(), e.message());
        }
        return t;
    }

    MessageType next(MessageType expected) throws MigrationException {
        return next(Set.of(expected));
    }

    /** Payload bytes of the current frame not read yet. */
    long remaining() {
        return remaining;
    }

    /** Reads exactly {@code dst.remaining()} payload bytes into {@code dst}. */
    void read(ByteBuffer dst) throws MigrationException {
        int n = dst.remaining();
        if (n > remaining) throw MigrationException.protocol(type + " message is shorter than its contents require");
        ByteBuffer view = dst.duplicate();
        in.readFully(dst);
        crc.update(view.limit(view.position() + n));
        remaining -= n;
    }

    /**
     * The rest of the payload as an array. The array grows with the bytes that actually
     * arrive, so a length field that lies costs nothing until the data is really sent.
     */
    byte[] rest() throws MigrationException {
        byte[] out = new byte[(int) Math.min(remaining, GROW)];
        int filled = 0;
        while (remaining > 0) {
            if (filled == out.length) out = Arrays.copyOf(out, (int) Math.min((long) out.length * 2, filled + remaining));
            ByteBuffer b = ByteBuffer.wrap(out, filled, (int) Math.min(out.length - filled, remaining));
            int n = b.remaining();
            read(b);
            filled += n;
        }
        return filled == out.length ? out : Arrays.copyOf(out, filled);
    }

    /** Finishes the frame: every payload byte must have been consumed, and the CRC must match. */
    void end() throws MigrationException {
        if (remaining != 0) throw MigrationException.protocol(type + " message has " + remaining + " bytes too many");
        trailer.clear();
        in.readFully(trailer);
        int expected = trailer.getInt(0), actual = (int) crc.getValue();
        if (expected != actual) {
            throw MigrationException.network("checksum mismatch in a " + type + " message: the data was corrupted in transit",
                    dev.scratchvm.sys.Errno.EIO);
        }
        transcript.add(actual);
    }

    /** Reads a whole frame of a type with no payload. */
    void expectEmpty(MessageType expected) throws MigrationException {
        next(expected);
        end();
    }

    void startTranscript() {
        transcript.reset();
    }

    int transcript() {
        return transcript.value();
    }
}
