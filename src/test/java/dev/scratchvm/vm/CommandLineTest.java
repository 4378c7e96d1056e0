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
}
