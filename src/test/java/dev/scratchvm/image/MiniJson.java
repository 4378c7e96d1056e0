package dev.scratchvm.image;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A strict little JSON parser for checking the inspector's output: objects, arrays, strings, numbers, literals. */
final class MiniJson {
    private final String s;
    private int pos;

    private MiniJson(String s) {
        this.s = s;
    }

    static Object parse(String text) {
        MiniJson p = new MiniJson(text);
        Object v = p.value();
        p.ws();
        if (p.pos != text.length()) throw p.fail("trailing text");
        return v;
    }

    private Object value() {
        ws();
        if (pos >= s.length()) throw fail("unexpected end");
        char c = s.charAt(pos);
        if (c == '{') return object();
        if (c == '[') return array();
        if (c == '"') return string();
        if (s.startsWith("true", pos)) { pos += 4; return true; }
        if (s.startsWith("false", pos)) { pos += 5; return false; }
        if (s.startsWith("null", pos)) { pos += 4; return null; }
        int start = pos;
        if (c == '-') pos++;
        while (pos < s.length() && Character.isDigit(s.charAt(pos))) pos++;
        if (start == pos) throw fail("unexpected character");
        return Long.parseLong(s.substring(start, pos));
    }

    private Map<String, Object> object() {
        Map<String, Object> m = new LinkedHashMap<>();
        pos++;
        ws();
        if (peek() == '}') { pos++; return m; }
        while (true) {
            ws();
            String key = string();
            ws();
            expect(':');
            if (m.put(key, value()) != null) throw fail("duplicate key " + key);
            ws();
            if (peek() == '}') { pos++; return m; }
            expect(',');
        }
    }

    private List<Object> array() {
        List<Object> l = new ArrayList<>();
        pos++;
        ws();
        if (peek() == ']') { pos++; return l; }
        while (true) {
            l.add(value());
            ws();
            if (peek() == ']') { pos++; return l; }
            expect(',');
        }
    }

    private String string() {
        expect('"');
        StringBuilder b = new StringBuilder();
        while (true) {
            char c = s.charAt(pos++);
            if (c == '"') return b.toString();
            if (c < 0x20) throw fail("raw control character in string");
            if (c != '\\') { b.append(c); continue; }
            char e = s.charAt(pos++);
            switch (e) {
                case '"', '\\', '/' -> b.append(e);
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'u' -> { b.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16)); pos += 4; }
                default -> throw fail("bad escape \\" + e);
            }
        }
    }

    private char peek() {
        if (pos >= s.length()) throw fail("unexpected end");
        return s.charAt(pos);
    }

    private void expect(char c) {
        if (peek() != c) throw fail("expected '" + c + "'");
        pos++;
    }

    private void ws() {
        while (pos < s.length() && " \t\n\r".indexOf(s.charAt(pos)) >= 0) pos++;
    }

    private IllegalArgumentException fail(String what) {
        return new IllegalArgumentException(what + " at " + pos);
    }
}
