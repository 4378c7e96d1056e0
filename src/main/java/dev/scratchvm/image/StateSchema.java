package dev.scratchvm.image;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import dev.scratchvm.image.schema.StateProto;

/**
 * What scratchvm/state.proto says about each field beyond its type: the limits and the
 * version that added it, read from the custom options declared there.
 */
public final class StateSchema {
    private StateSchema() {
    }

    /** The most entries of a repeated field. */
    public static int maxCount(FieldDescriptor f) {
        if (!f.getOptions().hasExtension(StateProto.maxCount)) {
            throw new IllegalStateException("state.proto gives no max_count for " + f.getFullName());
        }
        return f.getOptions().getExtension(StateProto.maxCount);
    }

    /** The most bytes of one string, bytes or message value; unlimited (but for the input's size) if none is given. */
    public static int maxBytes(FieldDescriptor f) {
        return f.getOptions().hasExtension(StateProto.maxBytes) ? f.getOptions().getExtension(StateProto.maxBytes)
                : Integer.MAX_VALUE;
    }

    /** The format version that added the field ("1.0", "1.1", ...). */
    public static String since(FieldDescriptor f) {
        return f.getOptions().getExtension(StateProto.since);
    }

    /** The minor part of {@link #since}: 0 for "1.0", 2 for "1.2". */
    static int sinceMinor(FieldDescriptor f) {
        String v = since(f);
        return Integer.parseInt(v.substring(v.indexOf('.') + 1));
    }

    /** What a value must be, for the docs; empty if nothing is said. */
    public static String note(FieldDescriptor f) {
        return f.getOptions().getExtension(StateProto.note);
    }

    /** The largest value of a fixed64 field, or -1 for none. */
    public static long maxValue(FieldDescriptor f) {
        return f.getOptions().hasExtension(StateProto.maxValue) ? f.getOptions().getExtension(StateProto.maxValue) : -1;
    }

    static int maxMessageBytes(Descriptor d) {
        return d.getOptions().getExtension(StateProto.maxMessageBytes);
    }

    static FieldDescriptor field(Descriptor d, String name) {
        FieldDescriptor f = d.findFieldByName(name);
        if (f == null) throw new IllegalStateException("state.proto has no field " + d.getName() + "." + name);
        return f;
    }
}
