package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.zip.CRC32C;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Size, mtime and a CRC32C of the whole content of an open file. Restore compares size
 * and content, so a file that was edited in place (even to the same size, which CRIU
 * accepts) is refused; mtime is kept for the report only, since copying a file to
 * another host changes it.
 */
public final class FileFingerprints {
    private static final long CHUNK = 1 << 20;

    private FileFingerprints() {
    }

    /**
     * Fingerprint of the file behind a host fd; reads it with pread, so the offset is untouched.
     * A descriptor that cannot be read (O_WRONLY, O_PATH) is read through a read-only
     * descriptor for the same file, opened via /proc/self/fd.
     */
    public static FileFingerprint of(int hostFd) {
        int fl = Libc.check("fcntl", Libc.fcntl(hostFd, Libc.F_GETFL, 0));
        if ((fl & Libc.O_ACCMODE) != Libc.O_WRONLY && (fl & Libc.O_PATH) == 0) return read(hostFd);
        int readable = Libc.check("open", Libc.open("/proc/self/fd/" + hostFd, Libc.O_RDONLY | Libc.O_CLOEXEC, 0));
        try {
            return read(readable);
        } finally {
            Libc.close(readable);
        }
    }

    private static FileFingerprint read(int hostFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stat = arena.allocate(144, 8);
            Libc.check("fstat", Libc.fstat(hostFd, stat));
            long size = stat.get(JAVA_LONG, 48);
            long mtime = stat.get(JAVA_LONG, 88) * 1_000_000_000L + stat.get(JAVA_LONG, 96);
            MemorySegment buf = arena.allocate(CHUNK, 4096);
            CRC32C crc = new CRC32C();
            long at = 0;
            while (true) {
                long n = Libc.check("pread", Libc.pread(hostFd, buf, CHUNK, at));
                if (n == 0) break;
                crc.update(buf.asSlice(0, n).asByteBuffer());
                at += n;
            }
            return new FileFingerprint(at, mtime, (int) crc.getValue());
        }
    }
}
