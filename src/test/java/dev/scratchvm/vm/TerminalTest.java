package dev.scratchvm.vm;

import dev.scratchvm.testing.KvmTest;
import static java.util.stream.Collectors.joining;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * With stdout on a terminal the guest sees a terminal: the libc's tty checks (musl's
 * TIOCGWINSZ, glibc's fstat) succeed and stdout becomes line-buffered, one write per line.
 * The terminal is a pseudo-terminal made by script(1).
 */
@KvmTest
@DisplayName("Guest stdout on a terminal")
class TerminalTest {

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("is detected as a terminal and line-buffered")
    void lineBuffered(Libc libc, @TempDir Path dir) {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "script(1) from util-linux is needed for a pty");
        List<String> vmm = VmmProcess.command(List.of("run", "--trace=all", Guest.build("hello", libc).toString()));
        String shell = vmm.stream().map(a -> "'" + a.replace("'", "'\\''") + "'").collect(joining(" "));

        Result r = VmmProcess.runProgram(dir, List.of("script", "-qec", shell, "/dev/null"), null, null,
                VmmProcess.DEFAULT_TIMEOUT);

        // script merges stdout and stderr, and the terminal turns \n into \r\n.
        List<String> lines = r.stdout().replace("\r", "").lines().toList();
        assertThat(r.exit()).as(r.describe()).isEqualTo(3);
        assertThat(lines).contains("hello, world", "GREETING unset", "EXIT 3");
        String write = libc == Libc.MUSL ? "WRITEV 1 " : "WRITE 1 ";
        assertThat(lines.stream().filter(l -> l.startsWith(write))).as("one write per line of output").hasSize(4);
        if (libc == Libc.MUSL) assertThat(lines).contains("IOCTL 1 0x5413 - return 0");
    }
}
