package dev.scratchvm.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** File chores shared by tests that manage their own directories (where JUnit's @TempDir is not at hand). */
public final class TestFiles {
    private TestFiles() {
    }

    /** Deletes {@code dir} and everything below it. */
    public static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
