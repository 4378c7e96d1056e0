package dev.scratchvm.snapshot;

import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Guest programs put into a test's directory, native reference runs, and file snapshots. */
final class Guest {
    static final Path LAB_APP = Path.of("examples/lab3/app.c");
    static final String LAB_FILE = "ay_caramba";
    static final String LAB_FIRST = "Hello World !!!\n";
    static final String LAB_BOTH = "Hello World !!!\nBye Bye !!!\n";

    private Guest() {
    }

    /** Builds guest/tests/{@code name}.c and copies it into {@code dir}; returns the path to pass to {@code run}. */
    static String install(String name, Libc libc, Path dir) {
        return copy(GuestPrograms.build(name, libc), dir, name);
    }

    /** Builds the lab application (examples/lab3/app.c) into {@code dir} as ./app. */
    static String installLabApp(Libc libc, Path dir) {
        return copy(GuestPrograms.buildFile(LAB_APP, libc), dir, "app");
    }

    private static String copy(Path binary, Path dir, String name) {
        try {
            Files.copy(binary, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return "./" + name;
    }

    /** Runs guest/tests/{@code name}.c on the host in {@code dir}, where SAVE() returns -ENOSYS. */
    static NativeRun runNatively(String name, Libc libc, Path dir, String... args) {
        NativeRun run = GuestPrograms.runNatively(GuestPrograms.build(name, libc), dir, List.of(args), Map.of(),
                Duration.ofSeconds(60));
        assertThat(run.exitCode()).as("native run of %s: %s", name, run.stderr()).isZero();
        return run;
    }

    /** Regular files below {@code dir} (relative path to content), skipping the named ones. */
    static Map<String, String> files(Path dir, String... skip) {
        List<String> skipped = List.of(skip);
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                String rel = dir.relativize(p).toString();
                if (Files.isRegularFile(p) && !skipped.contains(rel) && !skipped.contains(p.getFileName().toString())) {
                    out.put(rel, Files.readString(p));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What a file looked like, to prove later that nothing touched it. */
    record FileState(boolean exists, byte[] content, FileTime modified) {
        static FileState of(Path file) {
            try {
                if (!Files.exists(file)) return new FileState(false, new byte[0], null);
                return new FileState(true, Files.readAllBytes(file), Files.getLastModifiedTime(file));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void assertUnchanged(Path file) {
            FileState now = of(file);
            assertThat(now.exists).as("%s exists", file).isEqualTo(exists);
            assertThat(now.content).as("content of %s", file).isEqualTo(content);
            assertThat(now.modified).as("mtime of %s", file).isEqualTo(modified);
        }
    }
}
