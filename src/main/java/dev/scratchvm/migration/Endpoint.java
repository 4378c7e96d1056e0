package dev.scratchvm.migration;

import java.net.InetSocketAddress;

/** A TCP endpoint as users write it: {@code HOST:PORT}, or {@code [IPV6]:PORT}. */
public record Endpoint(String host, int port) {
    public static final int DEFAULT_PORT = 7070;

    /**
     * Parses {@code HOST:PORT}; {@code [fd53::1]:7070} for IPv6.
     *
     * @param option     the option being parsed, for the error message
     * @param allowZero  whether port 0 (pick any free port) is acceptable
     * @throws IllegalArgumentException with a one-line explanation
     */
    public static Endpoint parse(String text, String option, boolean allowZero) {
        String bad = option + " needs HOST:PORT (e.g. 127.0.0.1:7070 or [fd53::1]:7070), not '" + text + "'";
        String host, port;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') throw new IllegalArgumentException(bad);
            host = text.substring(1, close);
            port = text.substring(close + 2);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon <= 0 || text.indexOf(':') != colon) throw new IllegalArgumentException(bad);
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
        }
        if (host.isEmpty()) throw new IllegalArgumentException(bad);
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(bad);
        }
        if (p < (allowZero ? 0 : 1) || p > 65535) {
            throw new IllegalArgumentException(option + ": port " + port + " is not between " + (allowZero ? 0 : 1) + " and 65535");
        }
        return new Endpoint(host, p);
    }

    /** The socket address; resolves the host name now. */
    InetSocketAddress resolve() throws MigrationException {
        InetSocketAddress a = new InetSocketAddress(host, port);
        if (a.isUnresolved()) throw MigrationException.network("cannot resolve host '" + host + "'", MigrationException.EHOSTUNREACH);
        return a;
    }

    /** An address the way {@link #parse} reads it. */
    public static String format(InetSocketAddress a) {
        String h = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
        return (h.contains(":") ? "[" + compress(h) + "]" : h) + ":" + a.getPort();
    }

    /** RFC 5952 form: the longest run of two or more zero groups becomes "::" (Java prints them all). */
    static String compress(String ipv6) {
        int zone = ipv6.indexOf('%');
        String suffix = zone < 0 ? "" : ipv6.substring(zone);
        String[] groups = (zone < 0 ? ipv6 : ipv6.substring(0, zone)).split(":", -1);
        int best = -1, bestLen = 1;
        for (int i = 0; i < groups.length; ) {
            int j = i;
            while (j < groups.length && groups[j].matches("0+")) j++;
            if (j - i > bestLen) {
                best = i;
                bestLen = j - i;
            }
            i = Math.max(j, i + 1);
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < groups.length; i++) {
            if (i == best) {
                b.append(i == 0 ? "::" : ":");
                i += bestLen - 1;
                continue;
            }
            b.append(groups[i].replaceFirst("^0+(?=.)", "")).append(i < groups.length - 1 ? ":" : "");
        }
        return b + suffix;
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
