package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState;

import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.sys.Wakeup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.scratchvm.sys.Errno.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * File system calls. Data moves between the host file and guest memory directly
 * (the host kernel reads into / writes from the guest's pages); paths are resolved
 * under the guest root; descriptors are the guest's own numbers.
 */
final class FileCalls {
    private static final int IOV_MAX = 1024, STAT_SIZE = 144, STATX_SIZE = 256;
    private static final int S_IFMT = 0170000, S_IFDIR = 0040000, S_IFCHR = 0020000, S_IFIFO = 0010000, S_IFREG = 0100000,
            S_IFBLK = 0060000, S_IFSOCK = 0140000;
    private static final int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = Libc.F_GETFL, F_SETFL = Libc.F_SETFL,
            F_DUPFD_CLOEXEC = 1030;
    private static final int FD_CLOEXEC = 1;
    private static final int F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032;
    private static final int RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2, RENAME_WHITEOUT = 4;
    private static final long TCGETS = 0x5401, TIOCGPGRP = 0x540F, TIOCGWINSZ = 0x5413, FIONREAD = 0x541B;
    /** The most a readv or writev moves to or from one of the VMM's own files at once (a pipe holds 64 KiB). */
    private static final long VIRTUAL_IO_MAX = 1 << 20;

    private final GuestArgs args;
    private final FdTable fds;
    private final GuestRoot root;
    private final Trace trace;
    private final Signals signals;
    private final LockCalls locks;
    /** The VM's /proc, asked before the root for every path. */
    private final ProcFs proc;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment iovecs = arena.allocate(16L * IOV_MAX, 8);
    private final MemorySegment emptyPath = arena.allocateFrom("");
    private final MemorySegment statScratch = arena.allocate(STAT_SIZE, 8);
    /** The file mode creation mask; part of the saved state. */
    int umask = KernelState.DEFAULT_UMASK;

    private final Wakeup wakeup;
    private final Waits waits;
    /** One iovec for write(2) on a pipe, where a pause may find it half done. */
    private final MemorySegment singleIovec = arena.allocate(16, 8);

    FileCalls(GuestArgs args, FdTable fds, GuestRoot root, Trace trace, Signals signals, Wakeup wakeup, Waits waits,
              ProcFs proc) {
        this.signals = signals;
        this.waits = waits;
        this.proc = proc;
        this.wakeup = wakeup;
        this.args = args;
        this.fds = fds;
        this.root = root;
        this.trace = trace;
        this.locks = new LockCalls(args, fds, wakeup, trace);
    }

    void register(SyscallTable t) {
        locks.register(t, this);
        t.registerTraced(Nr.READ, "read", this::read);
        t.registerTraced(Nr.WRITE, "write", this::write);
        t.registerTraced(Nr.PREAD64, "pread64", this::pread);
        t.registerTraced(Nr.PWRITE64, "pwrite64", this::pwrite);
        t.registerTraced(Nr.READV, "readv", c -> vectored(c, false));
        t.registerTraced(Nr.WRITEV, "writev", c -> vectored(c, true));
        t.registerTraced(Nr.OPEN, "open", c -> open("OPEN", Libc.AT_FDCWD, c.a0(), (int) c.a1(), (int) c.a2()));
        t.registerTraced(Nr.CREAT, "creat", c -> open("OPEN", Libc.AT_FDCWD, c.a0(),
                Libc.O_CREAT | Libc.O_WRONLY | Libc.O_TRUNC, (int) c.a1()));
        t.registerTraced(Nr.OPENAT, "openat", c -> open("OPENAT", (int) c.a0(), c.a1(), (int) c.a2(), (int) c.a3()));
        t.registerTraced(Nr.CLOSE, "close", this::close);
        t.registerTraced(Nr.LSEEK, "lseek", this::lseek);
        t.registerTraced(Nr.FSTAT, "fstat", c -> fstat(c.fd(), c.a1()));
        t.registerTraced(Nr.STAT, "stat", c -> statPath(Libc.AT_FDCWD, c.a0(), c.a1(), 0));
        t.registerTraced(Nr.LSTAT, "lstat", c -> statPath(Libc.AT_FDCWD, c.a0(), c.a1(), Libc.AT_SYMLINK_NOFOLLOW));
        t.registerTraced(Nr.NEWFSTATAT, "newfstatat", c -> statPath((int) c.a0(), c.a1(), c.a2(), (int) c.a3()));
        t.registerTraced(Nr.STATX, "statx", this::statx);
        t.registerTraced(Nr.DUP, "dup", c -> dup(c.fd(), 0, false, "DUP " + c.fd()));
        t.registerTraced(Nr.DUP2, "dup2", c -> dup2((int) c.a0(), (int) c.a1(), 0, "DUP2"));
        t.registerTraced(Nr.DUP3, "dup3", c -> dup2((int) c.a0(), (int) c.a1(), (int) c.a2(), "DUP3"));
        t.registerTraced(Nr.FCNTL, "fcntl", this::fcntl);
        t.registerTraced(Nr.IOCTL, "ioctl", this::ioctl);
        t.registerTraced(Nr.FSYNC, "fsync", c -> traced("FSYNC " + c.fd(), Libc.fsync(hostFile(c.fd(), EINVAL).hostFd)));
        t.registerTraced(Nr.FDATASYNC, "fdatasync", c -> traced("FDATASYNC " + c.fd(),
                Libc.fdatasync(hostFile(c.fd(), EINVAL).hostFd)));
        t.registerTraced(Nr.FTRUNCATE, "ftruncate", c -> traced("FTRUNCATE " + c.fd() + " " + c.a1(),
                file(c.fd()).kind == FileKind.PROC ? -EINVAL : Libc.ftruncate(hostFile(c.fd(), EINVAL).hostFd, c.a1())));
        t.registerTraced(Nr.TRUNCATE, "truncate", this::truncate);
        t.registerTraced(Nr.UNLINK, "unlink", c -> unlinkAt(Libc.AT_FDCWD, c.a0(), 0));
        t.registerTraced(Nr.UNLINKAT, "unlinkat", c -> unlinkAt((int) c.a0(), c.a1(), (int) c.a2()));
        t.registerTraced(Nr.RMDIR, "rmdir", c -> unlinkAt(Libc.AT_FDCWD, c.a0(), Libc.AT_REMOVEDIR));
        t.registerTraced(Nr.MKDIR, "mkdir", c -> mkdirAt(Libc.AT_FDCWD, c.a0(), (int) c.a1()));
        t.registerTraced(Nr.MKDIRAT, "mkdirat", c -> mkdirAt((int) c.a0(), c.a1(), (int) c.a2()));
        t.registerTraced(Nr.MKNOD, "mknod", c -> mknodAt(Libc.AT_FDCWD, c.a0(), (int) c.a1()));
        t.registerTraced(Nr.MKNODAT, "mknodat", c -> mknodAt((int) c.a0(), c.a1(), (int) c.a2()));
        t.registerTraced(Nr.RENAME, "rename", c -> renameAt(Libc.AT_FDCWD, c.a0(), Libc.AT_FDCWD, c.a1(), 0));
        t.registerTraced(Nr.RENAMEAT, "renameat", c -> renameAt((int) c.a0(), c.a1(), (int) c.a2(), c.a3(), 0));
        t.registerTraced(Nr.RENAMEAT2, "renameat2", c -> renameAt((int) c.a0(), c.a1(), (int) c.a2(), c.a3(), (int) c.a4()));
        t.registerTraced(Nr.ACCESS, "access", c -> accessAt(Libc.AT_FDCWD, c.a0(), (int) c.a1(), 0));
        t.registerTraced(Nr.FACCESSAT, "faccessat", c -> accessAt((int) c.a0(), c.a1(), (int) c.a2(), 0));
        t.registerTraced(Nr.FACCESSAT2, "faccessat2", c -> accessAt((int) c.a0(), c.a1(), (int) c.a2(), (int) c.a3()));
        t.registerTraced(Nr.READLINK, "readlink", c -> readlinkAt(Libc.AT_FDCWD, c.a0(), c.a1(), c.a2()));
        t.registerTraced(Nr.READLINKAT, "readlinkat", c -> readlinkAt((int) c.a0(), c.a1(), c.a2(), c.a3()));
        t.registerTraced(Nr.GETDENTS64, "getdents64", this::getdents);
        t.registerTraced(Nr.GETCWD, "getcwd", this::getcwd);
        t.registerTraced(Nr.CHDIR, "chdir", this::chdir);
        t.registerTraced(Nr.FCHDIR, "fchdir", this::fchdir);
        t.register(Nr.UMASK, "umask", c -> {
            int old = umask;
            umask = (int) c.a0() & 0777;
            return old;
        });
    }

    // ---- helpers -----------------------------------------------------------------------

    OpenFile file(int fd) {
        OpenFile f = fds.file(fd);
        if (f == null) throw new SyscallError(EBADF);
        return f;
    }

    /** A file with a host fd behind it; one of the VMM's own files gets {@code errno} instead. */
    private OpenFile hostFile(int fd, int errno) {
        OpenFile f = file(fd);
        if (f.virtual != null) throw new SyscallError(errno);
        return f;
    }

    long traced(String text, long result) {
        trace.file(text, result);
        return result;
    }

    private static boolean readable(OpenFile f) {
        int acc = f.flags & Libc.O_ACCMODE;
        return (f.flags & Libc.O_PATH) == 0 && (acc == Libc.O_RDONLY || acc == Libc.O_RDWR);
    }

    private static boolean writable(OpenFile f) {
        int acc = f.flags & Libc.O_ACCMODE;
        return (f.flags & Libc.O_PATH) == 0 && (acc == Libc.O_WRONLY || acc == Libc.O_RDWR);
    }

    /** A guest path relative to dirfd, turned into a path the root can resolve. */
    String pathAt(int dirfd, String path) {
        if (path.startsWith("/")) return ProcFs.outOfProc(path);
        if (dirfd == Libc.AT_FDCWD) return path;
        OpenFile dir = file(dirfd);
        boolean procDir = dir.kind == FileKind.PROC && ProcFs.isDirectory(dir.path);
        if (dir.kind != FileKind.DIRECTORY && !procDir) throw new SyscallError(ENOTDIR);
        return dir.path.endsWith("/") ? dir.path + path : dir.path + "/" + path;
    }

    private static String hex(long addr) {
        return Long.toHexString(addr);
    }

    // ---- data --------------------------------------------------------------------------

    // The data calls are the hot path: their trace text is only built when tracing is on.

    private long read(Call c) {
        OpenFile f = file(c.fd());
        if (f.virtual != null) {
            long r = readable(f) ? readVirtual(f, args.output(c.a1(), c.a2()), c.a2(), Nr.READ) : -EBADF;
            if (trace.files()) trace.file("READ " + c.fd() + " " + hex(c.a1()) + " " + c.a2(), r);
            return r;
        }
        if (readable(f)) awaitInput(f, Nr.READ);
        long r = readable(f) ? Libc.read(f.hostFd, args.output(c.a1(), c.a2()), c.a2()) : -EBADF;
        if (trace.files()) trace.file("READ " + c.fd() + " " + hex(c.a1()) + " " + c.a2(), r);
        return r;
    }

    private long write(Call c) {
        OpenFile f = file(c.fd());
        long r;
        if (f.virtual != null) {
            r = writable(f) ? written(writeVirtual(f, args.buffer(c.a1(), c.a2()), c.a2(), Nr.WRITE)) : -EBADF;
        } else if (writable(f) && f.mayBlock()) {
            singleIovec.set(JAVA_LONG, 0, args.buffer(c.a1(), c.a2()).address());
            singleIovec.set(JAVA_LONG, 8, c.a2());
            r = written(interruptibleWrite(f, singleIovec, 1, Nr.WRITE));
        } else {
            r = written(writable(f) ? Libc.write(f.hostFd, args.buffer(c.a1(), c.a2()), c.a2()) : -EBADF);
        }
        if (trace.files()) trace.file("WRITE " + c.fd() + " " + hex(c.a1()) + " " + c.a2(), r);
        return r;
    }

    private long pread(Call c) {
        OpenFile f = hostFile(c.fd(), ESPIPE);
        if (c.a3() < 0) throw new SyscallError(EINVAL);
        long r = readable(f) ? Libc.pread(f.hostFd, args.output(c.a1(), c.a2()), c.a2(), c.a3()) : -EBADF;
        if (trace.files()) trace.file("PREAD " + c.fd() + " " + hex(c.a1()) + " " + c.a2() + " " + c.a3(), r);
        return r;
    }

    private long pwrite(Call c) {
        OpenFile f = hostFile(c.fd(), ESPIPE);
        if (c.a3() < 0) throw new SyscallError(EINVAL);
        long r = written(writable(f) ? Libc.pwrite(f.hostFd, args.buffer(c.a1(), c.a2()), c.a2(), c.a3()) : -EBADF);
        if (trace.files()) trace.file("PWRITE " + c.fd() + " " + hex(c.a1()) + " " + c.a2() + " " + c.a3(), r);
        return r;
    }

    /**
     * A read from one of the VMM's own files: in blocking mode, one that finds nothing waits
     * until the file is readable (a pause cuts in, and the guest makes the call again).
     */
    private long readVirtual(OpenFile f, MemorySegment dst, long length, long nr) {
        while (true) {
            long r = f.virtual.read(dst, length);
            if (r != -EAGAIN || f.nonBlocking()) return r;
            if (!awaitVirtual(f, Waits.POLLIN)) throw new Interrupted(nr);
        }
    }

    /**
     * A write to one of the VMM's own files. In blocking mode a pipe write goes on until all
     * is written, as Linux's does; a pause then returns what was written (a short write, as a
     * signal would give), or, if nothing was, has the guest make the call again.
     */
    private long writeVirtual(OpenFile f, MemorySegment src, long length, long nr) {
        long done = 0;
        while (true) {
            long r = f.virtual.write(done == 0 ? src : src.asSlice(done), length - done);
            if (r != -EAGAIN && (r < 0 || f.kind != FileKind.PIPE)) return done > 0 && r < 0 ? done : r;
            if (r > 0) done += r;
            if (done == length) return done;
            if (f.nonBlocking()) return done > 0 ? done : r;
            if (!awaitVirtual(f, Waits.POLLOUT)) return interrupted(done, nr);
        }
    }

    /** Waits for {@code events} on one of the VMM's own files; false when a pause cut in. */
    private boolean awaitVirtual(OpenFile f, int events) {
        int wanted = events | Waits.POLLERR | Waits.POLLHUP;
        return waits.until(() -> waits.poll(f, events, 0) & wanted, -1) != Waits.WOKEN;
    }

    /**
     * A pipe, socket or terminal may have nothing to read for a long time: wait for input
     * where a pause can cut in, and have the guest make the call again after it.
     */
    private void awaitInput(OpenFile f, long nr) {
        if (f.mayBlock() && wakeup.await(f.hostFd, Libc.POLLIN, -1) == Wakeup.Result.WOKEN) throw new Interrupted(nr);
    }

    /**
     * Writes to a pipe, socket or terminal without ever blocking inside the write, so a
     * pause can cut in while the reader is slow: what was written by then is returned (a
     * short write, as a signal would give), or, if nothing was, the call is made again.
     * {@code iov} is consumed.
     */
    private long interruptibleWrite(OpenFile f, MemorySegment iov, int count, long nr) {
        long done = 0;
        int first = 0;
        while (first < count) {
            long r = Libc.pwritev2(f.hostFd, iov.asSlice(16L * first), count - first, Libc.RWF_NOWAIT);
            if (r == -EOPNOTSUPP || r == -EINVAL) {
                // This kind of file cannot write without waiting: wait for room, then write as before.
                if (wakeup.await(f.hostFd, Libc.POLLOUT, -1) == Wakeup.Result.WOKEN) return interrupted(done, nr);
                r = Libc.writev(f.hostFd, iov.asSlice(16L * first), count - first);
                return r < 0 ? (done > 0 ? done : r) : done + r;
            }
            if (r == -EAGAIN) {
                if (wakeup.await(f.hostFd, Libc.POLLOUT, -1) == Wakeup.Result.WOKEN) return interrupted(done, nr);
                continue;
            }
            if (r < 0) return done > 0 ? done : r;
            done += r;
            // Skip what was written: whole iovecs, then the front of a partly written one.
            while (first < count && r >= iov.get(JAVA_LONG, 16L * first + 8)) r -= iov.get(JAVA_LONG, 16L * first++ + 8);
            if (first < count && r > 0) {
                iov.set(JAVA_LONG, 16L * first, iov.get(JAVA_LONG, 16L * first) + r);
                iov.set(JAVA_LONG, 16L * first + 8, iov.get(JAVA_LONG, 16L * first + 8) - r);
            }
        }
        return done;
    }

    private static long interrupted(long done, long nr) {
        if (done > 0) return done;
        throw new Interrupted(nr);
    }

    /** Every write path: writing to a pipe nobody reads raises SIGPIPE, as Linux does. */
    private long written(long result) {
        if (result == -EPIPE) signals.raise(Signals.SIGPIPE);
        return result;
    }

    /** readv/writev: the guest's iovec array is translated to host addresses, checked one by one. */
    private long vectored(Call c, boolean write) {
        OpenFile f = file(c.fd());
        int count = (int) c.a2();
        if (c.a2() < 0 || c.a2() > IOV_MAX) throw new SyscallError(EINVAL);
        MemorySegment guestIov = args.buffer(c.a1(), 16L * count);
        long total = 0;
        MemorySegment[] bufs = f.virtual != null ? new MemorySegment[count] : null;
        for (int i = 0; i < count; i++) {
            long base = guestIov.get(JAVA_LONG.withByteAlignment(1), 16L * i);
            long len = guestIov.get(JAVA_LONG.withByteAlignment(1), 16L * i + 8);
            if (len < 0 || (total += len) < 0) throw new SyscallError(EINVAL);
            MemorySegment buf = write ? args.buffer(base, len) : args.output(base, len);
            iovecs.set(JAVA_LONG, 16L * i, buf.address());
            iovecs.set(JAVA_LONG, 16L * i + 8, len);
            if (bufs != null) bufs[i] = buf;
        }
        long r;
        if (bufs != null) {
            r = vectoredVirtual(f, bufs, Math.min(total, VIRTUAL_IO_MAX), write);
        } else if (write) {
            r = written(!writable(f) ? -EBADF : f.mayBlock() ? interruptibleWrite(f, iovecs, count, Nr.WRITEV)
                    : Libc.writev(f.hostFd, iovecs, count));
        } else {
            if (readable(f)) awaitInput(f, Nr.READV);
            r = readable(f) ? Libc.readv(f.hostFd, iovecs, count) : -EBADF;
        }
        if (trace.files()) trace.file((write ? "WRITEV " : "READV ") + c.fd() + " " + hex(c.a1()) + " " + count, r);
        return r;
    }

    /** readv/writev on one of the VMM's own files: through one buffer, so a pipe sees one write, as Linux's does. */
    private long vectoredVirtual(OpenFile f, MemorySegment[] bufs, long total, boolean write) {
        MemorySegment staging = Arena.ofAuto().allocate(Math.max(1, total));
        if (write) {
            if (!writable(f)) return -EBADF;
            long at = 0;
            for (MemorySegment b : bufs) {
                long n = Math.min(b.byteSize(), total - at);
                MemorySegment.copy(b, 0, staging, at, n);
                at += n;
            }
            return written(writeVirtual(f, staging, total, Nr.WRITEV));
        }
        if (!readable(f)) return -EBADF;
        long r = readVirtual(f, staging, total, Nr.READV);
        long at = 0;
        for (int i = 0; i < bufs.length && at < r; i++) {
            long n = Math.min(bufs[i].byteSize(), r - at);
            MemorySegment.copy(staging, at, bufs[i], 0, n);
            at += n;
        }
        return r;
    }

    private long lseek(Call c) {
        OpenFile f = hostFile(c.fd(), ESPIPE);
        int whence = (int) c.a2();
        long r = whence < 0 || whence > 4 ? -EINVAL : Libc.lseek(f.hostFd, c.a1(), whence);
        if (trace.files()) trace.file("LSEEK " + c.fd() + " " + c.a1() + " " + whence, r);
        return r;
    }

    // ---- open / close / dup ------------------------------------------------------------

    private long open(String name, int dirfd, long pathAddr, int flags, int mode) {
        String guestPath = args.path(pathAddr);
        String label = (name.equals("OPENAT") && dirfd == Libc.AT_FDCWD ? "OPEN" : name)
                + (name.equals("OPENAT") && dirfd != Libc.AT_FDCWD ? " " + dirfd : "")
                + " " + guestPath + " " + flags + " " + mode;
        String path = pathAt(dirfd, guestPath);
        Object inProc = proc.lookup(root.absolute(path), (flags & Libc.O_NOFOLLOW) == 0);
        if (inProc != null) return traced(label, openProc(inProc, flags, mode));
        return openUnderRoot(label, path, flags, mode);
    }

    private long openUnderRoot(String label, String path, int flags, int mode) {
        int hostFd = root.open(path, flags & ~Libc.O_CLOEXEC, mode & ~umask & 07777);
        if (hostFd < 0) return traced(label, hostFd);
        FileKind kind = kindOf(hostFd);
        String resolved = kind == FileKind.DEVICE && GuestRoot.isDevice(root.absolute(path)) ? root.absolute(path) : root.guestPathOf(hostFd);
        if (resolved == null) {
            Libc.close(hostFd);
            return traced(label, -EACCES);
        }
        // Kept as Linux keeps it: only the permission bits count (and only those may be saved).
        int fd = fds.install(new OpenFile(hostFd, kind, resolved, flags & ~Libc.O_CLOEXEC, mode & 07777),
                (flags & Libc.O_CLOEXEC) != 0, 0);
        if (fd < 0) {
            Libc.close(hostFd);
            return traced(label, -EMFILE);
        }
        return traced(label, fd);
    }

    /** open(2) of what a /proc path names: a generated read-only file or directory, or where a link leads. */
    private long openProc(Object found, int flags, int mode) {
        if (found instanceof ProcFs.Link && (flags & Libc.O_NOFOLLOW) != 0) return -ELOOP;
        Object p = proc.follow(found);
        boolean cloexec = (flags & Libc.O_CLOEXEC) != 0;
        return switch (p) {
            case Integer errno -> errno == -ENOENT && (flags & Libc.O_CREAT) != 0 ? -EACCES : errno;
            case ProcFs.GuestPath g -> openUnderRoot("OPEN " + g.path(), g.path(), flags, mode);
            case ProcFs.SameFile s -> {
                int fd = fds.install(s.file(), cloexec, 0);
                yield fd < 0 ? -EMFILE : fd;
            }
            case ProcFs.Node n -> {
                boolean dir = n instanceof ProcFs.Dir;
                if ((flags & (Libc.O_CREAT | Libc.O_EXCL)) == (Libc.O_CREAT | Libc.O_EXCL)) yield -EEXIST;
                if ((flags & Libc.O_ACCMODE) != Libc.O_RDONLY || (flags & Libc.O_TRUNC) != 0) yield dir ? -EISDIR : -EACCES;
                if (!dir && (flags & Libc.O_DIRECTORY) != 0) yield -ENOTDIR;
                int hostFd = ProcFs.memoryFile((flags & Libc.O_PATH) != 0 ? new byte[0] : ProcFs.snapshot(n), 0);
                if (hostFd < 0) yield hostFd;
                int fd = fds.install(new OpenFile(hostFd, FileKind.PROC, ProcFs.path(n), flags & ~Libc.O_CLOEXEC,
                        ProcFs.mode(n) & 07777), cloexec, 0);
                if (fd < 0) Libc.close(hostFd);
                yield fd < 0 ? -EMFILE : fd;
            }
            default -> -ENOENT;
        };
    }

    private FileKind kindOf(int hostFd) {
        if (Libc.fstat(hostFd, statScratch) < 0) return FileKind.REGULAR;
        int mode = statScratch.get(JAVA_INT, 24);
        return switch (mode & S_IFMT) {
            case S_IFDIR -> FileKind.DIRECTORY;
            case S_IFCHR -> FileKind.DEVICE;
            default -> FileKind.REGULAR;
        };
    }

    private long close(Call c) {
        return traced("CLOSE " + c.fd(), fds.close(c.fd()) ? 0 : -EBADF);
    }

    private long dup(int fd, int min, boolean cloexec, String label) {
        OpenFile f = file(fd);
        int n = fds.install(f, cloexec, min);
        return traced(label, n < 0 ? -EMFILE : n);
    }

    private long dup2(int oldfd, int newfd, int flags, String name) {
        String label = name + " " + oldfd + " " + newfd;
        OpenFile f = file(oldfd);
        if (newfd < 0 || newfd >= fds.limit()) return traced(label, -EBADF);
        if (name.equals("DUP3") && (oldfd == newfd || (flags & ~Libc.O_CLOEXEC) != 0)) return traced(label, -EINVAL);
        if (oldfd == newfd) return traced(label, newfd);
        fds.installAt(newfd, f, (flags & Libc.O_CLOEXEC) != 0);
        return traced(label, newfd);
    }

    private long fcntl(Call c) {
        int fd = c.fd(), cmd = (int) c.a1();
        OpenFile f = file(fd);
        String label = "FCNTL " + fd + " " + cmd + " " + c.a2();
        return switch (cmd) {
            case F_DUPFD, F_DUPFD_CLOEXEC -> {
                if (c.a2() < 0 || c.a2() >= fds.limit()) yield traced(label, -EINVAL);
                yield dup(fd, (int) c.a2(), cmd == F_DUPFD_CLOEXEC, label);
            }
            case F_GETFD -> traced(label, fds.get(fd).closeOnExec() ? FD_CLOEXEC : 0);
            case F_SETFD -> {
                fds.setCloseOnExec(fd, (c.a2() & FD_CLOEXEC) != 0);
                yield traced(label, 0);
            }
            case F_GETFL -> traced(label, f.flags & ~(Libc.O_CREAT | Libc.O_EXCL | Libc.O_TRUNC | Libc.O_NOCTTY));
            case F_SETFL -> {
                int settable = Libc.O_APPEND | Libc.O_NONBLOCK;
                int newFlags = (f.flags & ~settable) | ((int) c.a2() & settable);
                int r = f.isStdio() || f.virtual != null ? 0 : setHostFlags(f.hostFd, newFlags & settable);
                if (r == 0) f.flags = newFlags;
                yield traced(label, r);
            }
            case F_GETPIPE_SZ -> traced(label, f.virtual instanceof Pipe.End end ? end.pipe().capacity() : -EBADF);
            case F_SETPIPE_SZ -> traced(label, f.virtual instanceof Pipe.End end ? end.pipe().resize(c.a2() & 0xffffffffL) : -EBADF);
            default -> traced(label, LockCalls.isLockCommand(cmd) ? locks.fcntl(f, cmd, c.a2()) : -EINVAL);
        };
    }

    private static int setHostFlags(int hostFd, int flags) {
        return Libc.fcntl(hostFd, F_SETFL, flags);
    }

    private long ioctl(Call c) {
        OpenFile f = file(c.fd());
        long request = c.a1() & 0xffffffffL;
        String label = "IOCTL " + c.fd() + " 0x" + Long.toHexString(request);
        if (request == FIONREAD && f.virtual instanceof Pipe.End end && end.reader) {
            args.output(c.a2(), 4).set(JAVA_INT_UNALIGNED, 0, end.pipe().available());
            return traced(label, 0);
        }
        if (!f.isStdio() && f.kind != FileKind.DEVICE) return traced(label, -ENOTTY);
        long size = request == TCGETS ? 36 : request == TIOCGWINSZ ? 8 : request == TIOCGPGRP ? 4 : -1;
        if (size < 0) return traced(label, -ENOTTY);
        return traced(label, Libc.ioctl(f.hostFd, request, args.output(c.a2(), size)));
    }

    // ---- metadata ----------------------------------------------------------------------

    private long fstat(int fd, long buf) {
        OpenFile f = file(fd);
        if (f.virtual != null) return traced("FSTAT " + fd, virtualStat(f, args.output(buf, STAT_SIZE)));
        if (f.kind == FileKind.PROC) {
            ProcFs.stat(f.path, ProcFs.mode(f), args.output(buf, STAT_SIZE));
            return traced("FSTAT " + fd, 0);
        }
        return traced("FSTAT " + fd, Libc.fstat(f.hostFd, args.output(buf, STAT_SIZE)));
    }

    private long statPath(int dirfd, long pathAddr, long buf, int flags) {
        String path = args.pathOrEmpty(pathAddr);
        if (path.isEmpty()) {
            if ((flags & Libc.AT_EMPTY_PATH) == 0) throw new SyscallError(ENOENT);
            if (dirfd == Libc.AT_FDCWD) path = ".";
            else return fstat(dirfd, buf);
        }
        MemorySegment out = args.output(buf, STAT_SIZE);
        String label = "STAT " + path;
        boolean follow = (flags & Libc.AT_SYMLINK_NOFOLLOW) == 0;
        Object inProc = proc.lookup(root.absolute(pathAt(dirfd, path)), follow);
        if (inProc != null) return traced(label, proc.stat(inProc, follow, out, false, 0));
        int fd = root.openPath(pathAt(dirfd, path), (flags & Libc.AT_SYMLINK_NOFOLLOW) == 0);
        if (fd < 0) return traced(label, fd);
        try {
            return traced(label, Libc.fstatat(fd, emptyPath, out, Libc.AT_EMPTY_PATH));
        } finally {
            Libc.close(fd);
        }
    }

    /**
     * struct stat of one of the VMM's own files: a FIFO for a pipe end, an anonymous inode
     * (mode 0600, no type) for the others, as Linux shows them; the inode number tells them apart.
     */
    private static long virtualStat(OpenFile f, MemorySegment out) {
        out.fill((byte) 0);
        out.set(JAVA_LONG_UNALIGNED, 8, f.virtual instanceof Pipe.End end ? end.pipe().inode()
                : System.identityHashCode(f.virtual) & 0xffffffffL);
        out.set(JAVA_LONG_UNALIGNED, 16, 1);
        out.set(JAVA_INT_UNALIGNED, 24, (f.kind == FileKind.PIPE ? S_IFIFO : 0) | 0600);
        out.set(JAVA_LONG_UNALIGNED, 56, Pipe.PAGE);
        return 0;
    }

    private long statx(Call c) {
        int dirfd = (int) c.a0(), flags = (int) c.a2(), mask = (int) c.a3();
        String path = args.pathOrEmpty(c.a1());
        MemorySegment out = args.output(c.a4(), STATX_SIZE);
        int hostFd;
        boolean own = false;
        if (path.isEmpty() && (flags & Libc.AT_EMPTY_PATH) != 0 && dirfd != Libc.AT_FDCWD) {
            OpenFile f = hostFile(dirfd, EINVAL);
            if (f.kind == FileKind.PROC) {
                ProcFs.statx(f.path, ProcFs.mode(f), out);
                return traced("STATX " + dirfd, 0);
            }
            hostFd = f.hostFd;
        } else {
            if (path.isEmpty() && (flags & Libc.AT_EMPTY_PATH) == 0) throw new SyscallError(ENOENT);
            boolean follow = (flags & Libc.AT_SYMLINK_NOFOLLOW) == 0;
            Object inProc = proc.lookup(root.absolute(pathAt(dirfd, path.isEmpty() ? "." : path)), follow);
            if (inProc != null) return traced("STATX " + path, proc.stat(inProc, follow, out, true, mask));
            hostFd = root.openPath(pathAt(dirfd, path.isEmpty() ? "." : path), (flags & Libc.AT_SYMLINK_NOFOLLOW) == 0);
            if (hostFd < 0) return traced("STATX " + path, hostFd);
            own = true;
        }
        try {
            int hostFlags = (flags & ~Libc.AT_SYMLINK_NOFOLLOW) | Libc.AT_EMPTY_PATH;
            return traced("STATX " + (path.isEmpty() ? dirfd : path), Libc.statx(hostFd, emptyPath, hostFlags, mask, out));
        } finally {
            if (own) Libc.close(hostFd);
        }
    }

    /** By the file's /proc/self/fd link: opening it for writing and closing it would drop the guest's POSIX locks. */
    private long truncate(Call c) {
        String path = args.path(c.a0());
        String label = "TRUNCATE " + path + " " + c.a1();
        if (ProcFs.contains(root.absolute(path))) return traced(label, -EACCES);
        int fd = root.openPath(path, true);
        if (fd < 0) return traced(label, fd);
        try (Arena a = Arena.ofConfined()) {
            return traced(label, Libc.truncate(a.allocateFrom("/proc/self/fd/" + fd), c.a1()));
        } finally {
            Libc.close(fd);
        }
    }

    // ---- directory entries -------------------------------------------------------------

    /** Runs {@code op} on the parent directory of a path; closes it afterwards. */
    long withParent(int dirfd, String path, String label, java.util.function.BiFunction<Integer, MemorySegment, Long> op) {
        // Nothing in /proc can be created, removed or renamed.
        if (ProcFs.contains(root.absolute(pathAt(dirfd, path)))) return traced(label, -EACCES);
        Object p = root.openParent(pathAt(dirfd, path));
        if (p instanceof Integer errno) return traced(label, errno);
        GuestRoot.Parent parent = (GuestRoot.Parent) p;
        try (Arena a = Arena.ofConfined()) {
            return traced(label, op.apply(parent.dirFd(), a.allocateFrom(parent.name())));
        } finally {
            Libc.close(parent.dirFd());
        }
    }

    private long unlinkAt(int dirfd, long pathAddr, int flags) {
        String path = args.path(pathAddr);
        if ((flags & ~Libc.AT_REMOVEDIR) != 0) throw new SyscallError(EINVAL);
        boolean rmdir = (flags & Libc.AT_REMOVEDIR) != 0;
        String label = (rmdir ? "RMDIR " : "UNLINK ") + path;
        // What the parent/name split cannot express, as Linux answers it: "." and ".." as the
        // last component, and a trailing slash, which names a directory.
        String last = path.replaceAll("/+$", "");
        last = last.substring(last.lastIndexOf('/') + 1);
        if (last.equals(".") || last.equals("..")) {
            return traced(label, !rmdir ? -EISDIR : last.equals(".") ? -EINVAL : -ENOTEMPTY);
        }
        if (!rmdir && path.endsWith("/")) {
            int fd = root.open(pathAt(dirfd, path), Libc.O_PATH | Libc.O_DIRECTORY, 0);
            if (fd < 0) return traced(label, fd);
            Libc.close(fd);
            return traced(label, -EISDIR);
        }
        return withParent(dirfd, path, label, (dir, name) -> (long) Libc.unlinkat(dir, name, flags));
    }

    private long mkdirAt(int dirfd, long pathAddr, int mode) {
        String path = args.path(pathAddr);
        return withParent(dirfd, path, "MKDIR " + path + " " + mode,
                (dir, name) -> (long) Libc.mkdirat(dir, name, mode & ~umask & 07777));
    }

    /**
     * mknod for what an unprivileged process makes: a FIFO, or an empty regular file (type 0
     * means S_IFREG), under the root with the guest's umask. Devices need CAP_MKNOD, which the
     * guest does not have (EPERM, whoever runs the VMM); sockets too, as the VM has no unix
     * sockets to bind one; a directory EPERM and an unknown type EINVAL, as Linux's may_mknod.
     */
    private long mknodAt(int dirfd, long pathAddr, int mode) {
        String path = args.path(pathAddr);
        String label = "MKNOD " + path + " " + Integer.toOctalString(mode);
        int type = mode & S_IFMT;
        if (type == S_IFDIR || type == S_IFCHR || type == S_IFBLK || type == S_IFSOCK) return traced(label, -EPERM);
        if (type != 0 && type != S_IFREG && type != S_IFIFO) return traced(label, -EINVAL);
        if (ProcFs.contains(root.absolute(pathAt(dirfd, path)))) return traced(label, -EACCES);
        int made = (type == 0 ? S_IFREG : type) | (mode & ~umask & 07777);
        return withParent(dirfd, path, label, (dir, name) -> (long) Libc.mknodat(dir, name, made, 0));
    }

    private long renameAt(int olddirfd, long oldAddr, int newdirfd, long newAddr, int flags) {
        String from = args.path(oldAddr), to = args.path(newAddr);
        String label = "RENAME " + from + " " + to;
        if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) != 0) return traced(label, -EINVAL);
        if (ProcFs.contains(root.absolute(pathAt(newdirfd, to)))) return traced(label, -EACCES);
        Object p = root.openParent(pathAt(newdirfd, to));
        if (p instanceof Integer errno) return traced(label, errno);
        GuestRoot.Parent target = (GuestRoot.Parent) p;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment toName = a.allocateFrom(target.name());
            return withParent(olddirfd, from, label, (dir, name) -> (long) Libc.renameat2(dir, name, target.dirFd(), toName, flags));
        } finally {
            Libc.close(target.dirFd());
        }
    }

    private long accessAt(int dirfd, long pathAddr, int mode, int flags) {
        String path = args.path(pathAddr);
        String label = "ACCESS " + path + " " + mode;
        if ((mode & ~7) != 0) return traced(label, -EINVAL);
        Object inProc = proc.lookup(root.absolute(pathAt(dirfd, path)), (flags & Libc.AT_SYMLINK_NOFOLLOW) == 0);
        if (inProc != null) {
            Object p = proc.follow(inProc);
            if (p instanceof Integer errno) return traced(label, errno);
            if (p instanceof ProcFs.Node n) return traced(label, ProcFs.access(ProcFs.mode(n), mode));
            if (p instanceof ProcFs.GuestPath g) path = g.path();
            else return traced(label, 0);
        }
        int fd = root.openPath(pathAt(dirfd, path), (flags & Libc.AT_SYMLINK_NOFOLLOW) == 0);
        if (fd < 0) return traced(label, fd);
        try {
            return traced(label, Libc.faccessat(fd, emptyPath, mode, Libc.AT_EMPTY_PATH | (flags & 0x200)));
        } finally {
            Libc.close(fd);
        }
    }

    private long readlinkAt(int dirfd, long pathAddr, long buf, long size) {
        String path = args.path(pathAddr);
        if (size <= 0) throw new SyscallError(EINVAL);
        MemorySegment out = args.output(buf, size);
        Object inProc = proc.lookup(root.absolute(pathAt(dirfd, path)), false);
        if (inProc != null) return traced("READLINK " + path, ProcFs.readlink(inProc, out, size));
        return withParent(dirfd, path, "READLINK " + path, (dir, name) -> Libc.readlinkat(dir, name, out, size));
    }

    private long getdents(Call c) {
        OpenFile f = file(c.fd());
        if (f.kind == FileKind.PROC) {
            long r = ProcFs.isDirectory(f.path) ? proc.getdents(f, args.output(c.a1(), c.a2()), c.a2()) : -ENOTDIR;
            return traced("GETDENTS64 " + c.fd(), r);
        }
        if (f.kind != FileKind.DIRECTORY) return traced("GETDENTS64 " + c.fd(), -ENOTDIR);
        return traced("GETDENTS64 " + c.fd(), Libc.getdents64(f.hostFd, args.output(c.a1(), c.a2()), c.a2()));
    }

    private long getcwd(Call c) {
        byte[] cwd = (root.cwd() + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (c.a1() < cwd.length) return -ERANGE;
        MemorySegment out = args.output(c.a0(), cwd.length);
        MemorySegment.copy(cwd, 0, out, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, cwd.length);
        return cwd.length;
    }

    private long chdir(Call c) {
        String path = args.path(c.a0());
        int fd = root.open(path, Libc.O_PATH | Libc.O_DIRECTORY, 0);
        if (fd < 0) return traced("CHDIR " + path, fd);
        try {
            return traced("CHDIR " + path, changeDirectory(fd));
        } finally {
            Libc.close(fd);
        }
    }

    /** Makes the directory behind a host fd the cwd, by where it is now (it may have been renamed). */
    private long changeDirectory(int hostFd) {
        String resolved = root.guestPathOf(hostFd);
        if (resolved == null) return -ENOENT;
        root.setCwd(resolved);
        return 0;
    }

    private long fchdir(Call c) {
        OpenFile f = file(c.fd());
        String label = "FCHDIR " + c.fd();
        return traced(label, f.kind != FileKind.DIRECTORY ? -ENOTDIR : changeDirectory(f.hostFd));
    }
}
