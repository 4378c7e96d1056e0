package dev.scratchvm.snapshot;

import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The program's memory protections hold as on Linux, through the page tables the VMM derives
 * from its mappings (guest/tests/protect.c, compared line for line with a native run): a
 * PROT_NONE page faults with SEGV_ACCERR at si_addr and a handler that mprotects it lets the
 * read go on; writes to PROT_READ pages, jumps into unmapped pages and code without PROT_EXEC
 * fault; write(2) and read(2) get EFAULT where the program could not touch the buffer; partial
 * mprotect and munmap, MAP_FIXED, mremap and brk keep them right. All of it again after a
 * save and a restore in a new VMM, where the tables come from the saved mappings alone.
 */
@KvmTest
class MemoryProtectionTest {

    @Tag(KvmTest.HARDWARE_PATH) // the page tables and the TLB flush must hold on VMX/SVM as on kvm_pvm
    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void protectionsFaultAndRefuseSystemCallsAsNatively(Libc libc, @TempDir Path dir) throws Exception {
        NativeRun natively = Guest.runNatively("protect", libc, Files.createTempDirectory(dir, "native"));
        assertThat(natively.stdout()).endsWith("protect ok\n").doesNotContain("FAIL");
        String prog = Guest.install("protect", libc, dir);

        Result vm = VmmProcess.run(dir, "run", "--trace=none", prog);

        assertThat(vm.exit()).as("%s", vm).isZero();
        assertThat(vm.stdout()).isEqualTo(natively.stdout());
    }

    @Tag(KvmTest.HARDWARE_PATH)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void protectionsHoldAfterARestoreInANewVmm(Libc libc, @TempDir Path dir) throws Exception {
        NativeRun natively = Guest.runNatively("protect", libc, Files.createTempDirectory(dir, "native"), "save");
        assertThat(natively.stdout()).startsWith("save=native\n").endsWith("protect ok\n");
        String prog = Guest.install("protect", libc, dir);

        Result run = Steps.runUntilSaved(dir, "vm.img", "--trace=none", prog, "save");
        Result restore = Steps.restore(dir, "--trace=none");

        assertThat(run.stdout()).isEmpty();
        assertThat(restore.exit()).as("%s", restore).isZero();
        assertThat(restore.stdout()).isEqualTo(natively.stdout().replace("save=native", "save=vm"))
                .contains("ok: reading a PROT_NONE page faults with SEGV_ACCERR at its address");
    }

    @Tag(KvmTest.HARDWARE_PATH)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void withoutAHandlerAProtNoneReadKillsTheProgramWithSigsegv(Libc libc, @TempDir Path dir) {
        NativeRun natively = GuestPrograms.runNatively(GuestPrograms.build("protect", libc), dir, List.of("die"), Map.of(),
                Duration.ofSeconds(30));
        String prog = Guest.install("protect", libc, dir);

        Result vm = VmmProcess.run(dir, "run", "--trace=none", prog, "die");

        assertThat(natively.exitCode()).isEqualTo(128 + 11);
        assertThat(vm.exit()).as("%s", vm).isEqualTo(natively.exitCode());
        assertThat(vm.stdout()).isEqualTo(natively.stdout()).isEqualTo("reading PROT_NONE\n");
        assertThat(vm.stderr()).contains("page fault (#PF)");
    }
}
