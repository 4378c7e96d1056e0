package dev.scratchvm.migration;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Writes frames: an 8-byte header (type, flags, reserved, payload length), the payload, and a
 * CRC32C of header and payload. Keeps the transcript checksum of the frames sent since
 * {@link #startTranscript}, which the END message carries.
 */
final class FrameWriter {
    static final int HEADER = 8, TRAILER = 4;

    private final Transport out;
    private final ByteBuffer header = ByteBuffer.allocateDirect(HEADER);
    private final ByteBuffer trailer = ByteBuffer.allocateDirect(TRAILER);
    private final CRC32C crc = new CRC32C();
    private final Transcript transcript = new Transcript();

    FrameWriter(Transport out) {
        this.out = out;
    }

    /** Sends one frame whose payload is the remaining bytes of {@code payload}, in order. */
    void send(MessageType type, ByteBuffer... payload) throws MigrationException {
        long length = 0;
        for (ByteBuffer p : payload) length += p.remaining();
        if (length > type.maxLength) {
            throw new IllegalArgumentException(type + " payload of " + length + " bytes exceeds " + type.maxLength);
        }
        header.clear();
        header.put((byte) type.code).put((byte) 0).putShort((short) 0).putInt((int) length).flip();
        crc.reset();
        crc.update(header.duplicate());
        for (ByteBuffer p : payload) crc.update(p.duplicate());
        int sum = (int) crc.getValue();
        trailer.clear();
        trailer.putInt(sum).flip();
        ByteBuffer[] all = new ByteBuffer[payload.length + 2];
        all[0] = header;
        System.arraycopy(payload, 0, all, 1, payload.length);
        all[all.length - 1] = trailer;
        out.writeFully(all);
        transcript.add(sum);
    }

    /** Raw bytes outside any frame: only the connection preamble. */
    void sendRaw(ByteBuffer bytes) throws MigrationException {
        out.writeFully(bytes);
    }

    void startTranscript() {
        transcript.reset();
    }

    int transcript() {
        return transcript.value();
    }

    /** CRC32C over the CRCs of the frames of one direction: catches a frame lost, repeated or reordered. */
    static final class Transcript {
        private final CRC32C crc = new CRC32C();
        private final byte[] word = new byte[4];

        void add(int frameCrc) {
            word[0] = (byte) (frameCrc >>> 24);
            word[1] = (byte) (frameCrc >>> 16);
            word[2] = (byte) (frameCrc >>> 8);
            word[3] = (byte) frameCrc;
            crc.update(word);
        }

        void reset() {
            crc.reset();
        }

        int value() {
            return (int) crc.getValue();
        }
    }
}
