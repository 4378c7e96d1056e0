package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Regular files the guest keeps open after unlinking them ("ghost" files, as CRIU calls
 * them): no path can open them again, so their bytes are saved with the VM and a restore
 * makes a new unlinked file with the same bytes, permission bits, open flags and offset.
 */
final class GhostFiles {
    /** The image's limit for a file's saved bytes (File.content), as for a memfd. */
    static final long MAX_SAVED_BYTES = MemfdCalls.MAX_SAVED_BYTES;
    /** Linux's __O_TMPFILE (O_TMPFILE without O_DIRECTORY). */
    private static final int O_TMPFILE = 020000000 | Libc.O_DIRECTORY;
    /** What the second open through /proc/self/fd must not repeat or cannot take. */
    private static final int NOT_AGAIN = Libc.O_CREAT | Libc.O_EXCL | Libc.O_TRUNC | Libc.O_NOFOLLOW | Libc.O_DIRECTORY;

    private GhostFiles() {
    }

    /** {st_nlink, st_size, st_mode, st_dev, st_ino} of an open host file; null if fstat fails. */
    static long[] stat(int hostFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(144, 8);
            if (Libc.fstat(hostFd, st) < 0) return null;
            return new long[]{st.get(JAVA_LONG, 16), st.get(JAVA_LONG, 48), st.get(JAVA_INT, 24), st.get(JAVA_LONG, 0),
                    st.get(JAVA_LONG, 8)};
        }
    }

    /**
     * The whole content of an unlinked file, read through a descriptor of its own (the
     * guest's may be write-only); the guest's offset is untouched.
     *
     * @throws KernelRestoreException when it is larger than an image may hold, or unreadable
     */
    static byte[] content(int hostFd, String what) throws KernelRestoreException {
        long[] st = stat(hostFd);
        if (st == null) throw new KernelRestoreException(what + ": cannot stat the deleted file");
        if (st[1] > MAX_SAVED_BYTES) {
            throw new KernelRestoreException(what + " is a deleted file of " + st[1] + " bytes; a deleted file of at most "
                    + MAX_SAVED_BYTES + " bytes can be saved");
        }
        int readable = Libc.open("/proc/self/fd/" + hostFd, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (readable < 0) throw new KernelRestoreException(what + ": cannot read the deleted file: " + Libc.strerror(-readable));
        try {
            byte[] bytes = ProcFs.readAll(readable);
            if (bytes.length != st[1]) throw new KernelRestoreException(what + ": the deleted file changed while it was read");
            return bytes;
        } finally {
            Libc.close(readable);
        }
    }

    /**
     * A new unlinked file in the root's directory (O_TMPFILE; an in-memory file where the
     * file system cannot make one) holding the saved bytes, opened with the saved flags and
     * positioned at the saved offset: a host fd, or -errno.
     */
    static int recreate(GuestRoot root, OpenFileState s) {
        int tmp = root.open("/", O_TMPFILE | Libc.O_RDWR, 0600);
        if (tmp < 0) tmp = Libc.memfdCreate("scratchvm-ghost");
        if (tmp < 0) return tmp;
        try {
            long r = ProcFs.writeFully(tmp, s.content());
            if (r < 0) return (int) r;
            // The guest's own open flags (O_RDONLY, O_APPEND...) on a description of its own;
            // the permission bits last, which may forbid what this open needs.
            int fd = Libc.open("/proc/self/fd/" + tmp, (s.flags() & ~NOT_AGAIN) | Libc.O_CLOEXEC, 0);
            if (fd < 0) return fd;
            r = Libc.fchmod(tmp, s.mode() & 07777);
            if (r >= 0 && Libc.lseek(fd, s.offset(), Libc.SEEK_SET) < 0) r = -Errno.EINVAL;
            if (r < 0) {
                Libc.close(fd);
                return (int) r;
            }
            return fd;
        } finally {
            Libc.close(tmp);
        }
    }
}
