package dev.scratchvm.image;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Writes protobuf wire format by hand (see docs/image-format.md, "STATE"), for tests that need
 * bytes no encoder would produce: each field is a
 * key varint {@code tag << 3 | wireType} followed by its value. Signed integers are
 * zigzag varints, 64-bit values fixed little-endian, strings/bytes/nested messages are
 * length-prefixed.
 */
final class TlvWriter {
    static final int VARINT = 0, I64 = 1, LEN = 2;

    private byte[] buf = new byte[64];
    private int size;

    TlvWriter int32(int tag, int value) {
        key(tag, VARINT);
        return rawVarint(zigzag(value));
    }

    /** A VARINT field holding {@code raw} as it is, without zigzag: for values no encoder would write. */
    TlvWriter rawVarint(int tag, long raw) {
        key(tag, VARINT);
        return rawVarint(raw);
    }

    /** Just a key with any wire type (its value, if any, must follow). */
    TlvWriter field(int tag, int wire, byte... value) {
        key(tag, wire);
        ensure(value.length);
        System.arraycopy(value, 0, buf, size, value.length);
        size += value.length;
        return this;
    }

    TlvWriter bool(int tag, boolean value) {
        key(tag, VARINT);
        return rawVarint(value ? 1 : 0);
    }

    TlvWriter i64(int tag, long value) {
        key(tag, I64);
        ensure(8);
        for (int i = 0; i < 8; i++) buf[size++] = (byte) (value >>> (8 * i));
        return this;
    }

    TlvWriter bytes(int tag, byte[] value) {
        return bytes(tag, value, 0, value.length);
    }

    /** A UTF-8 string; unpaired surrogates and NUL are refused rather than silently altered. */
    TlvWriter string(int tag, String value, int maxBytes, String what) {
        if (value.indexOf('\0') >= 0) throw new IllegalArgumentException(what + " contains a NUL character");
        ByteBuffer utf8;
        try {
            utf8 = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(value));
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(what + " is not valid Unicode (unpaired surrogate)");
        }
        if (utf8.remaining() > maxBytes) {
            throw new IllegalArgumentException(what + " is " + utf8.remaining() + " bytes, limit is " + maxBytes);
        }
        return bytes(tag, utf8.array(), utf8.position(), utf8.remaining());
    }

    TlvWriter message(int tag, TlvWriter child) {
        return bytes(tag, child.buf, 0, child.size);
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, size);
    }

    int size() {
        return size;
    }

    private TlvWriter bytes(int tag, byte[] value, int offset, int length) {
        key(tag, LEN);
        rawVarint(length);
        ensure(length);
        System.arraycopy(value, offset, buf, size, length);
        size += length;
        return this;
    }

    private void key(int tag, int wire) {
        rawVarint(((long) tag << 3) | wire);
    }

    private TlvWriter rawVarint(long v) {
        ensure(10);
        while ((v & ~0x7fL) != 0) {
            buf[size++] = (byte) ((v & 0x7f) | 0x80);
            v >>>= 7;
        }
        buf[size++] = (byte) v;
        return this;
    }

    static long zigzag(long v) {
        return (v << 1) ^ (v >> 63);
    }

    private void ensure(int more) {
        if (size + more > buf.length) {
            long want = Math.max((long) buf.length * 2, (long) size + more);
            if (want > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("encoded state exceeds 2 GiB");
            buf = Arrays.copyOf(buf, (int) want);
        }
    }
}
