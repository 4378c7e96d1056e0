package dev.scratchvm.vm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Guest binaries, native reference runs, and the checks every VMM error message must pass. */
final class Guest {
    static final Duration NATIVE_TIMEOUT = Duration.ofSeconds(60);

    private Guest() {
    }

    /** guest/tests/NAME.c built for one libc. */
    static Path build(String name, Libc libc) {
        return GuestPrograms.build(name, libc);
    }

    static NativeRun runNatively(Path binary, Path dir, List<String> args) {
        return GuestPrograms.runNatively(binary, dir, args, Map.of(), NATIVE_TIMEOUT);
    }

    static NativeRun runNatively(Path binary, Path dir, List<String> args, Map<String, String> env, byte[] stdin) {
        return GuestPrograms.runNatively(binary, dir, args, env, stdin, NATIVE_TIMEOUT);
    }

    /** Compiles a C source with gcc and the given flags (for binaries GuestPrograms does not make). */
    static Path gcc(Path source, Path out, String... flags) {
        return compile("gcc", source, out, flags);
    }

    /** Compiles a C++ source with g++ and the given flags. */
    static Path gxx(Path source, Path out, String... flags) {
        return compile("g++", source, out, flags);
    }

    private static Path compile(String compiler, Path source, Path out, String... flags) {
        List<String> cmd = new ArrayList<>(List.of(compiler, "-O1"));
        cmd.addAll(List.of(flags));
        cmd.addAll(List.of("-o", out.toString(), source.toString()));
        Result r = VmmProcess.runProgram(GuestPrograms.repoRoot(), cmd, null, null, Duration.ofMinutes(2));
        if (r.exit() != 0) throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + r.stdout() + r.stderr());
        return out;
    }

    /** guest/tests/FILE, e.g. "hello.c". */
    static Path source(String file) {
        return GuestPrograms.repoRoot().resolve("guest/tests").resolve(file);
    }

    /** Whatever went wrong, the user sees messages, never a Java stack trace. */
    static void assertNoStackTrace(Result r) {
        assertThat(r.stderr()).as("stderr of a VMM run\n%s", r.describe())
                .doesNotContain("Exception", "\tat ", "Caused by:");
    }

    /** The VMM refused or failed: exactly one line on stderr, naming the problem, and a non-zero exit. */
    static void assertOneLineError(Result r, String... fragments) {
        assertNoStackTrace(r);
        assertThat(r.exit()).as("exit code\n%s", r.describe()).isNotZero();
        assertThat(r.stderrLines()).as("stderr lines\n%s", r.describe()).hasSize(1);
        assertThat(r.stderr()).as("the error line").startsWith("scratchvm: ").contains(fragments);
    }

    /** Every file and directory under {@code dir}: relative path to content ("<dir>" for directories). */
    static Map<String, String> tree(Path dir) {
        Map<String, String> tree = new TreeMap<>();
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                if (p.equals(dir)) continue;
                String rel = dir.relativize(p).toString();
                if (Files.isSymbolicLink(p)) tree.put(rel, "-> " + Files.readSymbolicLink(p));
                else if (Files.isDirectory(p)) tree.put(rel, "<dir>");
                else tree.put(rel, new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return tree;
    }

    /** A new, empty directory below {@code parent}. */
    static Path freshDir(Path parent, String prefix) {
        try {
            return Files.createTempDirectory(parent, prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
