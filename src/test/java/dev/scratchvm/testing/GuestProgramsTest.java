package dev.scratchvm.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks the guest programs themselves, natively: each builds with gcc and musl-gcc, and where it
 * is safe to run on the host it exits as expected and prints the same thing on two runs. The VM
 * tests compare against exactly these native results, so they must be right and reproducible.
 */
class GuestProgramsTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** How one native run of a program is set up and checked. {@code check} gets the run and its cwd. */
    private record Case(String label, List<String> args, Map<String, String> env, byte[] stdin, int exitCode,
            BiConsumer<NativeRun, Path> check) {

        Case(String label, List<String> args, int exitCode, BiConsumer<NativeRun, Path> check) {
            this(label, args, Map.of(), null, exitCode, check);
        }
    }

    private static BiConsumer<NativeRun, Path> stdoutIs(String expected) {
        return (run, dir) -> assertThat(run.stdout()).isEqualTo(expected);
    }

    private static BiConsumer<NativeRun, Path> lastLineIs(String expected) {
        return (run, dir) -> {
            assertThat(run.stdout()).endsWith(expected + "\n");
            assertThat(run.stdout()).doesNotContain("FAIL");
        };
    }

    private static BiConsumer<NativeRun, Path> leavesDirEmpty(BiConsumer<NativeRun, Path> check) {
        return check.andThen((run, dir) -> assertThat(dir).isEmptyDirectory());
    }

    private static final String CAT_INPUT = catInput();

    private static String catInput() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 300_000; i++) {
            sb.append("line ").append(i).append(" of the stdin echo test\n");
        }
        return sb.toString();
    }

    /** Native expectations per program. Programs not listed here are only built. */
    private static List<Case> cases(String program) {
        return switch (program) {
            case "hello" -> List.of(new Case("args and env", List.of("one", "two words"),
                    Map.of("GREETING", "hi there"), null, 3,
                    (run, dir) -> assertThat(run.stdout()).startsWith("hello, world\nargc=3\nargv[0]=")
                            .endsWith("\nargv[1]=one\nargv[2]=two words\nGREETING=hi there\n")));
            case "fileio" -> List.of(new Case("all checks", List.of("t"), 0,
                    leavesDirEmpty(lastLineIs("fileio: all ok (0 failures)"))));
            case "heap" -> List.of(new Case("48 MiB", List.of(), 0,
                    stdoutIs("heap ok 48 MiB checksum=409051d0b493e6f2\n")));
            case "wildptr" -> List.of(new Case("EFAULT", List.of(), 0,
                    stdoutIs("write: -14\nread: -14\nopen: -14\nstill alive\n")));
            // Natively /etc/passwd is reachable, so escape.c reports an escape (exit 1).
            case "escape" -> List.of(new Case("native escapes", List.of(), 1, leavesDirEmpty((run, dir) -> {
                assertThat(run.stdout()).contains("open ../escape_target: refused errno=2\n",
                        "open /etc/passwd: ok\n", "symlink escape_link: ok\n", "open escape_link: ok\n",
                        "open subdir/../../x: refused errno=2\n");
            })));
            case "unknown_syscall" -> List.of(new Case("ENOSYS", List.of(), 0,
                    stdoutIs("syscall(999) = -1 errno=38 (ENOSYS)\nstill alive\n")));
            case "regs" -> List.of(new Case("native", List.of(), 0, stdoutIs("regs ok\nsave=native\n")));
            case "fpstate" -> List.of(new Case("native", List.of(), 0, lastLineIs("fpstate ok")));
            case "savechain" -> List.of(
                    new Case("3 saves", List.of(), 0, (run, dir) -> {
                        assertThat(run.stdout()).isEqualTo("savechain: 3 saves, 50 bytes ok\n");
                        assertThat(dir.resolve("chain.out")).hasContent(
                                "progress: ###\nstep 1 of 3\nstep 2 of 3\nstep 3 of 3\n");
                    }),
                    new Case("70 saves, named file", List.of("70", "other.out"), 0, (run, dir) -> {
                        assertThat(run.stdout()).isEqualTo("savechain: 70 saves, 1052 bytes ok\n");
                        assertThat(dir.resolve("other.out")).content().startsWith("progress: " + "#".repeat(70))
                                .endsWith("step 70 of 70\n");
                    }));
            case "bigheap_save" -> List.of(new Case("40 MiB", List.of(), 0, stdoutIs("heap ok 9b6f8ad644252824\n")));
            case "syscall_loop" -> List.of(
                    new Case("write", List.of("write", "10000"), 0, stdoutIs("done 10000\n")),
                    new Case("getpid", List.of("getpid", "10000"), 0, stdoutIs("done 10000\n")),
                    new Case("usage", List.of(), 2, stdoutIs("")));
            case "touch_memory" -> List.of(new Case("16 MiB", List.of("16"), 0, stdoutIs("ok\n")));
            case "cat" -> List.of(new Case("echo", List.of(), Map.of(), CAT_INPUT.getBytes(StandardCharsets.UTF_8),
                    0, stdoutIs(CAT_INPUT)));
            case "bigout" -> List.of(new Case("20000 lines", List.of("20000"), 0, (run, dir) -> {
                assertThat(run.stdout().lines()).hasSize(20001).startsWith("line 0").endsWith("done 20000");
            }));
            case "clock" -> List.of(new Case("sanity", List.of(), 0, lastLineIs("clock ok")));
            case "mmap" -> List.of(new Case("all checks", List.of(), 0, lastLineIs("mmap ok")));
            case "fsops" -> List.of(new Case("all checks", List.of(), 0, leavesDirEmpty(lastLineIs("fsops ok"))));
            case "locks" -> List.of(new Case("all checks", List.of(), 0, leavesDirEmpty(lastLineIs("locks: all ok (0 failures)"))));
            case "metadata" -> List.of(new Case("all checks", List.of(), 0,
                    leavesDirEmpty(lastLineIs("metadata: all ok (0 failures)"))));
            case "sysinfo" -> List.of(new Case("all checks", List.of(), 0, lastLineIs("sysinfo ok")));
            case "mapshared" -> List.of(new Case("all checks", List.of(), 0, lastLineIs("mapshared: all ok (0 failures)")));
            case "signals" -> List.of(new Case("all checks", List.of(), 0, lastLineIs("signals ok")),
                    new Case("faults", List.of("segv"), 0, lastLineIs("signals ok")),
                    new Case("state for a save", List.of("save"), 0, lastLineIs("signals ok")),
                    new Case("default action", List.of("die"), 128 + 15, stdoutIs("")),
                    new Case("hostile frame", List.of("badframe"), 128 + 11,
                            stdoutIs("ok   a frame with privileged flags set returns to the program unharmed\n")));
            case "fdwait" -> List.of(
                    new Case("all checks", List.of(), 0, leavesDirEmpty(lastLineIs("fdwait: all ok (0 failures)"))),
                    new Case("pause", List.of("pause"), 0, stdoutIs("waiting\npoll: 0 after about 1200 ms\n"
                            + "epoll_wait: 1 event(s), data 7, after about 1000 ms\nexpirations: 1\n"
                            + "select: 0 after about 800 ms\ntimerfd read: 1 after about 700 ms\n")));
            // Faults on purpose; only the VM tests run it.
            case "crash" -> List.of();
            default -> List.of();
        };
    }

    @TestFactory
    Stream<DynamicNode> everyGuestProgram() {
        List<String> names = GuestPrograms.testProgramNames();
        assertThat(names).contains("hello", "regs", "savechain");
        return names.stream().map(name -> DynamicContainer.dynamicContainer(name, Stream.concat(
                Stream.of(Libc.values()).map(libc -> programTests(name, libc)),
                libcsAgree(name))));
    }

    /**
     * Both builds of a program print the same, so a VM test can compare either against either.
     * hello is left out: its argv[0] is the binary's path, which names the libc.
     */
    private static Stream<DynamicNode> libcsAgree(String name) {
        List<Case> cases = cases(name);
        if (cases.isEmpty() || name.equals("hello")) {
            return Stream.empty();
        }
        return Stream.of(DynamicTest.dynamicTest("glibc and musl print the same", () -> {
            requireCompiler(Libc.MUSL);
            for (Case c : cases) {
                NativeRun glibc = runInFreshDir(GuestPrograms.build(name, Libc.GLIBC), c);
                NativeRun musl = runInFreshDir(GuestPrograms.build(name, Libc.MUSL), c);
                assertThat(musl.stdout()).as(c.label()).isEqualTo(glibc.stdout());
            }
        }));
    }

    private static DynamicNode programTests(String name, Libc libc) {
        List<DynamicNode> tests = new ArrayList<>();
        tests.add(DynamicTest.dynamicTest("builds", () -> {
            requireCompiler(libc);
            assertThat(GuestPrograms.build(name, libc)).isExecutable();
        }));
        for (Case c : cases(name)) {
            tests.add(DynamicTest.dynamicTest(c.label(), () -> {
                requireCompiler(libc);
                Path binary = GuestPrograms.build(name, libc);
                NativeRun first = runInFreshDir(binary, c);
                NativeRun second = runInFreshDir(binary, c);
                assertThat(second.stdout()).as("stdout of a second run").isEqualTo(first.stdout());
                assertThat(second.exitCode()).as("exit code of a second run").isEqualTo(first.exitCode());
            }));
        }
        return DynamicContainer.dynamicContainer(libc.dirName(), tests);
    }

    private static NativeRun runInFreshDir(Path binary, Case c) throws IOException {
        Path dir = Files.createTempDirectory("guest-native-");
        try {
            NativeRun run = GuestPrograms.runNatively(binary, dir, c.args(), c.env(), c.stdin(), TIMEOUT);
            assertThat(run.exitCode()).as("exit code; stdout:%n%s%nstderr:%n%s", run.stdout(), run.stderr())
                    .isEqualTo(c.exitCode());
            c.check().accept(run, dir);
            return run;
        } finally {
            TestFiles.deleteTree(dir);
        }
    }

    private static void requireCompiler(Libc libc) {
        if (libc == Libc.MUSL && !GuestPrograms.muslAvailable()) {
            Assumptions.abort("musl-gcc not installed (run scripts/install-deps.sh); musl variant not tested");
        }
    }

    @Test
    void labAppWritesBothLinesNatively(@TempDir Path dir) {
        for (Libc libc : Libc.values()) {
            if (libc == Libc.MUSL && !GuestPrograms.muslAvailable()) {
                continue;
            }
            Path app = GuestPrograms.buildFile(Path.of("examples/lab3/app.c"), libc);
            assertThat(app).endsWith(Path.of("target/guests", libc.dirName(), "examples/lab3/app"));
            NativeRun run = GuestPrograms.runNatively(app, dir, List.of(), Map.of(), TIMEOUT);
            assertThat(run.exitCode()).isZero();
            assertThat(run.stdout()).isEmpty();
            // Natively SAVE() returns -ENOSYS and the program simply carries on.
            assertThat(dir.resolve("ay_caramba")).hasContent("Hello World !!!\nBye Bye !!!\n");
        }
    }

    @Test
    void rebuildsOnlyWhenTheSourceIsNewer(@TempDir Path dir) throws IOException {
        Path src = dir.resolve("tiny.c");
        Files.writeString(src, "int main(void) { return 7; }\n");
        Path bin = GuestPrograms.buildFile(src, Libc.GLIBC);
        FileTime built = Files.getLastModifiedTime(bin);
        Object inode = Files.readAttributes(bin, "unix:ino").get("ino");

        assertThat(GuestPrograms.buildFile(src, Libc.GLIBC)).isEqualTo(bin);
        assertThat(Files.readAttributes(bin, "unix:ino").get("ino")).as("not rebuilt").isEqualTo(inode);

        Files.writeString(src, "int main(void) { return 9; }\n");
        Files.setLastModifiedTime(src, FileTime.from(built.toInstant().plusSeconds(5)));
        GuestPrograms.buildFile(src, Libc.GLIBC);
        assertThat(Files.readAttributes(bin, "unix:ino").get("ino")).as("rebuilt").isNotEqualTo(inode);
        assertThat(GuestPrograms.runNatively(bin, dir, List.of(), Map.of(), TIMEOUT).exitCode()).isEqualTo(9);
    }

    @Test
    void compileErrorsCarryTheCompilerOutput(@TempDir Path dir) throws IOException {
        Path src = dir.resolve("broken.c");
        Files.writeString(src, "int main(void) { return undeclared_thing; }\n");
        assertThatThrownBy(() -> GuestPrograms.buildFile(src, Libc.GLIBC))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("broken.c")
                .hasMessageContaining("undeclared_thing");
    }

    @Test
    void concurrentBuildsOfOneProgramAgree() throws Exception {
        // Start from a stale binary so the threads really race to compile it.
        Path bin = GuestPrograms.build("unknown_syscall", Libc.GLIBC);
        Files.setLastModifiedTime(bin, FileTime.from(Instant.EPOCH));
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 4; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    assertThat(GuestPrograms.build("unknown_syscall", Libc.GLIBC)).isEqualTo(bin);
                } catch (Throwable t) {
                    errors.add(t);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(errors).isEmpty();
        assertThat(GuestPrograms.runNatively(bin, bin.getParent(), List.of(), Map.of(), TIMEOUT).stdout())
                .startsWith("syscall(999) = -1");
    }

    @Test
    void repoRootHasThePom() {
        assertThat(GuestPrograms.repoRoot().resolve("pom.xml")).isRegularFile();
        assertThat(GuestPrograms.repoRoot().resolve("guest/include/scratchvm.h")).isRegularFile();
    }
}
