package dev.scratchvm.vm;

import dev.scratchvm.testing.KvmTest;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The system call trace on stderr, in the lab's format: {@code NAME ARGS - return RESULT}.
 * {@code --trace=files} (the default) shows file calls and the exit, {@code --trace=all} every
 * call, {@code --trace=none} nothing. The guest's own output is never mixed into it.
 */
@KvmTest
@DisplayName("System call trace")
class TraceTest {
    private static final String WRITE_16 = "WRITE 3 [0-9a-f]+ 16 - return 16";

    @Test
    @DisplayName("--trace=files shows the lab's open/write/close in its exact format (musl)")
    void filesTraceMusl(@TempDir Path dir) {
        Result r = VmmProcess.run(dir, "run", "--trace=files", Guest.build("trace_demo", Libc.MUSL).toString());

        assertThat(r.exit()).as(r.describe()).isZero();
        List<String> lines = r.stderrLines();
        assertThat(lines).as(r.describe()).hasSize(4);
        // musl's open() is the open system call with O_LARGEFILE: 32834 = O_RDWR|O_CREAT|O_LARGEFILE, 511 = 0777.
        assertThat(lines.get(0)).isEqualTo("OPEN ./ay_caramba 32834 511 - return 3");
        assertThat(lines.get(1)).matches(WRITE_16);
        assertThat(lines.get(2)).isEqualTo("CLOSE 3 - return 0");
        assertThat(lines.get(3)).isEqualTo("EXIT 0");
        assertThat(r.stdout()).isEmpty();
        assertThat(dir.resolve("ay_caramba")).hasContent("Hello World !!!\n");
    }

    @Test
    @DisplayName("--trace=files is the default and shows only file calls (glibc)")
    void filesTraceIsTheDefault(@TempDir Path dir) {
        Result r = VmmProcess.run(dir, "run", Guest.build("trace_demo", Libc.GLIBC).toString());

        assertThat(r.exit()).as(r.describe()).isZero();
        List<String> lines = r.stderrLines();
        // glibc's open() is openat(AT_FDCWD, ...) without O_LARGEFILE: 66 = O_RDWR|O_CREAT.
        int open = lines.indexOf("OPEN ./ay_caramba 66 511 - return 3");
        assertThat(open).as(r.describe()).isNotNegative();
        assertThat(lines.get(open + 1)).matches(WRITE_16);
        assertThat(lines.get(open + 2)).isEqualTo("CLOSE 3 - return 0");
        assertThat(lines).last().isEqualTo("EXIT 0");
        assertThat(lines).as("no memory or process calls at this level")
                .noneMatch(l -> l.startsWith("BRK ") || l.startsWith("MMAP ") || l.startsWith("ARCH_PRCTL ")
                        || l.startsWith("SYSCALL 999"));
        assertThat(lines.subList(0, lines.size() - 1)).allMatch(l -> l.matches("[A-Z0-9_]+ .* - return -?\\d+"));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("--trace=all adds memory calls and unknown system calls")
    void allTrace(Libc libc, @TempDir Path dir) {
        Result r = VmmProcess.run(dir, "run", "--trace=all", Guest.build("trace_demo", libc).toString());

        assertThat(r.exit()).as(r.describe()).isZero();
        List<String> lines = r.stderrLines();
        assertThat(lines).as(r.describe())
                .anyMatch(l -> l.matches("MMAP 0 \\d+ 3 34 -1 0 - return \\d+"))
                .anyMatch(l -> l.startsWith("ARCH_PRCTL 0x1002 "))
                .contains("CLOSE 3 - return 0", "SYSCALL 999 (not implemented) - return -38")
                .endsWith("EXIT 0");
        if (libc == Libc.GLIBC) assertThat(lines).anyMatch(l -> l.matches("BRK [0-9a-f]+ - return \\d+"));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("--trace=none prints nothing, and the program still does its work")
    void noTrace(Libc libc, @TempDir Path dir) {
        Result r = VmmProcess.run(dir, "run", "--trace=none", Guest.build("trace_demo", libc).toString());

        assertThat(r.exit()).isZero();
        assertThat(r.stderr()).isEmpty();
        assertThat(r.stdout()).isEmpty();
        assertThat(dir.resolve("ay_caramba")).hasContent("Hello World !!!\n");
    }

    @Test
    @DisplayName("the trace goes to stderr and leaves the program's stdout as it is natively")
    void traceDoesNotTouchStdout(@TempDir Path dir) {
        Path hello = Guest.build("hello", Libc.MUSL);
        NativeRun expected = Guest.runNatively(hello, dir, List.of("x"));

        Result r = VmmProcess.run(dir, "run", "--trace=all", hello.toString(), "x");

        assertThat(r.stdout()).isEqualTo(expected.stdout());
        assertThat(r.exit()).isEqualTo(3);
        assertThat(r.stderrLines()).anyMatch(l -> l.startsWith("WRITEV 1 ")).endsWith("EXIT 3");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("an unknown system call returns ENOSYS, the program goes on, and --trace=all shows it")
    void unknownSystemCall(Libc libc, @TempDir Path dir) {
        Result r = VmmProcess.run(dir, "run", "--trace=all", Guest.build("unknown_syscall", libc).toString());

        assertThat(r.stdout()).isEqualTo("syscall(999) = -1 errno=38 (ENOSYS)\nstill alive\n");
        assertThat(r.exit()).isZero();
        assertThat(r.stderrLines()).contains("SYSCALL 999 (not implemented) - return -38");
    }

    @Test
    @DisplayName("the lab app's first calls trace as in the lab's expected output (musl)")
    void labApp(@TempDir Path tmp) {
        Path app = GuestPrograms.buildFile(Path.of("examples/lab3/app.c"), Libc.MUSL);
        Path nativeDir = Guest.freshDir(tmp, "native-"), vmDir = Guest.freshDir(tmp, "vm-");
        NativeRun expected = Guest.runNatively(app, nativeDir, List.of());
        // Natively SAVE() fails with ENOSYS and the app simply writes both lines.
        assertThat(expected.exitCode()).isZero();
        assertThat(nativeDir.resolve("ay_caramba")).hasContent("Hello World !!!\nBye Bye !!!\n");

        // What follows SAVE() belongs to the save/restore tests; only the part before it is checked here.
        Result r = VmmProcess.run(vmDir, "run", app.toString());

        List<String> lines = r.stderrLines();
        assertThat(lines).as(r.describe()).hasSizeGreaterThanOrEqualTo(2);
        assertThat(lines.get(0)).isEqualTo("OPEN ./ay_caramba 32834 511 - return 3");
        assertThat(lines.get(1)).matches(WRITE_16);
        assertThat(vmDir.resolve("ay_caramba")).content().startsWith("Hello World !!!\n");
        Guest.assertNoStackTrace(r);
    }
}
