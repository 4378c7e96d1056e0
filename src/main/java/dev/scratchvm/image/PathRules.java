package dev.scratchvm.image;

/**
 * The one shape a saved guest path has: absolute inside the guest root ("/" is the root),
 * normalized, as the VMM records it from where the host fd really points. Anything else did
 * not come from ScratchVM: "..", ".", empty components ("//"), a trailing "/", NUL, or an
 * empty or relative path. (The host would confine even those to the root, but an image has
 * no business naming them.)
 */
final class PathRules {
    private PathRules() {
    }

    /** Why {@code path} is not a saved guest path, naming {@code field}; null when it is one. */
    static String problem(String field, String path) {
        if (path.isEmpty()) return field + " is empty";
        if (path.indexOf('\0') >= 0) return field + " " + quote(path) + " contains NUL";
        if (path.charAt(0) != '/') return field + " " + quote(path) + " is not absolute in the guest root";
        if (path.equals("/")) return null;
        if (path.endsWith("/")) return field + " " + quote(path) + " ends with '/'";
        for (String c : path.substring(1).split("/", -1)) {
            if (c.isEmpty()) return field + " " + quote(path) + " has an empty component";
            if (c.equals(".") || c.equals("..")) return field + " " + quote(path) + " has a '" + c + "' component";
        }
        return null;
    }

    /** Quoted, short and with control characters escaped, for a one-line message. */
    static String quote(String s) {
        return "\"" + ImageException.oneLine(s.length() > 200 ? s.substring(0, 200) + "..." : s) + "\"";
    }
}
