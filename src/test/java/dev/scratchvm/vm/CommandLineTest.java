package dev.scratchvm.vm;

import dev.scratchvm.testing.KvmTest;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad command lines are refused before the guest runs, with one line naming the option and
 * the bad value, and a non-zero exit; never a stack trace.
 */
@KvmTest
@DisplayName("Bad command lines")
class CommandLineTest {
    @TempDir
    Path dir;
    private String hello;

    @BeforeEach
    void build() {
        hello = Guest.build("hello", Libc.MUSL).toString();
    }

    private Result refused(String... args) {
        Result r = VmmProcess.run(dir, args);
        assertThat(r.stdout()).as("the guest never ran\n%s", r.describe()).isEmpty();
        return r;
    }

    @Test
    @DisplayName("--memory banana")
    void memoryNotASize() {
        Guest.assertOneLineError(refused("run", "--memory", "banana", hello), "--memory", "'banana'", "16M");
    }

    @Test
    @DisplayName("--memory above the 64G maximum")
    void memoryTooLarge() {
        Guest.assertOneLineError(refused("run", "--memory", "100G", hello), "--memory", "'100G'", "64G");
    }

    @Test
    @DisplayName("--trace=bogus")
    void traceLevel() {
        Guest.assertOneLineError(refused("run", "--trace=bogus", hello), "--trace", "files, all or none", "'bogus'");
    }

    @Test
    @DisplayName("--env without '='")
    void envWithoutValue() {
        Guest.assertOneLineError(refused("run", "--env", "JUSTANAME", hello), "--env", "K=V", "'JUSTANAME'");
    }

    @Test
    @DisplayName("--root that does not exist")
    void missingRoot() {
        Guest.assertOneLineError(refused("run", "--root", "no/such/dir", hello), "no/such/dir");
    }

    @Test
    @DisplayName("no program")
    void noProgram() {
        Guest.assertOneLineError(refused("run"), "PROGRAM");
    }

    @Test
    @DisplayName("an unknown option")
    void unknownOption() {
        Guest.assertOneLineError(refused("run", "--frobnicate", hello), "Unknown option", "--frobnicate");
    }

    @Test
    @DisplayName("usage mistakes exit 2: an unknown command, an option given twice, a bad number")
    void usageExitCode() {
        Result unknown = refused("frobnicate");
        Guest.assertOneLineError(unknown, "'frobnicate'", "scratchvm --help");
        assertThat(unknown.exit()).isEqualTo(2);
        Result twice = refused("run", "--image", "a.img", "--image=b.img", hello);
        Guest.assertOneLineError(twice, "--image", "only once");
        assertThat(twice.exit()).isEqualTo(2);
        Result notInt = refused("serve", "--timeout", "soon");
        Guest.assertOneLineError(notInt, "--timeout", "'soon'", "scratchvm serve --help");
        assertThat(notInt.exit()).isEqualTo(2);
    }

    @Test
    @DisplayName("options before PROGRAM are the VMM's, everything after it the program's")
    void programArguments() {
        Result r = VmmProcess.run(dir, "run", "--trace=none", "--env=GREETING=hi", hello, "-v", "--memory", "--", "x");
        assertThat(r.exit()).as(r.describe()).isEqualTo(3);
        assertThat(r.stdout()).contains("argc=5\n", "argv[1]=-v\n", "argv[2]=--memory\n", "argv[3]=--\n", "argv[4]=x\n",
                "GREETING=hi\n");
        assertThat(r.stderr()).as("-v after PROGRAM is not the VMM's --verbose").doesNotContain("launch to first guest instruction");
    }

    @Test
    @DisplayName("--help and --version: on stdout, exit 0, the guest never runs")
    void helpAndVersion() {
        Result help = VmmProcess.run(dir, "run", "--help");
        assertThat(help.exit()).as(help.describe()).isZero();
        assertThat(help.stderr()).isEmpty();
        assertThat(help.stdout()).startsWith("Usage: scratchvm run ")
                .contains("--memory=SIZE", "(default: 16M)", "--migrate-to=HOST:PORT", "-v, --verbose", "PROGRAM", "[ARGS...]");
        Result top = VmmProcess.run(dir, "--help");
        assertThat(top.exit()).isZero();
        assertThat(top.stdout()).contains("  run ", "  restore ", "  inspect ", "  serve ", "  migrate ", "  demo ")
                .doesNotContain("train");
        Result version = VmmProcess.run(dir, "restore", "-V");
        assertThat(version.exit()).isZero();
        assertThat(version.stdout()).isEqualTo("scratchvm 0.1.0\n");
    }
}
