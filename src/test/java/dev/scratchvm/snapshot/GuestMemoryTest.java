package dev.scratchvm.snapshot;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Guest memory after a restore is what it was at SAVE(), byte for byte, whether the restore
 * maps the image's pages copy-on-write ({@code --memory-mode map}, the default) or copies
 * them in ({@code copy}); and memory the program gives back afterwards reads as zero when
 * it takes it again, as it would have without the save.
 */
@KvmTest
class GuestMemoryTest {
    private static final String HEAP_MIB = "40";

    @Test
    void aFortyMibHeapIsBitExactAfterMapAndAfterCopyRestore(@TempDir Path dir) throws Exception {
        NativeRun natively = Guest.runNatively("bigheap_save", Libc.MUSL, Files.createDirectory(dir.resolve("native")),
                HEAP_MIB);
        assertThat(natively.stdout()).startsWith("heap ok ");
        String prog = Guest.install("bigheap_save", Libc.MUSL, dir);

        Steps.runUntilSaved(dir, "vm.img", "--memory", "64M", "--trace=none", prog, HEAP_MIB);
        try (ImageReader image = ImageReader.open(dir.resolve("vm.img"))) {
            assertThat(image.pageMap().storedPages() * 4096L).as("bytes of guest memory stored")
                    .isGreaterThanOrEqualTo(40L << 20);
            assertThat(image.state().memory().size()).isEqualTo(64L << 20);
        }

        // nothing but stdio is open, so the same image can be resumed twice
        restoreMappedAndCopied(dir, natively);
    }

    @Test
    void memoryGivenBackAfterARestoreReadsAsZeroWhenTakenAgain(@TempDir Path dir) throws Exception {
        // munmap + mmap, MADV_DONTNEED, and brk shrink + grow over pages that came from the image
        NativeRun natively = Guest.runNatively("remap_save", Libc.MUSL, Files.createDirectory(dir.resolve("native")));
        assertThat(natively.stdout()).endsWith("remap_save ok\n");
        String prog = Guest.install("remap_save", Libc.MUSL, dir);

        Steps.runUntilSaved(dir, "vm.img", "--memory", "32M", "--trace=none", prog);
        restoreMappedAndCopied(dir, natively);
    }

    /** Resumes the image twice, guest memory mapped from it and copied from it: each run ends as the native one did. */
    private static void restoreMappedAndCopied(Path dir, NativeRun natively) {
        Result mapped = Steps.restore(dir, "--memory-mode", "map", "--trace=none");
        Result copied = Steps.restore(dir, "--memory-mode", "copy", "--trace=none");

        assertThat(mapped.exit()).as("%s", mapped).isZero();
        assertThat(mapped.stdout()).isEqualTo(natively.stdout());
        assertThat(copied.exit()).as("%s", copied).isZero();
        assertThat(copied.stdout()).isEqualTo(natively.stdout());
    }
}
