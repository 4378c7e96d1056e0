package dev.scratchvm.linux;

import dev.scratchvm.sys.Errno;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.sys.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The directory the guest sees as "/". Every path the guest names is resolved by the
 * host kernel with openat2(RESOLVE_IN_ROOT), so "..", absolute paths and symlinks
 * (even ones swapped in during the call) stay inside it — the same confinement a
 * chroot gives, without privileges.
 */
public final class GuestRoot implements AutoCloseable {
    private static final long RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_IN_ROOT = 0x10;
    /** Character devices a program may open by their usual path even though the root has no /dev. */
    private static final Set<String> DEVICES = Set.of("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random");

    private final Path hostPath;
    private final int dirFd;
    private String cwd = "/";

    private GuestRoot(Path hostPath, int dirFd) {
        this.hostPath = hostPath;
        this.dirFd = dirFd;
    }

    /** Opens the root directory; fails with a clear message when it is not a directory. */
    public static GuestRoot open(Path dir) {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (java.io.IOException e) {
            throw new NativeException("guest root " + dir, Errno.ENOENT);
        }
        int fd = Libc.open(real.toString(), Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (fd < 0) throw new NativeException("guest root " + dir, -fd);
        return new GuestRoot(real, fd);
    }

    public Path hostPath() {
        return hostPath;
    }

    public String cwd() {
        return cwd;
    }

    void setCwd(String cwd) {
        this.cwd = cwd;
    }

    /** A guest path made absolute against the cwd (still a guest path; the kernel resolves it). */
    String absolute(String guestPath) {
        if (guestPath.startsWith("/")) return guestPath;
        return cwd.endsWith("/") ? cwd + guestPath : cwd + "/" + guestPath;
    }

    static boolean isDevice(String absoluteGuestPath) {
        return DEVICES.contains(absoluteGuestPath);
    }

    /** openat2 under the root; returns a host fd (always close-on-exec) or -errno. */
    int open(String guestPath, int flags, int mode) {
        String abs = absolute(guestPath);
        if (isDevice(abs)) {
            return Libc.open(abs, (flags & ~(Libc.O_CREAT | Libc.O_EXCL | Libc.O_TRUNC)) | Libc.O_CLOEXEC, 0);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment how = arena.allocate(24, 8);
            // With O_PATH, openat2 accepts only O_DIRECTORY and O_NOFOLLOW beside it (musl adds
            // O_LARGEFILE to every open, which the kernel implies on 64-bit anyway).
            int hostFlags = (flags & Libc.O_PATH) != 0 ? flags & (Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_NOFOLLOW) : flags;
            how.set(JAVA_LONG, 0, Integer.toUnsignedLong(hostFlags | Libc.O_CLOEXEC));
            // openat2 rejects a mode unless the file may be created
            boolean creates = (flags & Libc.O_CREAT) != 0 || (flags & 020000000) != 0;
            how.set(JAVA_LONG, 8, creates ? mode & 07777 : 0);
            how.set(JAVA_LONG, 16, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
            return Libc.openat2(dirFd, arena.allocateFrom(abs), how);
        }
    }

    /** Opens a path only to name it (O_PATH), for stat, access and the like. */
    int openPath(String guestPath, boolean followSymlinks) {
        return open(guestPath, Libc.O_PATH | (followSymlinks ? 0 : Libc.O_NOFOLLOW), 0);
    }

    /** Splits a path into its parent directory (opened O_PATH) and last component. */
    record Parent(int dirFd, String name) {
    }

    /** -errno, or a Parent whose dirFd the caller must close. */
    Object openParent(String guestPath) {
        String abs = absolute(guestPath);
        while (abs.length() > 1 && abs.endsWith("/")) abs = abs.substring(0, abs.length() - 1);
        int slash = abs.lastIndexOf('/');
        String dir = slash == 0 ? "/" : abs.substring(0, slash);
        String name = abs.substring(slash + 1);
        if (name.isEmpty() || name.equals(".") || name.equals("..")) return -Errno.EINVAL;
        int fd = open(dir, Libc.O_PATH | Libc.O_DIRECTORY, 0);
        if (fd < 0) return fd;
        return new Parent(fd, name);
    }

    /**
     * Where an open host fd really points, as a guest path ("/" + path below the root), or
     * null when it is not below the root (a device, or a file that was deleted).
     */
    public String guestPathOf(int hostFd) {
        try (Arena arena = Arena.ofConfined()) {
            // A deleted file still has a /proc link, to "<old path> (deleted)": no links left means no path.
            MemorySegment stat = arena.allocate(144, 8);
            if (Libc.fstat(hostFd, stat) < 0 || stat.get(JAVA_LONG, 16) == 0) return null;
            MemorySegment buf = arena.allocate(4096);
            long n = Libc.readlinkat(Libc.AT_FDCWD, arena.allocateFrom("/proc/self/fd/" + hostFd), buf, 4096);
            if (n < 0) return null;
            String host = new String(buf.asSlice(0, n).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
            String root = hostPath.toString();
            if (host.equals(root)) return "/";
            if (host.startsWith(root.endsWith("/") ? root : root + "/")) {
                return "/" + host.substring(root.endsWith("/") ? root.length() : root.length() + 1);
            }
            if (DEVICES.contains(host)) return host;
            return null;
        }
    }

    @Override
    public void close() {
        Libc.close(dirFd);
    }
}
