package dev.scratchvm.cmdline;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/** Converters for option values; each failure is an IllegalArgumentException the user reads. */
public final class Values {
    private Values() {
    }

    public static int integer(String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + value + "' is not an int");
        }
    }

    public static Path path(String value) {
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("'" + value + "' is not a path: " + e.getReason());
        }
    }
}
