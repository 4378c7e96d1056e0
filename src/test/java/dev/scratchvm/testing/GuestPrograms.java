package dev.scratchvm.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Builds the guest C programs (guest/tests/*.c and other sources in the repository) into static
 * binaries on demand, and runs binaries natively for comparison with runs inside a VM.
 *
 * <p>Binaries are cached under {@code target/guests/<libc>/} and rebuilt only when the source, or
 * a header in {@code guest/include}, is newer than the binary. Building is safe from several
 * threads (one lock per output file) and from several JVMs (compile to a temporary file, then an
 * atomic rename).
 */
public final class GuestPrograms {

    /** The C library a guest binary is linked against; each has its own compiler driver. */
    public enum Libc {
        GLIBC("gcc"),
        MUSL("musl-gcc");

        private final String compiler;

        Libc(String compiler) {
            this.compiler = compiler;
        }

        /** The compiler driver used for this libc. */
        public String compiler() {
            return compiler;
        }

        /** Directory name under target/guests. */
        public String dirName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Outcome of {@link #runNatively}. A process killed by signal N has exit code 128 + N. */
    public record NativeRun(int exitCode, String stdout, String stderr) {
    }

    private static final Duration COMPILE_TIMEOUT = Duration.ofMinutes(2);
    private static final ConcurrentHashMap<Path, Object> BUILD_LOCKS = new ConcurrentHashMap<>();
    private static volatile Path root;
    private static volatile Boolean musl;

    private GuestPrograms() {
    }

    /** The repository root: the nearest directory at or above the working directory with a pom.xml. */
    public static Path repoRoot() {
        Path r = root;
        if (r == null) {
            Path dir = Path.of("").toAbsolutePath().normalize();
            while (dir != null && !Files.isRegularFile(dir.resolve("pom.xml"))) {
                dir = dir.getParent();
            }
            if (dir == null) {
                throw new IllegalStateException(
                        "no pom.xml at or above " + Path.of("").toAbsolutePath() + "; run from inside the repository");
            }
            root = r = dir;
        }
        return r;
    }

    /** True if musl-gcc is on the PATH. */
    public static boolean muslAvailable() {
        Boolean m = musl;
        if (m == null) {
            musl = m = onPath(Libc.MUSL.compiler());
        }
        return m;
    }

    /** Names (without .c) of all programs in guest/tests, sorted. */
    public static List<String> testProgramNames() {
        try (Stream<Path> files = Files.list(repoRoot().resolve("guest/tests"))) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".c"))
                    .map(n -> n.substring(0, n.length() - 2))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Builds guest/tests/{@code name}.c into target/guests/&lt;libc&gt;/{@code name}. */
    public static Path build(String name, Libc libc) {
        Path source = repoRoot().resolve("guest/tests").resolve(name + ".c");
        if (!Files.isRegularFile(source)) {
            throw new IllegalArgumentException("no guest program " + source);
        }
        return compile(source, repoRoot().resolve("target/guests").resolve(libc.dirName()).resolve(name), libc);
    }

    /**
     * Builds any C source. A relative path is taken relative to the repository root. The binary goes
     * to target/guests/&lt;libc&gt;/ followed by the source's path within the repository without ".c"
     * (e.g. examples/lab3/app), or, for a source outside the repository, to
     * external/&lt;hash of its directory&gt;/&lt;name&gt;.
     */
    public static Path buildFile(Path source, Libc libc) {
        Path r = repoRoot();
        Path src = r.resolve(source).toAbsolutePath().normalize();
        String file = src.getFileName().toString();
        if (!file.endsWith(".c") || !Files.isRegularFile(src)) {
            throw new IllegalArgumentException("not a C source file: " + src);
        }
        Path base = r.resolve("target/guests").resolve(libc.dirName());
        Path out;
        if (src.startsWith(r.resolve("guest/tests"))) {
            out = base.resolve(file.substring(0, file.length() - 2));
        } else if (src.startsWith(r)) {
            String rel = r.relativize(src).toString();
            out = base.resolve(rel.substring(0, rel.length() - 2));
        } else {
            String hash = HexFormat.of().toHexDigits(src.getParent().toString().hashCode());
            out = base.resolve("external").resolve(hash).resolve(file.substring(0, file.length() - 2));
        }
        return compile(src, out, libc);
    }

    /**
     * guest/sqlite/sqlite_demo.c, linked with glibc against the system's static libsqlite3
     * (target/guests/glibc/sqlite_demo); null when there is no libsqlite3.a to link with.
     */
    public static Path buildSqliteDemo() {
        if (!Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libsqlite3.a"))) return null;
        Path source = repoRoot().resolve("guest/sqlite/sqlite_demo.c");
        return compile(source, repoRoot().resolve("target/guests/glibc/sqlite_demo"), Libc.GLIBC, "-lsqlite3");
    }

    private static Path compile(Path source, Path out, Libc libc, String... libraries) {
        synchronized (BUILD_LOCKS.computeIfAbsent(out, k -> new Object())) {
            try {
                if (upToDate(source, out)) {
                    return out;
                }
                if (libc == Libc.MUSL && !muslAvailable()) {
                    throw new IllegalStateException(
                            "musl-gcc not found on PATH; install musl-tools (scripts/install-deps.sh)");
                }
                Files.createDirectories(out.getParent());
                Path tmp = Files.createTempFile(out.getParent(), out.getFileName() + ".", ".tmp");
                try {
                    Path include = repoRoot().resolve("guest/include");
                    // -lm last: fenv and math functions live in libm for glibc; harmless for musl.
                    List<String> cmd = new java.util.ArrayList<>(List.of(libc.compiler(), "-static", "-O1", "-I",
                            include.toString(), "-o", tmp.toString(), source.toString()));
                    cmd.addAll(List.of(libraries));
                    cmd.add("-lm");
                    VmmProcess.Result r;
                    try {
                        r = VmmProcess.runProgram(repoRoot(), cmd, null, null, COMPILE_TIMEOUT);
                    } catch (UncheckedIOException e) {
                        throw new IllegalStateException("cannot run " + libc.compiler() + " to build " + source
                                + ": " + e.getCause().getMessage(), e);
                    }
                    if (r.exit() != 0) {
                        throw new IllegalStateException("compiling " + source + " with " + libc.compiler()
                                + " failed (exit " + r.exit() + "):\n" + String.join(" ", cmd) + "\n"
                                + r.stdout() + r.stderr());
                    }
                    Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } finally {
                    Files.deleteIfExists(tmp);
                }
                return out;
            } catch (IOException e) {
                throw new UncheckedIOException("building " + source, e);
            }
        }
    }

    /** The binary is current if it is newer than its source and every header in guest/include. */
    private static boolean upToDate(Path source, Path out) throws IOException {
        if (!Files.isRegularFile(out)) {
            return false;
        }
        FileTime built = Files.getLastModifiedTime(out);
        if (Files.getLastModifiedTime(source).compareTo(built) > 0) {
            return false;
        }
        Path include = repoRoot().resolve("guest/include");
        if (Files.isDirectory(include)) {
            try (Stream<Path> headers = Files.walk(include)) {
                for (Path h : (Iterable<Path>) headers::iterator) {
                    if (Files.getLastModifiedTime(h).compareTo(built) > 0) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    /**
     * Runs a binary on the host with stdin from /dev/null.
     *
     * @param env the complete environment of the child (nothing is inherited), so runs are
     *     reproducible
     * @throws AssertionError if it does not exit within {@code timeout} (it is killed)
     */
    public static NativeRun runNatively(Path binary, Path cwd, List<String> args, Map<String, String> env,
            Duration timeout) {
        return runNatively(binary, cwd, args, env, null, timeout);
    }

    /** As {@link #runNatively(Path, Path, List, Map, Duration)}, feeding {@code stdin} (null: /dev/null). */
    public static NativeRun runNatively(Path binary, Path cwd, List<String> args, Map<String, String> env,
            byte[] stdin, Duration timeout) {
        List<String> cmd = new ArrayList<>();
        cmd.add(binary.toAbsolutePath().toString());
        cmd.addAll(args);
        VmmProcess.Result r = VmmProcess.runProgram(cwd, cmd, env, stdin, timeout);
        return new NativeRun(r.exit(), r.stdout(), r.stderr());
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}
