package dev.scratchvm.snapshot;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Thread-local storage lives at the FS segment base, which is not in guest memory but in a
 * vCPU register: the restored program finds its TLS (errno, __thread variables, the C
 * library's own data) where it left it.
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
class TlsTest {
    private static final Pattern AFTER = Pattern.compile("thread pointer after (0x\\p{XDigit}+)");

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void theFsBaseAndEverythingBehindItSurvive(Libc libc, @TempDir Path dir) {
        String prog = Guest.install("tls_save", libc, dir);

        Steps.runUntilSaved(dir, "vm.img", "--trace=none", prog);
        Result inspect = Steps.vmm(dir, "inspect", "--json", "vm.img");
        Result restore = Steps.restore(dir, "--trace=none");

        assertThat(restore.exit()).as("%s", restore).isZero();
        assertThat(restore.stdout()).contains("errno kept\n", "__thread variables kept: Thread-local text\n")
                .endsWith("tls ok\n");
        Matcher m = AFTER.matcher(restore.stdout());
        assertThat(m.find()).as(restore.stdout()).isTrue();
        String threadPointer = m.group(1);
        assertThat(Long.decode(threadPointer)).isNotZero();
        // %fs:0 read by the resumed program is the FS base the image holds
        assertThat(inspect.stdout()).contains("\"fsBase\": \"" + threadPointer + "\"");
    }
}
