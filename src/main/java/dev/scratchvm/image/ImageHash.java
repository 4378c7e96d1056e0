package dev.scratchvm.image;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256 of an image file: the content identity a diff names its parent by. */
public final class ImageHash {
    private static final int CHUNK = 1 << 20;

    private ImageHash() {
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    /** Of bytes already mapped. */
    static byte[] of(MemorySegment file) {
        MessageDigest d = sha256();
        for (long at = 0; at < file.byteSize(); at += CHUNK) {
            d.update(file.asSlice(at, Math.min(CHUNK, file.byteSize() - at)).asByteBuffer());
        }
        return d.digest();
    }

    /** Of a file, read sequentially. */
    public static byte[] of(Path file) throws IOException {
        MessageDigest d = sha256();
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (ch.read(buf.clear()) >= 0) d.update(buf.flip());
        }
        return d.digest();
    }
}
