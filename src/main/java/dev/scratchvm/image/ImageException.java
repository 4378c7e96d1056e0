package dev.scratchvm.image;

import java.io.IOException;

/**
 * An image (or an encoded state) cannot be used: missing, unreadable, corrupt, truncated,
 * of an unsupported version, or it could not be written. The message is always one line,
 * names the file when there is one, and says what is wrong.
 *
 * <p>It is an {@link IOException} so that callers handling I/O failures handle this too.
 */
public final class ImageException extends IOException {
    private final String detail;

    public ImageException(String message) {
        this(message, message, null);
    }

    public ImageException(String message, Throwable cause) {
        this(message, message, cause);
    }

    private ImageException(String message, String detail, Throwable cause) {
        super(oneLine(message), cause);
        this.detail = oneLine(detail);
    }

    /** A malformed encoded state; {@code detail} says where, e.g. "kernel.files: field 3 (path) ...". */
    static ImageException corruptState(String detail) {
        return new ImageException("state is corrupt: " + detail, detail, null);
    }

    /** What is wrong, without the prefix naming the file or the section. */
    String detail() {
        return detail;
    }

    /** File names and decoded strings may hold control characters; keep the message on one line. */
    static String oneLine(String s) {
        if (s == null) return "";
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                if (b == null) b = new StringBuilder(s.length() + 8).append(s, 0, i);
                b.append(String.format("\\x%02x", (int) c));
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }
}
