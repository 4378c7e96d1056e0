package dev.scratchvm.migration;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** The frames in a recorded stream of one direction (after the preamble), for checking what a side sent. */
record FrameMap(List<Frame> frames) {
    record Frame(long offset, MessageType type, long length) {
    }

    static FrameMap of(byte[] stream) {
        List<Frame> frames = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(stream);
        long at = Messages.Preamble.BYTES;
        while (at + FrameWriter.HEADER <= stream.length) {
            MessageType t = MessageType.of(b.get((int) at) & 0xff);
            long length = Integer.toUnsignedLong(b.getInt((int) at + 4));
            frames.add(new Frame(at, t, length));
            at += FrameWriter.HEADER + length + FrameWriter.TRAILER;
        }
        return new FrameMap(frames);
    }
}
