package dev.scratchvm.linux;

import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.IntUnaryOperator;

import static dev.scratchvm.sys.Errno.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * Permissions, owners, times (utimensat and the older utimes, futimesat and utime), links
 * and file system statistics. A path is resolved under
 * the guest root into an O_PATH descriptor first (GuestRoot's confinement), and the host
 * call then acts on that descriptor: with AT_EMPTY_PATH where the call takes it, else
 * through its /proc/self/fd link, which names exactly the file already resolved. No
 * descriptor of the file itself is opened and closed, which would drop the guest's POSIX locks.
 */
final class MetadataCalls {
    private static final int STATFS_SIZE = 120, NGROUPS_MAX = 65536;

    private final GuestArgs args;
    private final GuestRoot root;
    private final FileCalls files;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment emptyPath = arena.allocateFrom("");
    /** Two struct timespec, for the calls that take times in another form. */
    private final MemorySegment times = arena.allocate(32, 8);

    MetadataCalls(GuestArgs args, GuestRoot root, FileCalls files) {
        this.args = args;
        this.root = root;
        this.files = files;
    }

    void register(SyscallTable t) {
        t.registerTraced(Nr.CHMOD, "chmod", c -> chmodAt(Libc.AT_FDCWD, c.a0(), (int) c.a1()));
        t.registerTraced(Nr.FCHMODAT, "fchmodat", c -> chmodAt((int) c.a0(), c.a1(), (int) c.a2()));
        t.registerTraced(Nr.FCHMOD, "fchmod", c -> files.traced("FCHMOD " + c.fd() + " " + Long.toOctalString(c.a1()),
                Libc.fchmod(files.file(c.fd()).hostFd, (int) c.a1() & 07777)));
        t.registerTraced(Nr.CHOWN, "chown", c -> chownAt(Libc.AT_FDCWD, c.a0(), (int) c.a1(), (int) c.a2(), 0));
        t.registerTraced(Nr.LCHOWN, "lchown", c -> chownAt(Libc.AT_FDCWD, c.a0(), (int) c.a1(), (int) c.a2(),
                Libc.AT_SYMLINK_NOFOLLOW));
        t.registerTraced(Nr.FCHOWNAT, "fchownat", c -> chownAt((int) c.a0(), c.a1(), (int) c.a2(), (int) c.a3(), (int) c.a4()));
        t.registerTraced(Nr.FCHOWN, "fchown", c -> files.traced("FCHOWN " + c.fd(),
                Libc.fchown(files.file(c.fd()).hostFd, (int) c.a1(), (int) c.a2())));
        t.registerTraced(Nr.UTIMENSAT, "utimensat", c -> utimensat((int) c.a0(), c.a1(), c.a2(), (int) c.a3()));
        t.registerTraced(Nr.UTIMES, "utimes", c -> utimes(Libc.AT_FDCWD, c.a0(), c.a1()));
        t.registerTraced(Nr.FUTIMESAT, "futimesat", c -> utimes((int) c.a0(), c.a1(), c.a2()));
        t.registerTraced(Nr.UTIME, "utime", this::utime);
        t.registerTraced(Nr.SYMLINK, "symlink", c -> symlinkAt(c.a0(), Libc.AT_FDCWD, c.a1()));
        t.registerTraced(Nr.SYMLINKAT, "symlinkat", c -> symlinkAt(c.a0(), (int) c.a1(), c.a2()));
        t.registerTraced(Nr.LINK, "link", c -> linkAt(Libc.AT_FDCWD, c.a0(), Libc.AT_FDCWD, c.a1(), 0));
        t.registerTraced(Nr.LINKAT, "linkat", c -> linkAt((int) c.a0(), c.a1(), (int) c.a2(), c.a3(), (int) c.a4()));
        t.registerTraced(Nr.STATFS, "statfs", c -> {
            MemorySegment out = args.output(c.a1(), STATFS_SIZE);
            return onPath(Libc.AT_FDCWD, c.a0(), 0, "STATFS", fd -> Libc.fstatfs(fd, out));
        });
        t.registerTraced(Nr.FSTATFS, "fstatfs", c -> files.traced("FSTATFS " + c.fd(),
                Libc.fstatfs(files.file(c.fd()).hostFd, args.output(c.a1(), STATFS_SIZE))));
        t.register(Nr.GETGROUPS, "getgroups", this::getgroups);
    }

    /**
     * Runs {@code op} on the host O_PATH fd of a guest path (relative to dirfd). With
     * AT_EMPTY_PATH and an empty path, on dirfd's own host fd.
     */
    private long onPath(int dirfd, long pathAddr, int flags, String name, IntUnaryOperator op) {
        String path = (flags & Libc.AT_EMPTY_PATH) != 0 ? args.pathOrEmpty(pathAddr) : args.path(pathAddr);
        String label = name + " " + (path.isEmpty() ? dirfd : path);
        if (path.isEmpty() && dirfd != Libc.AT_FDCWD) return files.traced(label, op.applyAsInt(files.file(dirfd).hostFd));
        int fd = root.openPath(files.pathAt(dirfd, path.isEmpty() ? "." : path), (flags & Libc.AT_SYMLINK_NOFOLLOW) == 0);
        if (fd < 0) return files.traced(label, fd);
        try {
            return files.traced(label, op.applyAsInt(fd));
        } finally {
            Libc.close(fd);
        }
    }

    /** /proc/self/fd/N: the file behind a host fd, by a path the host kernel follows to it alone. */
    private static MemorySegment procPath(Arena arena, int hostFd) {
        return arena.allocateFrom("/proc/self/fd/" + hostFd);
    }

    private long chmodAt(int dirfd, long pathAddr, int mode) {
        return onPath(dirfd, pathAddr, 0, "CHMOD", fd -> {
            try (Arena arena = Arena.ofConfined()) {
                return Libc.fchmodat(Libc.AT_FDCWD, procPath(arena, fd), mode & 07777);
            }
        });
    }

    private long chownAt(int dirfd, long pathAddr, int uid, int gid, int flags) {
        if ((flags & ~(Libc.AT_SYMLINK_NOFOLLOW | Libc.AT_EMPTY_PATH)) != 0) throw new SyscallError(EINVAL);
        return onPath(dirfd, pathAddr, flags, "CHOWN", fd -> Libc.fchownat(fd, emptyPath, uid, gid, Libc.AT_EMPTY_PATH));
    }

    /** utimensat(2), and futimens (a NULL path: the times of dirfd itself). The timespecs are the guest's own. */
    private long utimensat(int dirfd, long pathAddr, long timesAddr, int flags) {
        if ((flags & ~(Libc.AT_SYMLINK_NOFOLLOW | Libc.AT_EMPTY_PATH)) != 0) throw new SyscallError(EINVAL);
        MemorySegment times = timesAddr == 0 ? MemorySegment.NULL : args.buffer(timesAddr, 32);
        if (pathAddr == 0) {
            if (dirfd == Libc.AT_FDCWD) throw new SyscallError(EFAULT);
            if (flags != 0) throw new SyscallError(EINVAL);
            return files.traced("UTIMENSAT " + dirfd, Libc.utimensat(files.file(dirfd).hostFd, MemorySegment.NULL, times, 0));
        }
        return onPath(dirfd, pathAddr, flags, "UTIMENSAT", fd -> Libc.utimensat(fd, emptyPath, times, Libc.AT_EMPTY_PATH));
    }

    /** utimes and futimesat: microsecond struct timevals, made timespecs for utimensat. */
    private long utimes(int dirfd, long pathAddr, long timesAddr) {
        if (timesAddr == 0) return utimensatWith(dirfd, pathAddr, MemorySegment.NULL);
        MemorySegment tv = args.buffer(timesAddr, 32);
        for (int i = 0; i < 2; i++) {
            long usec = tv.get(JAVA_LONG_UNALIGNED, 16L * i + 8);
            if (usec < 0 || usec >= 1_000_000) throw new SyscallError(EINVAL);
            times.set(JAVA_LONG, 16L * i, tv.get(JAVA_LONG_UNALIGNED, 16L * i));
            times.set(JAVA_LONG, 16L * i + 8, usec * 1000);
        }
        return utimensatWith(dirfd, pathAddr, times);
    }

    /** utime: a struct utimbuf of whole seconds (access, modification), or NULL for now. */
    private long utime(Call c) {
        if (c.a1() == 0) return utimensatWith(Libc.AT_FDCWD, c.a0(), MemorySegment.NULL);
        MemorySegment buf = args.buffer(c.a1(), 16);
        for (int i = 0; i < 2; i++) {
            times.set(JAVA_LONG, 16L * i, buf.get(JAVA_LONG_UNALIGNED, 8L * i));
            times.set(JAVA_LONG, 16L * i + 8, 0);
        }
        return utimensatWith(Libc.AT_FDCWD, c.a0(), times);
    }

    /** As utimensat with flags 0, with host timespecs already made (NULL: now). */
    private long utimensatWith(int dirfd, long pathAddr, MemorySegment hostTimes) {
        if (pathAddr == 0) {
            if (dirfd == Libc.AT_FDCWD) throw new SyscallError(EFAULT);
            return files.traced("UTIMES " + dirfd, Libc.utimensat(files.file(dirfd).hostFd, MemorySegment.NULL, hostTimes, 0));
        }
        return onPath(dirfd, pathAddr, 0, "UTIMES", fd -> Libc.utimensat(fd, emptyPath, hostTimes, Libc.AT_EMPTY_PATH));
    }

    /** The target is stored as the guest gave it; resolving it later stays inside the root (RESOLVE_IN_ROOT). */
    private long symlinkAt(long targetAddr, int dirfd, long linkAddr) {
        String target = args.path(targetAddr), link = args.path(linkAddr);
        return files.withParent(dirfd, link, "SYMLINK " + target + " " + link, (dir, name) -> {
            try (Arena arena = Arena.ofConfined()) {
                return (long) Libc.symlinkat(arena.allocateFrom(target), dir, name);
            }
        });
    }

    private long linkAt(int olddirfd, long oldAddr, int newdirfd, long newAddr, int flags) {
        if ((flags & ~(Libc.AT_SYMLINK_FOLLOW | Libc.AT_EMPTY_PATH)) != 0) throw new SyscallError(EINVAL);
        String from = (flags & Libc.AT_EMPTY_PATH) != 0 ? args.pathOrEmpty(oldAddr) : args.path(oldAddr);
        String to = args.path(newAddr);
        String label = "LINK " + from + " " + to;
        if (from.isEmpty()) {
            // Linking an open file by its fd: the host decides whether the VMM's user may.
            int hostFd = olddirfd == Libc.AT_FDCWD ? -1 : files.file(olddirfd).hostFd;
            if (hostFd < 0) return files.traced(label, -ENOENT);
            return files.withParent(newdirfd, to, label,
                    (dir, name) -> (long) Libc.linkat(hostFd, emptyPath, dir, name, Libc.AT_EMPTY_PATH));
        }
        // Without AT_SYMLINK_FOLLOW a symlink is linked itself, as Linux does.
        int old = root.openPath(files.pathAt(olddirfd, from), (flags & Libc.AT_SYMLINK_FOLLOW) != 0);
        if (old < 0) return files.traced(label, old);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment oldPath = procPath(arena, old);
            return files.withParent(newdirfd, to, label,
                    (dir, name) -> (long) Libc.linkat(Libc.AT_FDCWD, oldPath, dir, name, Libc.AT_SYMLINK_FOLLOW));
        } finally {
            Libc.close(old);
        }
    }

    private long getgroups(Call c) {
        int size = (int) c.a0();
        if (size < 0) return -EINVAL;
        if (size == 0) return Libc.getgroups(0, MemorySegment.NULL);
        return Libc.getgroups(size, args.output(c.a1(), 4L * Math.min(size, NGROUPS_MAX)));
    }
}
