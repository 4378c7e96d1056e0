package dev.scratchvm.image;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.scratchvm.image.TlvWriter.I64;
import static dev.scratchvm.image.TlvWriter.LEN;
import static dev.scratchvm.image.TlvWriter.VARINT;

/**
 * One parsed TLV message: every field is located and bounds-checked against its
 * {@link Schema} up front, unknown tags are skipped (forward compatibility), and the
 * typed accessors then enforce presence. Nothing here allocates more than the input's
 * size or a schema limit allows, so hostile input cannot cause huge allocations.
 */
final class TlvMessage {
    private static final int MAX_TAG = (1 << 29) - 1;

    /** How a field is encoded and how much of it is allowed. */
    record Field(int tag, String name, int wire, int maxCount, int maxLength) {
    }

    static Field i64(int tag, String name) {
        return new Field(tag, name, I64, 1, 0);
    }

    static Field int32(int tag, String name) {
        return new Field(tag, name, VARINT, 1, 0);
    }

    static Field len(int tag, String name, int maxLength) {
        return new Field(tag, name, LEN, 1, maxLength);
    }

    static Field repeated(int tag, String name, int maxCount) {
        return new Field(tag, name, LEN, maxCount, Integer.MAX_VALUE);
    }

    /** The fields one message type may contain, indexed by tag. */
    static final class Schema {
        final String name;
        final Field[] byTag;

        Schema(String name, Field... fields) {
            this.name = name;
            int max = 0;
            for (Field f : fields) max = Math.max(max, f.tag());
            byTag = new Field[max + 1];
            for (Field f : fields) {
                if (byTag[f.tag()] != null) throw new IllegalArgumentException("duplicate tag " + f.tag());
                byTag[f.tag()] = f;
            }
        }
    }

    private final byte[] buf;
    private final String where;
    private final Schema schema;
    private final long[] value;      // VARINT/I64: the raw value; LEN: offset << 32 | length
    private final int[] count;
    private final long[][] items;    // repeated LEN fields: offset << 32 | length of each

    private TlvMessage(byte[] buf, String where, Schema schema) {
        this.buf = buf;
        this.where = where;
        this.schema = schema;
        int n = schema.byTag.length;
        value = new long[n];
        count = new int[n];
        items = new long[n][];
    }

    static TlvMessage parse(byte[] buf, Schema schema) throws ImageException {
        return parse(buf, 0, buf.length, schema, schema.name);
    }

    private static TlvMessage parse(byte[] buf, int offset, int length, Schema schema, String where)
            throws ImageException {
        TlvMessage m = new TlvMessage(buf, where, schema);
        int pos = offset, end = offset + length;
        while (pos < end) {
            long[] cursor = {pos};
            long key = m.varint(cursor, end, "field key");
            if (key >>> 3 > MAX_TAG || key >>> 3 == 0) throw m.error("invalid field tag " + (key >>> 3));
            int tag = (int) (key >>> 3), wire = (int) (key & 7);
            pos = (int) cursor[0];
            long v;
            switch (wire) {
                case VARINT -> {
                    v = m.varint(cursor, end, "field " + tag);
                    pos = (int) cursor[0];
                }
                case I64 -> {
                    if (end - pos < 8) throw m.error("field " + tag + " needs 8 bytes, " + (end - pos) + " remain");
                    v = 0;
                    for (int i = 7; i >= 0; i--) v = (v << 8) | (buf[pos + i] & 0xff);
                    pos += 8;
                }
                case LEN -> {
                    long n = m.varint(cursor, end, "field " + tag + " length");
                    pos = (int) cursor[0];
                    if (n < 0 || n > end - pos) {
                        throw m.error("field " + tag + " length " + Long.toUnsignedString(n)
                                + " exceeds remaining " + (end - pos) + " bytes");
                    }
                    v = ((long) pos << 32) | n;
                    pos += (int) n;
                }
                default -> throw m.error("field " + tag + " has unknown wire type " + wire);
            }
            Field f = tag < schema.byTag.length ? schema.byTag[tag] : null;
            if (f != null) m.record(f, wire, v);
        }
        return m;
    }

