package dev.scratchvm.vm;

import dev.scratchvm.testing.KvmTest;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A program that crashes is reported in one line naming the fault and where it happened, and
 * the VMM exits as a shell reports a process killed by that signal (128 + signal), the same
 * status the program has natively. Output written before the crash is kept.
 */
@KvmTest
@DisplayName("Crashing programs")
class GuestFaultTest {

    @Tag(KvmTest.HARDWARE_PATH)
    @Test
    @DisplayName("a NULL dereference: one line naming the page fault and rip, exit 139, earlier output kept")
    void nullDereference(@TempDir Path dir) {
        Result r = VmmProcess.run(dir, "run", "--trace=none", Guest.build("crash", Libc.GLIBC).toString());

        assertThat(r.stdout()).isEqualTo("about to crash\n");
        assertThat(r.exit()).isEqualTo(139);
        Guest.assertOneLineError(r, "page fault", "rip 0x", "accessing 0x0");
    }

    @Tag(KvmTest.HARDWARE_PATH)
    @Test
    @DisplayName("with -v the crash report adds a register dump")
    void verboseRegisterDump(@TempDir Path dir) {
        Result r = VmmProcess.run(dir, "run", "--trace=none", "-v", Guest.build("crash", Libc.MUSL).toString());

        assertThat(r.exit()).isEqualTo(139);
        Guest.assertNoStackTrace(r);
        assertThat(r.stderrLines()).as(r.describe())
                .anyMatch(l -> l.startsWith("scratchvm: guest crashed: page fault"))
                .anyMatch(l -> l.matches("\\s+rip=[0-9a-f]{16} rsp=[0-9a-f]{16} rflags=[0-9a-f]{16} cs=0023 ss=001b"))
                .anyMatch(l -> l.contains("cr2=0") && l.contains("cr3="))
                // the program's own rip, not the exception stub's page at 0x6000
                .noneMatch(l -> l.matches("\\s+rip=0{12}6[0-9a-f]{3} .*"));
    }

    @Tag(KvmTest.HARDWARE_PATH)
    @Test
    @DisplayName("a stack overflow faults at the guard page below the stack, before it reaches the heap or the program")
    void stackOverflowHitsTheGuardPage(@TempDir Path dir) {
        Result r = VmmProcess.run(dir, "run", "--trace=none", "--memory", "16M", Guest.build("faults", Libc.GLIBC).toString(),
                "stack");

        assertThat(r.exit()).as(r.describe()).isEqualTo(139);
        Matcher m = Pattern.compile("accessing 0x([0-9a-f]+)").matcher(r.stderr());
        assertThat(m.find()).as(r.describe()).isTrue();
        long address = Long.parseLong(m.group(1), 16);
        // The stack sits at the top of guest memory and is at most 8 MiB.
        assertThat(address).isBetween((16L << 20) - (8L << 20) - 4096, (16L << 20) - 1);
    }

    static Stream<Arguments> faults() {
        List<Arguments> all = new ArrayList<>();
        Object[][] modes = {
                {"null", 139, "page fault"}, {"wild", 139, "page fault"}, {"low", 139, "page fault"},
                {"stub", 139, "page fault"}, {"ud2", 132, "invalid opcode"}, {"div0", 136, "divide error"},
                {"abort", 134, "SIGABRT"}, {"stack", 139, "page fault"}};
        for (Object[] m : modes) for (Libc libc : Libc.values()) all.add(Arguments.of(m[0], libc, m[1], m[2]));
        return all.stream();
    }

    @ParameterizedTest(name = "{0} [{1}] -> exit {2}")
    @MethodSource("faults")
    @DisplayName("each kind of fault ends with the native exit status and a one-line report")
    void faultsEndLikeSignals(String mode, Libc libc, int status, String report, @TempDir Path dir) {
        Path binary = Guest.build("faults", libc);
        NativeRun expected = Guest.runNatively(binary, dir, List.of(mode));
        assertThat(expected.exitCode()).as("native exit status").isEqualTo(status);

        Result r = VmmProcess.run(dir, "run", "--trace=none", binary.toString(), mode);

        assertThat(r.exit()).as(r.describe()).isEqualTo(status);
        assertThat(r.stdout()).isEqualTo("faulting: " + mode + "\n").isEqualTo(expected.stdout());
        Guest.assertOneLineError(r, report);
    }
}
