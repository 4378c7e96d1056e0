package dev.scratchvm.snapshot;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A resumed program may SAVE again, and again: each link of the chain is a new VMM process.
 * The chain as a whole behaves like one uninterrupted native run.
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
class SaveChainTest {

    @Test
    void threeSavesFourVmmsOneNativeRun(@TempDir Path dir) throws Exception {
        Path nativeDir = Files.createDirectory(dir.resolve("native"));
        NativeRun natively = Guest.runNatively("savechain", Libc.MUSL, nativeDir, "3", "chain.out");
        Path vmDir = Files.createDirectory(dir.resolve("vm"));
        String prog = Guest.install("savechain", Libc.MUSL, vmDir);
        Path first = vmDir.resolve("vm.img"), second = vmDir.resolve("second.img");

        // 1st VMM: runs until the first SAVE, into vm.img
        Result run = Steps.runUntilSaved(vmDir, "vm.img", "--trace=none", prog, "3", "chain.out");
        byte[] firstImage = Files.readAllBytes(first);

        // 2nd VMM: resumed from vm.img, its SAVE goes back to vm.img by default
        Result link2 = Steps.restore(vmDir, "vm.img", "--trace=none");
        assertThat(link2.exit()).as("%s", link2).isZero();
        assertThat(link2.stderrLines()).last().isEqualTo(Steps.SAVED);
        byte[] secondImage = Files.readAllBytes(first);
        assertThat(secondImage).as("vm.img was replaced by the second save").isNotEqualTo(firstImage);

        // 3rd VMM: resumed from vm.img, told to save to second.img instead
        Result link3 = Steps.restore(vmDir, "vm.img", "--image", "second.img", "--trace=none");
        assertThat(link3.exit()).as("%s", link3).isZero();
        assertThat(link3.stderrLines()).last().isEqualTo(Steps.SAVED);
        assertThat(second).isRegularFile();
        assertThat(Files.readAllBytes(first)).as("vm.img untouched by a save sent elsewhere").isEqualTo(secondImage);

        // 4th VMM: resumed from second.img, runs to the end
        Result last = Steps.restore(vmDir, "second.img", "--trace=none");
        assertThat(last.exit()).as("%s", last).isZero();
        assertThat(last.stderrLines()).containsExactly(Steps.RESTORED);

        assertThat(run.stdout() + link2.stdout() + link3.stdout() + last.stdout()).isEqualTo(natively.stdout());
        assertThat(natively.stdout()).startsWith("savechain: 3 saves");
        assertThat(Guest.read(vmDir.resolve("chain.out"))).isEqualTo(Guest.read(nativeDir.resolve("chain.out")));
        try (var leftovers = Files.list(vmDir)) {
            assertThat(leftovers.map(p -> p.getFileName().toString()))
                    .as("no temporary image files left behind")
                    .containsExactlyInAnyOrder("savechain", "chain.out", "vm.img", "second.img");
        }
    }
}
