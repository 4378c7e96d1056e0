package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileLock;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Regular files the guest deleted while it still has them open (tmpfile(), SQLite's sorter
 * files, gunzip's input): no path leads to them any more, so a restore cannot open them again
 * by name. Their bytes travel in the state instead, as a memfd's do (at most
 * {@link #MAX_SAVED_BYTES}), and a restore makes a new unnamed file under the root with
 * O_TMPFILE: a regular file on the root's file system that no directory lists, as before.
 */
final class DeletedFiles {
    /** What a state may carry of one file (the schema's limit for a File's content). */
    static final long MAX_SAVED_BYTES = 1 << 20;
    private static final int O_TMPFILE = 020000000 | Libc.O_DIRECTORY;

    private DeletedFiles() {
    }

    /** Whether the file behind {@code hostFd} has no name left (st_nlink 0). */
    static boolean isDeleted(int hostFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(144, 8);
            return Libc.fstat(hostFd, st) == 0 && st.get(JAVA_LONG, 16) == 0;
        }
    }

    /** The state of a deleted open file: its bytes, offset and flags; the fingerprint NONE marks it. */
    static OpenFileState describe(int id, String who, OpenFile f, List<FileLock> locks) throws KernelRestoreException {
        long size = MemfdCalls.size(f.hostFd), offset = Libc.lseek(f.hostFd, 0, Libc.SEEK_CUR);
        if (size < 0 || offset < 0) throw new KernelRestoreException(who + " (" + f.path + ", deleted): cannot read its size or offset");
        if (size > MAX_SAVED_BYTES) {
            throw new KernelRestoreException(who + " (" + f.path + ") was deleted while open and holds " + size
                    + " bytes; a deleted file of at most " + MAX_SAVED_BYTES + " bytes can be saved");
        }
        byte[] content = ProcFs.readAll(f.hostFd);
        if (content.length != size) throw new KernelRestoreException(who + " (" + f.path + ", deleted): cannot read its bytes");
        return new OpenFileState(id, FileKind.REGULAR, f.path, f.flags, f.mode, offset, FileFingerprint.NONE, locks, content);
    }

    /**
     * A new unnamed file under the root holding the saved bytes, at the saved offset, open with
     * the guest's flags (never creating, truncating or naming anything else). Returns a host fd.
     */
    static int recreate(GuestRoot root, OpenFileState s) throws KernelRestoreException {
        int keep = s.flags() & ~(Libc.O_CREAT | Libc.O_EXCL | Libc.O_TRUNC | Libc.O_ACCMODE | Libc.O_DIRECTORY);
        int fd = root.open("/", O_TMPFILE | Libc.O_RDWR | (keep & ~Libc.O_APPEND), s.mode() & 07777);
        if (fd < 0) throw new KernelRestoreException("cannot make a file for deleted " + s.path() + ": " + Libc.strerror(-fd));
        try {
            byte[] bytes = s.content();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(Math.max(1, bytes.length));
                MemorySegment.copy(bytes, 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
                for (long done = 0; done < bytes.length; ) {
                    long n = Libc.pwrite(fd, buf.asSlice(done), bytes.length - done, done);
                    if (n <= 0) {
                        throw new KernelRestoreException("cannot write deleted " + s.path() + "'s bytes: "
                                + (n < 0 ? Libc.strerror((int) -n) : "short write"));
                    }
                    done += n;
                }
            }
            if ((s.flags() & Libc.O_ACCMODE) != Libc.O_RDWR || (s.flags() & Libc.O_APPEND) != 0) {
                // The bytes are in; now the guest's own access mode and O_APPEND, on the same file.
                int guestFd = Libc.open("/proc/self/fd/" + fd, (keep | (s.flags() & Libc.O_ACCMODE)) | Libc.O_CLOEXEC, 0);
                if (guestFd < 0) throw new KernelRestoreException("cannot reopen deleted " + s.path() + ": " + Libc.strerror(-guestFd));
                Libc.close(fd);
                fd = guestFd;
            }
            if (Libc.lseek(fd, s.offset(), Libc.SEEK_SET) < 0) throw new KernelRestoreException("cannot seek deleted " + s.path());
            return fd;
        } catch (KernelRestoreException | RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }
}
