package dev.scratchvm.cli;

import dev.scratchvm.boot.BootLayout;
import java.util.Locale;

/** Parses sizes such as 16M, 1G, 512K or a byte count, rounded up to whole 2 MiB pages. */
final class MemorySize {
    static final long MIN = 4L << 20;

    private MemorySize() {
    }

    static long parse(String value) {
        String v = value.trim().toUpperCase(Locale.ROOT);
        if (v.endsWith("B")) v = v.substring(0, v.length() - 1);
        long unit = 1;
        if (v.endsWith("K")) unit = 1L << 10;
        else if (v.endsWith("M")) unit = 1L << 20;
        else if (v.endsWith("G")) unit = 1L << 30;
        if (unit != 1) v = v.substring(0, v.length() - 1);
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("memory size '" + value + "' is not a size like 16M or 1G");
        }
        if (n <= 0 || n > BootLayout.MAX_MEMORY / unit) {
            throw new IllegalArgumentException("memory size '" + value + "' must be between 4M and 64G");
        }
        long bytes = n * unit;
        long rounded = (bytes + (2L << 20) - 1) & ~((2L << 20) - 1);
        return Math.max(MIN, rounded);
    }
}
