package dev.scratchvm.vm;

import dev.scratchvm.testing.KvmTest;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The guest root is a jail: "/" in the guest is the root directory, so "..", absolute host
 * paths and symlinks pointing out all resolve inside it (normally to nothing: ENOENT = 2).
 * The guest can neither read nor change anything outside.
 *
 * <p>Layout: {@code base/secret.txt} is outside; {@code base/root} is the guest root, holding
 * symlinks to the secret (relative and absolute) and to {@code base} itself.
 */
@KvmTest
@DisplayName("The guest cannot reach outside its root")
class PathEscapeTest {
    private static final String SECRET = "TOP SECRET\n";

    @TempDir
    Path base;
    private Path root;
    private Path secret;

    @BeforeEach
    void layOut() throws IOException {
        root = Files.createDirectories(base.resolve("root"));
        Files.createDirectories(root.resolve("sub"));
        secret = Files.writeString(base.resolve("secret.txt"), SECRET);
        // An old timestamp, so any write to the file would show.
        Files.setLastModifiedTime(secret, FileTime.fromMillis(1_000_000_000_000L));
        Files.createSymbolicLink(root.resolve("rel_link"), Path.of("../secret.txt"));
        Files.createSymbolicLink(root.resolve("abs_link"), secret.toAbsolutePath());
        Files.createSymbolicLink(root.resolve("dir_link"), base.toAbsolutePath());
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("'..', absolute paths and symlinks to the secret all end inside the root")
    void cannotReadOrWriteOutside(Libc libc) throws IOException {
        Map<String, String> outsideBefore = outside();
        String abs = secret.toAbsolutePath().toString();
        List<String> reads = List.of("r:../secret.txt", "r:" + abs, "r:rel_link", "r:abs_link",
                "r:dir_link/secret.txt", "r:sub/../../secret.txt", "r:/../secret.txt", "s:../secret.txt",
                "s:abs_link", "c:dir_link");
        List<String> changes = List.of("a:../secret.txt", "a:abs_link", "a:" + abs, "x:../secret.txt", "x:" + abs,
                "w:" + base.toAbsolutePath().resolve("created.txt"), "w:dir_link/created.txt",
                "w:../created.txt", "m:../newdir", "w:rel_link");
        List<String> ops = new ArrayList<>(reads);
        ops.add("c:..");
        ops.addAll(changes);
        List<String> args = new ArrayList<>(List.of("run", "--trace=none", Guest.build("pathprobe", libc).toString()));
        args.addAll(ops);

        Result r = VmmProcess.run(root, null, VmmProcess.DEFAULT_TIMEOUT, args);

        assertThat(r.exit()).as(r.describe()).isZero();
        List<String> lines = r.stdout().lines().toList();
        assertThat(lines).hasSize(ops.size());
        for (int i = 0; i < reads.size(); i++) assertThat(lines.get(i)).isEqualTo(reads.get(i) + ": errno 2");
        assertThat(lines).contains("c:..: ok cwd /", // ".." of "/" is "/" again
                "a:../secret.txt: errno 2", "a:abs_link: errno 2", "x:../secret.txt: errno 2",
                "w:dir_link/created.txt: errno 2",
                // These succeed, but inside the root.
                "w:../created.txt: ok", "m:../newdir: ok", "w:rel_link: ok");
        assertThat(outside()).as("everything outside the root").isEqualTo(outsideBefore);
        assertThat(secret).hasContent(SECRET);
        assertThat(Files.getLastModifiedTime(secret).toMillis()).isEqualTo(1_000_000_000_000L);
        assertThat(root.resolve("created.txt")).hasContent("pwned\n");
        assertThat(root.resolve("newdir")).isDirectory();
        assertThat(root.resolve("secret.txt")).as("rel_link followed inside the root").hasContent("pwned\n");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("chmod, utimensat, truncate and link through '..', absolute paths and symlinks do not touch the secret")
    void cannotChangeMetadataOutside(Libc libc) throws IOException {
        Map<String, String> outsideBefore = outside();
        String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(secret));
        String abs = secret.toAbsolutePath().toString();
        List<String> ops = new ArrayList<>();
        for (String op : List.of("p", "t", "T", "l")) {
            for (String path : List.of("../secret.txt", abs, "abs_link", "dir_link/secret.txt", "sub/../../secret.txt")) {
                ops.add(op + ":" + path);
            }
        }
        List<String> args = new ArrayList<>(List.of("run", "--trace=none", Guest.build("pathprobe", libc).toString()));
        args.addAll(ops);

        Result r = VmmProcess.run(root, null, VmmProcess.DEFAULT_TIMEOUT, args);

        assertThat(r.exit()).as(r.describe()).isZero();
        assertThat(r.stdout().lines().toList()).isEqualTo(ops.stream().map(op -> op + ": errno 2").toList());
        assertThat(outside()).isEqualTo(outsideBefore);
        assertThat(secret).hasContent(SECRET);
        assertThat(Files.getLastModifiedTime(secret).toMillis()).isEqualTo(1_000_000_000_000L);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(secret))).isEqualTo(mode);
    }

    @Test
    @DisplayName("--root DIR is the guest's '/', whatever the VMM's own working directory; chdir and fchdir stay in it")
    void explicitRoot() throws IOException {
        Map<String, String> outsideBefore = outside();

        Result r = VmmProcess.run(base, "run", "--trace=none", "--root", "root",
                Guest.build("pathprobe", Libc.GLIBC).toString(), "r:secret.txt", "w:made.txt", "c:/sub", "f:..",
                "f:..", "f:made.txt");

        assertThat(r.stdout()).as(r.describe()).isEqualTo("""
                r:secret.txt: errno 2
                w:made.txt: ok
                c:/sub: ok cwd /sub
                f:..: ok cwd /
                f:..: ok cwd /
                f:made.txt: errno 20
                """);
        assertThat(root.resolve("made.txt")).hasContent("pwned\n");
        assertThat(outside()).isEqualTo(outsideBefore);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("escape.c, which escapes natively, is refused every time")
    void escapeProgram(Libc libc) throws IOException {
        Files.writeString(base.resolve("escape_target"), "outside\n");
        Path jail = Files.createDirectories(base.resolve("jail"));
        Map<String, String> outsideBefore = outside();

        Result r = VmmProcess.run(jail, "run", "--trace=none", Guest.build("escape", libc).toString());

        // Natively /etc/passwd and the symlink to it open (exit 1); here nothing gets out (exit 0). The
        // symlink itself is made, inside the root, but resolving it stays there too.
        assertThat(r.stdout()).as(r.describe()).contains("open ../escape_target: refused errno=2\n",
                "open /etc/passwd: refused errno=2\n", "symlink escape_link: ok\n", "open escape_link: refused errno=2\n",
                "open subdir/../../x: refused errno=2\n").doesNotContainPattern("open .*: ok\n");
        assertThat(r.exit()).isZero();
        assertThat(outside()).isEqualTo(outsideBefore);
    }

    /** Everything under base except the guest root. */
    private Map<String, String> outside() {
        Map<String, String> all = new TreeMap<>(Guest.tree(base));
        all.keySet().removeIf(p -> p.startsWith("root/"));
        all.keySet().removeIf(p -> p.startsWith("jail/"));
        return all;
    }
}
