package dev.scratchvm.vm;

import dev.scratchvm.testing.KvmTest;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A system call given a pointer the program does not own fails with EFAULT (14), as on Linux,
 * and the VM keeps running. That includes the lowest 2 MiB, where the VMM keeps the guest's
 * page tables, descriptor tables and entry stubs: the guest must neither read them out nor
 * have the VMM write over them.
 */
@KvmTest
@DisplayName("Wild pointers in system calls")
class WildPointerTest {

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("pointers outside guest memory give EFAULT and the program carries on")
    void outsideGuestMemory(Libc libc, @TempDir Path dir) {
        Path binary = Guest.build("wildptr", libc);
        NativeRun expected = Guest.runNatively(binary, dir, List.of());

        Result r = VmmProcess.run(dir, "run", "--trace=none", binary.toString());

        assertThat(r.stdout()).as(r.describe()).isEqualTo("write: -14\nread: -14\nopen: -14\nstill alive\n")
                .isEqualTo(expected.stdout());
        assertThat(r.exit()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("pointers into the VMM-reserved low 2 MiB give EFAULT and change nothing")
    void intoReservedLowMemory(Libc libc, @TempDir Path dir) {
        Path binary = Guest.build("reserved_ptr", libc);
        NativeRun expected = Guest.runNatively(binary, dir, List.of());

        Result r = VmmProcess.run(dir, "run", "--trace=none", binary.toString());

        assertThat(r.stdout()).as(r.describe()).isEqualTo(expected.stdout());
        List<String> lines = r.stdout().lines().toList();
        assertThat(lines).hasSize(13);
        assertThat(lines.subList(0, 10)).allMatch(l -> l.endsWith(": -14"));
        // The file offset did not move, so nothing was read anywhere.
        assertThat(lines.subList(10, 13))
                .containsExactly("file offset still 0: 0", "read back: 16 0123456789abcdef", "still alive");
        assertThat(r.exit()).isZero();
    }
}
