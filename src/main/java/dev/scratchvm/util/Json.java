package dev.scratchvm.util;

/**
 * A minimal JSON writer: objects, arrays, strings, numbers and booleans, pretty-printed
 * with two-space indentation. Commas and nesting are tracked here so callers cannot get
 * them wrong; strings are escaped per RFC 8259.
 */
public final class Json {
    private final StringBuilder out = new StringBuilder();
    private final boolean[] first = new boolean[64];
    private int depth;
    private boolean pendingName;

    public Json beginObject() {
        return open('{');
    }

    public Json endObject() {
        return close('}');
    }

    public Json beginArray() {
        return open('[');
    }

    public Json endArray() {
        return close(']');
    }

    public Json name(String name) {
        separator();
        string(out, name);
        out.append(": ");
        pendingName = true;
        return this;
    }

    public Json value(String s) {
        separator();
        if (s == null) out.append("null");
        else string(out, s);
        return this;
    }

    public Json value(long n) {
        separator();
        out.append(n);
        return this;
    }

    public Json value(boolean b) {
        separator();
        out.append(b);
        return this;
    }

    /** A number with four decimals (never exponent notation, never locale-dependent). */
    public Json value(double d) {
        separator();
        out.append(Double.isFinite(d) ? String.format(java.util.Locale.ROOT, "%.4f", d) : "null");
        return this;
    }

    public Json field(String name, double value) {
        return name(name).value(value);
    }

    public Json field(String name, String value) {
        return name(name).value(value);
    }

    public Json field(String name, long value) {
        return name(name).value(value);
    }

    public Json field(String name, boolean value) {
        return name(name).value(value);
    }

    @Override
    public String toString() {
        return out.toString();
    }

    private Json open(char c) {
        separator();
        out.append(c);
        first[++depth] = true;
        return this;
    }

    private Json close(char c) {
        boolean empty = first[depth];
        depth--;
        if (!empty) newline();
        out.append(c);
        return this;
    }

    private void separator() {
        if (pendingName) {
            pendingName = false;
            return;
        }
        if (depth == 0) return;
        if (!first[depth]) out.append(',');
        first[depth] = false;
        newline();
    }

    private void newline() {
        out.append('\n');
        out.append("  ".repeat(depth));
    }

    public static void string(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    // Control characters must be escaped; U+2028/9 too, so the output is also valid JavaScript.
                    if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029' || Character.isSurrogate(c)
                            && !validSurrogatePair(s, i)) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }

    /** True when position i starts or ends a well-formed surrogate pair (lone ones are escaped). */
    private static boolean validSurrogatePair(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }
}
