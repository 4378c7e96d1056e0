package dev.scratchvm.snapshot;

import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Saving checks the state against the same rules a restore applies: a program that put its
 * state outside them (here, a clear_child_tid in the VMM's pages) gets -EIO from SAVE and
 * keeps running, instead of an image no restore would accept.
 */
@KvmTest
class UnrestorableSaveTest {
    private static final String PROGRAM = """
            #include <stdio.h>
            #include <unistd.h>
            #include <sys/syscall.h>
            #include "scratchvm.h"

            int main(void)
            {
                syscall(SYS_set_tid_address, (void *)0x1000);
                long r = SAVE();
                printf("save=%ld\\n", r);
                return 0;
            }
            """;

    @TempDir
    Path dir;

    @Test
    void a_state_that_a_restore_would_refuse_is_not_saved_and_the_program_goes_on() throws Exception {
        Path source = Files.writeString(dir.resolve("tid.c"), PROGRAM);
        Files.copy(GuestPrograms.buildFile(source, Libc.MUSL), dir.resolve("tid"), StandardCopyOption.COPY_ATTRIBUTES);

        Result r = Steps.vmm(dir, "run", "./tid");

        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.stdout()).isEqualTo("save=-5\n");
        assertThat(r.stderr()).contains("vm.img: not saved, a restore would refuse it: kernel.clear_child_tid 0x1000");
        assertThat(dir.resolve("vm.img")).doesNotExist();
        assertThat(dir).isDirectoryNotContaining(p -> p.getFileName().toString().startsWith("vm.img.tmp"));
    }
}