    private void record(Field f, int wire, long v) throws ImageException {
        int tag = f.tag();
        if (wire != f.wire()) {
            throw error(describe(f) + " has wire type " + wire + ", expected " + f.wire());
        }
        if (wire == LEN && (int) v > f.maxLength()) {
            throw error(describe(f) + " is " + (int) v + " bytes, limit is " + f.maxLength());
        }
        if (count[tag] == f.maxCount()) {
            throw error(f.maxCount() == 1 ? describe(f) + " appears more than once"
                    : describe(f) + " has more than " + f.maxCount() + " entries");
        }
        if (f.maxCount() > 1) {
            long[] list = items[tag];
            if (list == null) items[tag] = list = new long[8];
            else if (count[tag] == list.length) items[tag] = list = Arrays.copyOf(list, list.length * 2);
            list[count[tag]] = v;
        } else {
            value[tag] = v;
        }
        count[tag]++;
    }

    /** Unsigned LEB128, at most 10 bytes; cursor[0] is the position, advanced past it. */
    private long varint(long[] cursor, int end, String what) throws ImageException {
        int pos = (int) cursor[0];
        long result = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= end) throw error(what + ": truncated varint");
            int b = buf[pos++] & 0xff;
            if (shift == 63 && b > 1) throw error(what + ": varint overflows 64 bits");
            result |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                cursor[0] = pos;
                return result;
            }
        }
        throw error(what + ": varint longer than 10 bytes");
    }

    // ---- typed accessors -------------------------------------------------------------------

    /** Whether an optional field is present (fields added in a later minor version are optional). */
    boolean has(int tag) {
        return count[tag] > 0;
    }

    long i64(int tag) throws ImageException {
        return required(tag);
    }

    int int32(int tag) throws ImageException {
        long raw = required(tag);
        long v = (raw >>> 1) ^ -(raw & 1);
        if (v != (int) v) throw error(describe(schema.byTag[tag]) + " value " + v + " is out of 32-bit range");
        return (int) v;
    }

    boolean bool(int tag) throws ImageException {
        long raw = required(tag);
        if (raw != 0 && raw != 1) throw error(describe(schema.byTag[tag]) + " is " + raw + ", expected 0 or 1");
        return raw == 1;
    }

    byte[] bytes(int tag) throws ImageException {
        long v = required(tag);
        int off = (int) (v >>> 32);
        return Arrays.copyOfRange(buf, off, off + (int) v);
    }

    /** Strict UTF-8: malformed sequences and NUL are corruption, not something to paper over. */
    String string(int tag) throws ImageException {
        long v = required(tag);
        int off = (int) (v >>> 32), len = (int) v;
        try {
            String s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(buf, off, len)).toString();
            if (s.indexOf('\0') >= 0) throw error(describe(schema.byTag[tag]) + " contains a NUL byte");
            return s;
        } catch (CharacterCodingException e) {
            throw error(describe(schema.byTag[tag]) + " is not valid UTF-8");
        }
    }

    TlvMessage message(int tag, Schema sub) throws ImageException {
        long v = required(tag);
        return parse(buf, (int) (v >>> 32), (int) v, sub, where + "." + schema.byTag[tag].name());
    }

    /** A repeated message field; absent means empty. */
    List<TlvMessage> messages(int tag, Schema sub) throws ImageException {
        Field f = schema.byTag[tag];
        List<TlvMessage> out = new ArrayList<>(count[tag]);
        for (int i = 0; i < count[tag]; i++) {
            long v = items[tag][i];
            out.add(parse(buf, (int) (v >>> 32), (int) v, sub, where + "." + f.name() + "[" + i + "]"));
        }
        return out;
    }

    ImageException error(String what) {
        return ImageException.corruptState(where + ": " + what);
    }

    private long required(int tag) throws ImageException {
        if (count[tag] == 0) throw error("missing required " + describe(schema.byTag[tag]));
        return value[tag];
    }

    private static String describe(Field f) {
        return "field " + f.tag() + " (" + f.name() + ")";
    }
}
