package dev.scratchvm.image;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * How a diff image names its parent: by content (SHA-256 of the parent file, which decides)
 * and by a path hint (where to look, relative to the diff's directory unless absolute).
 */
public record ParentRef(byte[] sha256, String pathHint) {
    public ParentRef {
        if (sha256.length != 32) throw new IllegalArgumentException("SHA-256 is 32 bytes, got " + sha256.length);
        int n = pathHint.getBytes(StandardCharsets.UTF_8).length;
        if (n < 1 || n > ImageFormat.MAX_HINT_BYTES || pathHint.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("parent path hint must be 1 to " + ImageFormat.MAX_HINT_BYTES + " bytes without NUL");
        }
        sha256 = sha256.clone();
    }

    @Override
    public byte[] sha256() {
        return sha256.clone();
    }

    public String hashHex() {
        return HexFormat.of().formatHex(sha256);
    }

    public boolean matches(byte[] hash) {
        return Arrays.equals(sha256, hash);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ParentRef p && Arrays.equals(sha256, p.sha256) && pathHint.equals(p.pathHint);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(sha256) * 31 + pathHint.hashCode();
    }

    @Override
    public String toString() {
        return "sha256:" + hashHex() + " (" + pathHint + ")";
    }
}
