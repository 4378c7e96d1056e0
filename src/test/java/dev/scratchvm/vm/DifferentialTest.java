package dev.scratchvm.vm;

import dev.scratchvm.testing.KvmTest;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An unmodified static program behaves in the VM exactly as on the host: same stdout, same
 * stderr, same exit status, same files left behind. Every deterministic guest program runs
 * both ways, built against glibc and against musl.
 *
 * <p>Programs whose VM behaviour is specified beyond "same as native" have their own classes:
 * fileio and file_state ({@link FileIoTest}), heap ({@link MemoryTest}), wildptr and
 * reserved_ptr ({@link WildPointerTest}), crash and faults ({@link GuestFaultTest}), escape
 * ({@link PathEscapeTest}), trace_demo and the lab app ({@link TraceTest}).
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
@DisplayName("A static program in the VM behaves as it does natively")
class DifferentialTest {

    /** One program run: arguments, environment, stdin, and the exit status a native run has. */
    record Case(String program, List<String> args, Map<String, String> env, byte[] stdin, int exit) {

        static Case of(String program, int exit, String... args) {
            return new Case(program, List.of(args), Map.of(), null, exit);
        }

        Case withEnv(Map<String, String> env) {
            return new Case(program, args, env, stdin, exit);
        }

        Case withStdin(String text) {
            return new Case(program, args, env, text.getBytes(StandardCharsets.UTF_8), exit);
        }

        @Override
        public String toString() {
            return String.join(" ", Stream.concat(Stream.of(program), args.stream()).toList());
        }
    }

    static Stream<Arguments> cases() {
        List<Case> cases = List.of(
                Case.of("hello", 3, "one", "two words").withEnv(Map.of("GREETING", "hi there")),
                Case.of("unknown_syscall", 0),
                Case.of("cat", 0).withStdin(catInput()),
                Case.of("bigout", 0, "20000"),
                Case.of("clock", 0),
                Case.of("timeorder", 0),
                Case.of("waits", 0),
                Case.of("libc_tour", 0),
                Case.of("mmap", 0),
                Case.of("fsops", 0),
                Case.of("sysinfo", 0),
                Case.of("syscall_loop", 0, "write", "300"),
                Case.of("syscall_loop", 0, "getpid", "300"),
                Case.of("syscall_loop", 2));
        List<Arguments> all = new ArrayList<>();
        for (Case c : cases) for (Libc libc : Libc.values()) all.add(Arguments.of(c, libc));
        return all.stream();
    }

    @ParameterizedTest(name = "{0} [{1}]")
    @MethodSource("cases")
    void sameOutputExitStatusAndFilesAsNative(Case c, Libc libc, @TempDir Path tmp) {
        Path binary = Guest.build(c.program(), libc);
        Path nativeDir = Guest.freshDir(tmp, "native-"), vmDir = Guest.freshDir(tmp, "vm-");

        NativeRun expected = Guest.runNatively(binary, nativeDir, c.args(), c.env(), c.stdin());
        assertThat(expected.exitCode()).as("native exit status (the reference itself)\n%s", expected)
                .isEqualTo(c.exit());

        List<String> args = new ArrayList<>(List.of("run", "--trace=none"));
        c.env().forEach((k, v) -> args.add("--env=" + k + "=" + v));
        args.add(binary.toString());
        args.addAll(c.args());
        Result vm = VmmProcess.run(vmDir, c.stdin(), VmmProcess.DEFAULT_TIMEOUT, args);

        assertThat(vm.stdout()).as("stdout\n%s", vm.describe()).isEqualTo(expected.stdout());
        assertThat(vm.stderr()).as("stderr\n%s", vm.describe()).isEqualTo(expected.stderr());
        assertThat(vm.exit()).as("exit status\n%s", vm.describe()).isEqualTo(expected.exitCode());
        assertThat(Guest.tree(vmDir)).as("files left behind").isEqualTo(Guest.tree(nativeDir));
    }

    @Test
    @DisplayName("a static-pie program (glibc) is relocated and runs like a static one")
    void staticPie(@TempDir Path tmp) {
        Path binary = Guest.gcc(Guest.source("hello.c"), tmp.resolve("hello-pie"), "-static-pie");
        NativeRun expected = Guest.runNatively(binary, tmp, List.of("pie"));

        Result vm = VmmProcess.run(tmp, "run", "--trace=none", binary.toString(), "pie");

        assertThat(vm.stdout()).isEqualTo(expected.stdout()).contains("argv[1]=pie");
        assertThat(vm.exit()).isEqualTo(expected.exitCode()).isEqualTo(3);
    }

    @Test
    @DisplayName("a static C++ program: constructors before main, iostream, containers, exceptions")
    void cxxProgram(@TempDir Path tmp) {
        Path binary = Guest.gxx(Guest.source("cxx_demo.cpp"), tmp.resolve("cxx_demo"), "-static");
        Path nativeDir = Guest.freshDir(tmp, "native-"), vmDir = Guest.freshDir(tmp, "vm-");
        NativeRun expected = Guest.runNatively(binary, nativeDir, List.of());
        assertThat(expected.stdout()).endsWith("caught 3\n");

        Result vm = VmmProcess.run(vmDir, "run", "--trace=none", binary.toString());

        assertThat(vm.stdout()).as(vm.describe()).isEqualTo(expected.stdout());
        assertThat(vm.stderr()).isEmpty();
        assertThat(vm.exit()).isZero();
        assertThat(vmDir).isEmptyDirectory();
    }

    private static String catInput() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 300_000; i++) sb.append("line ").append(i).append(" of the stdin echo test\n");
        return sb.toString();
    }
}
