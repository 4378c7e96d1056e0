package dev.scratchvm.image;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import dev.scratchvm.image.schema.StateProto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Checks encoded STATE bytes against the schema (scratchvm/state.proto) before protobuf
 * builds anything from them: wire types, every length and count against its limit, each
 * singular field at most once, required fields present, sint32 values within 32 bits,
 * booleans 0 or 1, strings strict UTF-8 without NUL. Protobuf's own parser is lenient where
 * an image must not be (it merges a repeated singular field, skips a field of the wrong wire
 * type, truncates a 64-bit varint into an int, replaces malformed UTF-8) and allocates per
 * repeated entry before any count is known; after this pass none of that can happen. Unknown
 * field numbers are skipped (a later minor version's fields). Allocates nothing in
 * proportion to counts a hostile input claims.
 */
final class StateWire {
    static final int VARINT = 0, I64 = 1, LEN = 2;
    private static final int MAX_TAG = (1 << 29) - 1;

    private final byte[] buf;
    /** The newest format minor version among the fields present, from their (since) option. */
    private int newestMinor;

    private StateWire(byte[] buf) {
        this.buf = buf;
    }

    /**
     * Checks a whole encoded {@code State} and returns the newest format minor version among
     * the fields it holds: an image must say at least that version, or a reader of an older
     * one would restore it without state it cannot see.
     */
    static int check(byte[] bytes) throws ImageException {
        StateWire w = new StateWire(bytes);
        w.message(StateProto.State.getDescriptor(), 0, bytes.length, "state");
        return w.newestMinor;
    }

    /**
     * One message in [offset, offset + length): first every field's framing, wire type, length
     * and count, then the messages it contains (in the order they appear), then required fields.
     */
    private void message(Descriptor type, int offset, int length, String where) throws ImageException {
        List<FieldDescriptor> fields = type.getFields();
        int maxTag = 0;
        for (FieldDescriptor f : fields) maxTag = Math.max(maxTag, f.getNumber());
        int[] count = new int[maxTag + 1];
        scan(type, offset, length, where, count, false);
        scan(type, offset, length, where, new int[maxTag + 1], true);
        for (FieldDescriptor f : fields) {
            if (count[f.getNumber()] == 0 && f.isRequired()) throw error(where, "missing required " + describe(f));
        }
    }

    /** One pass over the fields: checking each, or ({@code nested}) descending into the messages. */
    private void scan(Descriptor type, int offset, int length, String where, int[] count, boolean nested)
            throws ImageException {
        int maxTag = count.length - 1;
        int pos = offset, end = offset + length;
        while (pos < end) {
            long[] cursor = {pos};
            long key = varint(cursor, end, "field key", where);
            if (key >>> 3 > MAX_TAG || key >>> 3 == 0) throw error(where, "invalid field tag " + (key >>> 3));
            int tag = (int) (key >>> 3), wire = (int) (key & 7);
            pos = (int) cursor[0];
            long v;
            switch (wire) {
                case VARINT -> {
                    v = varint(cursor, end, "field " + tag, where);
                    pos = (int) cursor[0];
                }
                case I64 -> {
                    if (end - pos < 8) throw error(where, "field " + tag + " needs 8 bytes, " + (end - pos) + " remain");
                    v = ByteBuffer.wrap(buf, pos, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
                    pos += 8;
                }
                case LEN -> {
                    long n = varint(cursor, end, "field " + tag + " length", where);
                    pos = (int) cursor[0];
                    if (n < 0 || n > end - pos) {
                        throw error(where, "field " + tag + " length " + Long.toUnsignedString(n)
                                + " exceeds remaining " + (end - pos) + " bytes");
                    }
                    v = ((long) pos << 32) | n;
                    pos += (int) n;
                }
                default -> throw error(where, "field " + tag + " has unknown wire type " + wire);
            }
            FieldDescriptor f = tag <= maxTag ? type.findFieldByNumber(tag) : null;
            if (f == null) continue;
            if (nested) {
                if (f.getType() == FieldDescriptor.Type.MESSAGE) {
                    String at = where + "." + f.getName() + (f.isRepeated() ? "[" + count[tag] + "]" : "");
                    message(f.getMessageType(), (int) (v >>> 32), (int) v, at);
                }
                count[tag]++;
                continue;
            }
            int expected = wireType(f);
            if (wire != expected) throw error(where, describe(f) + " has wire type " + wire + ", expected " + expected);
            int maxBytes = StateSchema.maxBytes(f);
            if (wire == LEN && (int) v > maxBytes) {
                throw error(where, describe(f) + " is " + (int) v + " bytes, limit is " + maxBytes);
            }
            int maxCount = f.isRepeated() ? StateSchema.maxCount(f) : 1;
            if (count[tag] == maxCount) {
                throw error(where, maxCount == 1 ? describe(f) + " appears more than once"
                        : describe(f) + " has more than " + maxCount + " entries");
            }
            count[tag]++;
            if (!atDefault(f, v)) newestMinor = Math.max(newestMinor, StateSchema.sinceMinor(f));
            value(f, v, where);
        }
    }

    /**
     * Whether a single scalar field holds its default: what a reader that does not know the
     * field assumes, so it needs no newer version to be read right.
     */
    private boolean atDefault(FieldDescriptor f, long raw) {
        if (f.isRepeated() || f.getType() == FieldDescriptor.Type.MESSAGE) return false;
        Object d = f.getDefaultValue();
        return switch (f.getType()) {
            case SINT32 -> ((raw >>> 1) ^ -(raw & 1)) == (Integer) d;
            case BOOL -> (raw != 0) == (Boolean) d;
            case FIXED64 -> raw == (Long) d;
            case BYTES -> ((ByteString) d).equals(
                    ByteString.copyFrom(buf, (int) (raw >>> 32), (int) raw));
            case STRING -> ((String) d).equals(new String(buf, (int) (raw >>> 32), (int) raw, StandardCharsets.UTF_8));
            default -> false;
        };
    }

    /** The checks of one value that need no recursion. */
    private void value(FieldDescriptor f, long raw, String where) throws ImageException {
        switch (f.getType()) {
            case SINT32 -> {
                long v = (raw >>> 1) ^ -(raw & 1);
                if (v != (int) v) throw error(where, describe(f) + " value " + v + " is out of 32-bit range");
            }
            case BOOL -> {
                if (raw != 0 && raw != 1) throw error(where, describe(f) + " is " + raw + ", expected 0 or 1");
            }
            case STRING -> string(f, (int) (raw >>> 32), (int) raw, where);
            default -> {
            }
        }
    }

    /** Strict UTF-8: malformed sequences and NUL are corruption, not something to paper over. */
    private void string(FieldDescriptor f, int off, int len, String where) throws ImageException {
        for (int i = off; i < off + len; i++) {
            if (buf[i] == 0) throw error(where, describe(f) + " contains a NUL byte");
        }
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(buf, off, len));
        } catch (CharacterCodingException e) {
            throw error(where, describe(f) + " is not valid UTF-8");
        }
    }

    /** The wire type each schema type is written with; the schema uses no others. */
    static int wireType(FieldDescriptor f) {
        return switch (f.getType()) {
            case SINT32, BOOL -> VARINT;
            case FIXED64 -> I64;
            case STRING, BYTES, MESSAGE -> LEN;
            default -> throw new IllegalStateException("state.proto uses " + f.getType() + " for " + f.getFullName());
        };
    }

    /** Unsigned LEB128, at most 10 bytes; cursor[0] is the position, advanced past it. */
    private long varint(long[] cursor, int end, String what, String where) throws ImageException {
        int pos = (int) cursor[0];
        long result = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= end) throw error(where, what + ": truncated varint");
            int b = buf[pos++] & 0xff;
            if (shift == 63 && b > 1) throw error(where, what + ": varint overflows 64 bits");
            result |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                cursor[0] = pos;
                return result;
            }
        }
        throw error(where, what + ": varint longer than 10 bytes");
    }

    static ImageException error(String where, String what) {
        return ImageException.corruptState(where + ": " + what);
    }

    private static String describe(FieldDescriptor f) {
        return "field " + f.getNumber() + " (" + f.getName() + ")";
    }
}
