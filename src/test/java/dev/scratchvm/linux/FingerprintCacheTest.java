package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.sys.Libc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A capture reuses a file's fingerprint only while the file is certainly the one it read:
 * same inode, size, mtime and ctime, and last changed well before the read. Real files.
 */
class FingerprintCacheTest {
    @TempDir
    Path dir;

    private int open(Path p) {
        return Libc.check("open", Libc.open(p.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0));
    }

    @Test
    void aSettledFileIsReadOnceAndAChangeOfTheSameSizeIsReadAgain() throws Exception {
        Path p = dir.resolve("data");
        Files.write(p, new byte[]{1, 2, 3, 4});
        Thread.sleep(FingerprintCache.SETTLED_NANOS / 1_000_000 + 200);
        FingerprintCache cache = new FingerprintCache();
        int fd = open(p);
        try {
            FileFingerprint first = cache.of(fd);
            assertThat(first).isEqualTo(FileFingerprints.of(fd));
            assertThat(cache.holds(fd)).as("a file unchanged for longer than the settling time is kept").isTrue();
            assertThat(cache.of(fd)).isEqualTo(first);

            Files.write(p, new byte[]{9, 9, 9, 9}, StandardOpenOption.WRITE);   // same size, in place
            assertThat(cache.holds(fd)).as("ctime moved: the entry no longer applies").isFalse();
            FileFingerprint changed = cache.of(fd);
            assertThat(changed).isEqualTo(FileFingerprints.of(fd));
            assertThat(changed.crc32c()).isNotEqualTo(first.crc32c());
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void aFileChangedJustNowIsNotKept() throws Exception {
        Path p = dir.resolve("fresh");
        Files.write(p, new byte[]{5, 6, 7});
        FingerprintCache cache = new FingerprintCache();
        int fd = open(p);
        try {
            assertThat(cache.of(fd)).isEqualTo(FileFingerprints.of(fd));
            // Its timestamps may be too coarse to show a write in the same tick: read it every time.
            assertThat(cache.holds(fd)).isFalse();
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void anotherFileOfTheSameSizeAndTimesIsNotTakenForIt() throws Exception {
        Path a = dir.resolve("a"), b = dir.resolve("b");
        Files.write(a, new byte[]{1});
        Files.write(b, new byte[]{2});
        Thread.sleep(FingerprintCache.SETTLED_NANOS / 1_000_000 + 200);
        FingerprintCache cache = new FingerprintCache();
        int fa = open(a), fb = open(b);
        try {
            cache.of(fa);
            assertThat(cache.holds(fb)).isFalse();
            assertThat(cache.of(fb)).isEqualTo(FileFingerprints.of(fb));
        } finally {
            Libc.close(fa);
            Libc.close(fb);
        }
    }
}
