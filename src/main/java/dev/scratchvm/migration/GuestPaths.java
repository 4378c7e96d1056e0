package dev.scratchvm.migration;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Guest paths (as saved in the state: absolute inside the guest root) turned into host paths
 * below a root. A path from the wire is untrusted: "..", "." and NUL are refused outright, so
 * the result can never name anything outside the root by its components.
 */
final class GuestPaths {
    static final int MAX_BYTES = 4096;

    private GuestPaths() {
    }

    /** The components of an absolute guest path, validated. */
    static List<String> components(String guestPath) throws MigrationException {
        if (!guestPath.startsWith("/") || guestPath.length() > MAX_BYTES || guestPath.indexOf('\0') >= 0) {
            throw MigrationException.protocol("file path '" + printable(guestPath) + "' is not an absolute guest path");
        }
        List<String> parts = new ArrayList<>();
        for (String c : guestPath.split("/")) {
            if (c.isEmpty()) continue;
            if (c.equals(".") || c.equals("..")) {
                throw MigrationException.protocol("file path '" + printable(guestPath) + "' contains '" + c + "'");
            }
            parts.add(c);
        }
        if (parts.isEmpty()) throw MigrationException.protocol("file path '/' is not a file");
        return parts;
    }

    /** {@code root} followed by the components of {@code guestPath}. */
    static Path under(Path root, String guestPath) throws MigrationException {
        Path p = root;
        for (String c : components(guestPath)) p = p.resolve(c);
        return p;
    }

    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(200).forEach(c -> b.appendCodePoint(c < 0x20 || c == 0x7f ? '?' : c));
        return b.toString();
    }
}
