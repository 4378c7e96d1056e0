package dev.scratchvm.vm;

import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Locks and metadata calls behave in ScratchVM as on Linux: locks.c and metadata.c check
 * every result and errno, and print the same lines in the VM as natively; so does a program
 * using SQLite, which needs record locks.
 */
@KvmTest
@DisplayName("Locks and metadata calls")
class FileCallsTest {

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("locks.c: POSIX, OFD and flock locks, their conflicts, releases and errors, as natively")
    void locks(Libc libc, @TempDir Path tmp) {
        assertSameAsNative("locks", libc, tmp);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    @DisplayName("metadata.c: times, links, modes, owners, statfs, copies, fallocate, renameat2, prctl, unlink, as natively")
    void metadata(Libc libc, @TempDir Path tmp) {
        assertSameAsNative("metadata", libc, tmp);
    }

    @Test
    @DisplayName("SQLite (rollback journal, POSIX locks) builds a database as natively")
    void sqlite(@TempDir Path tmp) {
        Path binary = GuestPrograms.buildSqliteDemo();
        Assumptions.assumeTrue(binary != null, "no static libsqlite3 on this host");
        Path nativeDir = Guest.freshDir(tmp, "native-"), vmDir = Guest.freshDir(tmp, "vm-");
        NativeRun expected = Guest.runNatively(binary, nativeDir, List.of("t.db"));
        assertThat(expected.stdout()).as("native reference").endsWith("sqlite: ok\n");

        Result r = VmmProcess.run(vmDir, "run", "--trace=none", binary.toString(), "t.db");

        assertThat(r.stdout()).as(r.describe()).isEqualTo(expected.stdout());
        assertThat(r.exit()).isZero();
        assertThat(Guest.runNatively(binary, vmDir, List.of("t.db", "count")).stdout())
                .as("the database the VM wrote, read natively").isEqualTo("SELECT count(*) FROM t -> 500\n");
    }

    private static void assertSameAsNative(String name, Libc libc, Path tmp) {
        Path binary = Guest.build(name, libc);
        Path nativeDir = Guest.freshDir(tmp, "native-"), vmDir = Guest.freshDir(tmp, "vm-");
        NativeRun expected = Guest.runNatively(binary, nativeDir, List.of());
        assertThat(expected.stdout()).as("native reference").endsWith(name + ": all ok (0 failures)\n");

        Result r = VmmProcess.run(vmDir, "run", "--trace=none", binary.toString());

        assertThat(r.stdout()).as(r.describe()).isEqualTo(expected.stdout());
        assertThat(r.exit()).isZero();
        assertThat(vmDir).isEmptyDirectory();
    }
}
