package dev.scratchvm.vm;

import dev.scratchvm.testing.KvmTest;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Guest memory: --memory sets its size; a program gets what fits and a clear answer when it does not. */
@KvmTest
@DisplayName("Guest memory")
class MemoryTest {

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("48 MiB of heap (brk, mmap, mremap) hold their contents in 128 MiB of guest memory")
    void bigHeap(Libc libc, @TempDir Path dir) {
        Path heap = Guest.build("heap", libc);
        NativeRun expected = Guest.runNatively(heap, dir, List.of());

        Result r = VmmProcess.run(dir, "run", "--trace=none", "--memory", "128M", heap.toString());

        assertThat(r.stdout()).as(r.describe()).isEqualTo("heap ok 48 MiB checksum=409051d0b493e6f2\n")
                .isEqualTo(expected.stdout());
        assertThat(r.exit()).isZero();
    }

    @Test
    @DisplayName("a heap larger than guest memory fails inside the program, like any out-of-memory")
    void heapTooBigForMemory(@TempDir Path dir) {
        Result r = VmmProcess.run(dir, "run", "--trace=none", "--memory", "16M", Guest.build("heap", Libc.GLIBC).toString());

        assertThat(r.stdout()).as(r.describe()).contains("failed");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.stderr()).isEmpty();
    }

    @Test
    @DisplayName("a program that does not fit in --memory is refused with one line suggesting a size that works")
    void programDoesNotFit(@TempDir Path dir) {
        Result r = VmmProcess.run(dir, "run", "--memory", "4M", Guest.build("hello", Libc.GLIBC).toString());

        Guest.assertOneLineError(r, "does not fit in 4 MiB", "--memory");
        assertThat(r.stdout()).isEmpty();

        Matcher suggestion = Pattern.compile("try --memory (\\d+M)").matcher(r.stderr());
        assertThat(suggestion.find()).as("a suggested size in: %s", r.stderr()).isTrue();
        Result retry = VmmProcess.run(dir, "run", "--trace=none", "--memory", suggestion.group(1),
                Guest.build("hello", Libc.GLIBC).toString());
        assertThat(retry.exit()).as("with the suggested size\n%s", retry.describe()).isEqualTo(3);
    }

    @ParameterizedTest(name = "--memory {0}")
    @ValueSource(strings = {"65536K", "64M", "1G", "4g"})
    @DisplayName("--memory takes K, M and G sizes; only touched memory costs the host anything")
    void memorySizes(String size, @TempDir Path dir) {
        Result r = VmmProcess.run(dir, "run", "--trace=none", "--memory", size, Guest.build("hello", Libc.MUSL).toString());

        assertThat(r.stdout()).as(r.describe()).startsWith("hello, world\n");
        assertThat(r.exit()).isEqualTo(3);
    }
}
