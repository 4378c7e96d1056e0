package dev.scratchvm.realprogs;

import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.KvmTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Differential tests of programs built here against libraries nobody here wrote, from
 * Debian's static libraries: zlib's own minigzip example (zlib1g-dev ships its source) and a
 * small SQLite driver (guest/realprogs/sqlite_driver.c against libsqlite3-dev's libsqlite3.a)
 * that writes 100000 rows with a rollback journal and with WAL. Each runs in ScratchVM and
 * natively, as {@link BusyboxAppletsTest} does; what cannot run yet is listed in
 * {@link #KNOWN_FAILING} and kept true the same way.
 */
@KvmTest
@Tag(BusyboxAppletsTest.TAG)
class DebianLibrariesTest {
    static final long MEMORY = 128L << 20;

    /** One invocation: argv (argv[0] names the program) and the fixture file that is its stdin. */
    record Run(String stdin, List<String> argv) {
        String label() {
            return String.join(" ", argv) + (stdin.equals("empty") ? "" : " <" + stdin);
        }
    }

    static final List<Run> RUNS = List.of(
            new Run("empty", List.of("minigzip", "-c", "big.txt")),
            new Run("big.txt", List.of("minigzip")),
            new Run("empty", List.of("minigzip", "-9", "big.txt")),
            new Run("empty", List.of("minigzip", "-d", "big.gz")),
            new Run("empty", List.of("sqlite_driver", "delete")),
            new Run("empty", List.of("sqlite_driver", "wal")));

    static final Map<String, String> KNOWN_FAILING = knownFailing();

    private static Map<String, String> knownFailing() {
        Map<String, String> m = new LinkedHashMap<>();
        return m;
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void minigzipAndSqliteBehaveInTheVmAsNatively(@TempDir Path work) throws Exception {
        Programs programs = Programs.build();
        Path template = programs.template(work.resolve("template"));

        List<String> table = new ArrayList<>(), wrong = new ArrayList<>();
        int index = 0;
        for (Run r : RUNS) {
            Path program = programs.of(r);
            List<String> nativeCmd = new ArrayList<>(List.of(program.toString()));
            nativeCmd.addAll(r.argv().subList(1, r.argv().size()));
            Differential d = Differential.run(program, template, r.argv(), nativeCmd, r.stdin(), work.resolve("case" + index++),
                    MEMORY);
            String label = r.label();
            String cause = d.cause(Set.of()), known = KNOWN_FAILING.get(label);
            table.add(String.format("%-4s %-30s %s", cause == null ? "ok" : "FAIL", label, cause == null ? "" : cause));
            if (cause == null && known != null) wrong.add(label + ": passes now; remove it from KNOWN_FAILING");
            if (cause != null && known == null) wrong.add(label + ": fails: " + cause);
            if (cause != null && known != null && !cause.startsWith(known)) {
                wrong.add(label + ": fails for another reason now: " + cause + " (listed: " + known + ")");
            }
        }
        Path report = DebianPackages.dir().getParent().resolve("realprogs/debian-libraries.txt");
        Files.createDirectories(report.getParent());
        Files.write(report, table);
        assertThat(wrong).as("results that differ from KNOWN_FAILING (full table: %s)", report).isEmpty();
    }

    /** minigzip and the SQLite driver, built from Debian's packages. */
    record Programs(Path minigzip, Path sqlite) {
        /** Fetches the packages and builds both; skips the calling test when that cannot be done here. */
        static Programs build() throws Exception {
            DebianPackages.require("zlib1g-dev", "libsqlite3-dev");
            Path root = DebianPackages.root(), lib = root.resolve("usr/lib/x86_64-linux-gnu");
            Path minigzip = DebianLibrariesTest.build("minigzip", root.resolve("usr/share/doc/zlib1g-dev/examples/minigzip.c"),
                    lib.resolve("libz.a"));
            Path sqlite = DebianLibrariesTest.build("sqlite_driver", GuestPrograms.repoRoot().resolve("guest/realprogs/sqlite_driver.c"),
                    lib.resolve("libsqlite3.a"), "-lm");
            return new Programs(minigzip, sqlite);
        }

        Path of(Run r) {
            return r.argv().getFirst().equals("minigzip") ? minigzip : sqlite;
        }

        /** The directory every run starts from: 20000 lines of text, and the same gzipped by minigzip. */
        Path template(Path template) throws Exception {
            Files.createDirectories(template);
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < 20000; i++) text.append("line ").append(i).append(": ").append(Integer.toHexString(i * 7919)).append('\n');
            Files.writeString(template.resolve("big.txt"), text);
            Files.writeString(template.resolve("empty"), "");
            Files.write(template.resolve("big.gz"), gzipNatively(minigzip, template.resolve("big.txt")));
            return template;
        }
    }

    /** gcc -static against a Debian static library, into target/realprogs/bin; skips without gcc. */
    private static Path build(String name, Path source, Path library, String... extra) throws Exception {
        Path out = DebianPackages.dir().getParent().resolve("realprogs/bin").resolve(name);
        Files.createDirectories(out.getParent());
        List<String> cmd = new ArrayList<>(List.of("gcc", "-static", "-O1", "-w", "-I", DebianPackages.root().resolve("usr/include").toString(),
                "-o", out.toString(), source.toString(), library.toString()));
        cmd.addAll(List.of(extra));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            assumeTrue(false, "gcc not available: " + e.getMessage());
            throw e;
        }
        String log = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("building %s: %s", name, log).isZero();
        return out;
    }

    private static byte[] gzipNatively(Path minigzip, Path file) throws Exception {
        Process p = new ProcessBuilder(minigzip.toString(), "-c", file.getFileName().toString()).directory(file.getParent().toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor()).isZero();
        return out;
    }
}
