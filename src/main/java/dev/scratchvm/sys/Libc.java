package dev.scratchvm.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The host C library, reached through FFM downcalls. Every call returns what the
 * kernel would: a non-negative result, or {@code -errno} on failure (errno is captured
 * by the linker right after the call, so nothing in between can clobber it). The
 * {@code check*} variants throw {@link NativeException} instead.
 */
public final class Libc {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MemoryLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CALL_STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3, O_CREAT = 0100,
            O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000, O_APPEND = 02000, O_NONBLOCK = 04000,
            O_DIRECTORY = 0200000, O_NOFOLLOW = 0400000, O_CLOEXEC = 02000000, O_PATH = 010000000,
            O_LARGEFILE = 0100000;
    public static final int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    public static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_NORESERVE = 0x4000;
    public static final int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200,
            AT_EMPTY_PATH = 0x1000;
    public static final int SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2;
    public static final long SYS_OPENAT2 = 437;

    private Libc() {
    }

    private static MethodHandle downcall(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment symbol = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError(name));
        Linker.Option[] all = new Linker.Option[options.length + 1];
        all[0] = Linker.Option.captureCallState("errno");
        System.arraycopy(options, 0, all, 1, options.length);
        return LINKER.downcallHandle(symbol, fd, all);
    }

    private static MethodHandle plain(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError(name)), fd);
    }

    private static long result(long value) {
        return value == -1 ? -(int) ERRNO.get(CALL_STATE.get(), 0L) : value;
    }

    private static int result(int value) {
        return value == -1 ? -(int) ERRNO.get(CALL_STATE.get(), 0L) : value;
    }

    /** Returns {@code value}, or throws naming {@code call} when it is a negative errno. */
    public static long check(String call, long value) {
        if (value < 0) throw new NativeException(call, (int) -value);
        return value;
    }

    public static int check(String call, int value) {
        if (value < 0) throw new NativeException(call, -value);
        return value;
    }

    // Handles are grouped in holder classes so a process only pays for the ones it uses.
    private static final class Files {
        static final MethodHandle OPENAT = downcall("openat",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(3));
        static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle READ = downcall("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle WRITE = downcall("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle PREAD = downcall("pread64", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        static final MethodHandle PWRITE = downcall("pwrite64", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        static final MethodHandle READV = downcall("readv", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle WRITEV = downcall("writev", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle LSEEK = downcall("lseek64", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
        static final MethodHandle FSYNC = downcall("fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle FDATASYNC = downcall("fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle FTRUNCATE = downcall("ftruncate64", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
        static final MethodHandle FSTAT = downcall("fstat64", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle FSTATAT = downcall("fstatat64", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        static final MethodHandle STATX = downcall("statx", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle DUP = downcall("dup", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle UNLINKAT = downcall("unlinkat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle MKDIRAT = downcall("mkdirat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle RENAMEAT = downcall("renameat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        static final MethodHandle FACCESSAT = downcall("faccessat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        static final MethodHandle READLINKAT = downcall("readlinkat", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        static final MethodHandle GETDENTS64 = downcall("getdents64", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle IOCTL_PTR = downcall("ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
        static final MethodHandle FCNTL = downcall("fcntl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
        static final MethodHandle OPENAT2 = downcall("syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
    }

    private static final class Memory {
        static final MethodHandle MMAP = downcall("mmap",
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        static final MethodHandle MUNMAP = downcall("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle MINCORE = downcall("mincore", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        static final MethodHandle MADVISE = downcall("madvise", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    }

    private static final class Misc {
        static final MethodHandle STRERROR = plain("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        static final MethodHandle CLOCK_GETTIME = downcall("clock_gettime", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle GETRANDOM = downcall("getrandom", FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT));
        static final MethodHandle UNAME = downcall("uname", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle GETPID = plain("getpid", FunctionDescriptor.of(JAVA_INT));
        static final MethodHandle GETUID = plain("getuid", FunctionDescriptor.of(JAVA_INT));
        static final MethodHandle GETEUID = plain("geteuid", FunctionDescriptor.of(JAVA_INT));
        static final MethodHandle GETGID = plain("getgid", FunctionDescriptor.of(JAVA_INT));
        static final MethodHandle GETEGID = plain("getegid", FunctionDescriptor.of(JAVA_INT));
        static final MethodHandle NANOSLEEP = downcall("nanosleep", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    }

    private static final class Kvm {
        static final MethodHandle IOCTL_LONG = downcall("ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(2));
        static final MethodHandle IOCTL_PTR = Files.IOCTL_PTR;
    }

    // ---- files ---------------------------------------------------------------------------

    public static int openat(int dirfd, MemorySegment path, int flags, int mode) {
        try {
            return result((int) Files.OPENAT.invokeExact(CALL_STATE.get(), dirfd, path, flags, mode));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            return openat(AT_FDCWD, arena.allocateFrom(path), flags, mode);
        }
    }

    /** openat2(2): {@code how} is a struct open_how {u64 flags, u64 mode, u64 resolve}. */
    public static int openat2(int dirfd, MemorySegment path, MemorySegment how) {
        try {
            return (int) result((long) Files.OPENAT2.invokeExact(CALL_STATE.get(), SYS_OPENAT2, dirfd, path, how, how.byteSize()));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int close(int fd) {
        try {
            return result((int) Files.CLOSE.invokeExact(CALL_STATE.get(), fd));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long read(int fd, MemorySegment buf, long count) {
        try {
            return result((long) Files.READ.invokeExact(CALL_STATE.get(), fd, buf, count));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long write(int fd, MemorySegment buf, long count) {
        try {
            return result((long) Files.WRITE.invokeExact(CALL_STATE.get(), fd, buf, count));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long pread(int fd, MemorySegment buf, long count, long offset) {
        try {
            return result((long) Files.PREAD.invokeExact(CALL_STATE.get(), fd, buf, count, offset));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long pwrite(int fd, MemorySegment buf, long count, long offset) {
        try {
            return result((long) Files.PWRITE.invokeExact(CALL_STATE.get(), fd, buf, count, offset));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** readv(2) with an array of host struct iovec. */
    public static long readv(int fd, MemorySegment iov, int count) {
        try {
            return result((long) Files.READV.invokeExact(CALL_STATE.get(), fd, iov, count));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long writev(int fd, MemorySegment iov, int count) {
        try {
            return result((long) Files.WRITEV.invokeExact(CALL_STATE.get(), fd, iov, count));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long lseek(int fd, long offset, int whence) {
        try {
            return result((long) Files.LSEEK.invokeExact(CALL_STATE.get(), fd, offset, whence));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int fsync(int fd) {
        try {
            return result((int) Files.FSYNC.invokeExact(CALL_STATE.get(), fd));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int fdatasync(int fd) {
        try {
            return result((int) Files.FDATASYNC.invokeExact(CALL_STATE.get(), fd));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int ftruncate(int fd, long length) {
        try {
            return result((int) Files.FTRUNCATE.invokeExact(CALL_STATE.get(), fd, length));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** fstat(2) into a 144-byte struct stat (x86-64 layout, identical for host and guest). */
    public static int fstat(int fd, MemorySegment statbuf) {
        try {
            return result((int) Files.FSTAT.invokeExact(CALL_STATE.get(), fd, statbuf));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int fstatat(int dirfd, MemorySegment path, MemorySegment statbuf, int flags) {
        try {
            return result((int) Files.FSTATAT.invokeExact(CALL_STATE.get(), dirfd, path, statbuf, flags));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int statx(int dirfd, MemorySegment path, int flags, int mask, MemorySegment statxbuf) {
        try {
            return result((int) Files.STATX.invokeExact(CALL_STATE.get(), dirfd, path, flags, mask, statxbuf));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int dup(int fd) {
        try {
            return result((int) Files.DUP.invokeExact(CALL_STATE.get(), fd));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int unlinkat(int dirfd, MemorySegment path, int flags) {
        try {
            return result((int) Files.UNLINKAT.invokeExact(CALL_STATE.get(), dirfd, path, flags));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int mkdirat(int dirfd, MemorySegment path, int mode) {
        try {
            return result((int) Files.MKDIRAT.invokeExact(CALL_STATE.get(), dirfd, path, mode));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int renameat(int olddirfd, MemorySegment oldpath, int newdirfd, MemorySegment newpath) {
        try {
            return result((int) Files.RENAMEAT.invokeExact(CALL_STATE.get(), olddirfd, oldpath, newdirfd, newpath));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int faccessat(int dirfd, MemorySegment path, int mode, int flags) {
        try {
            return result((int) Files.FACCESSAT.invokeExact(CALL_STATE.get(), dirfd, path, mode, flags));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long readlinkat(int dirfd, MemorySegment path, MemorySegment buf, long size) {
        try {
            return result((long) Files.READLINKAT.invokeExact(CALL_STATE.get(), dirfd, path, buf, size));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long getdents64(int fd, MemorySegment buf, long size) {
        try {
            return result((long) Files.GETDENTS64.invokeExact(CALL_STATE.get(), fd, buf, size));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** fcntl(2) with an integer argument. */
    public static int fcntl(int fd, int cmd, int arg) {
        try {
            return result((int) Files.FCNTL.invokeExact(CALL_STATE.get(), fd, cmd, arg));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** ioctl(2) whose argument is a pointer. */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        try {
            return result((int) Files.IOCTL_PTR.invokeExact(CALL_STATE.get(), fd, request, arg));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** ioctl(2) whose argument is an integer. */
    public static int ioctl(int fd, long request, long arg) {
        try {
            return result((int) Kvm.IOCTL_LONG.invokeExact(CALL_STATE.get(), fd, request, arg));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- memory --------------------------------------------------------------------------

    /** mmap(2); returns the address, or a negative errno. */
    public static long mmap(long addr, long length, int prot, int flags, int fd, long offset) {
        try {
            MemorySegment r = (MemorySegment) Memory.MMAP.invokeExact(CALL_STATE.get(),
                    MemorySegment.ofAddress(addr), length, prot, flags, fd, offset);
            return result(r.address());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int munmap(long addr, long length) {
        try {
            return result((int) Memory.MUNMAP.invokeExact(CALL_STATE.get(), MemorySegment.ofAddress(addr), length));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** mincore(2): one byte per page in {@code vec}, bit 0 set when the page is resident. */
    public static int mincore(long addr, long length, MemorySegment vec) {
        try {
            return result((int) Memory.MINCORE.invokeExact(CALL_STATE.get(), MemorySegment.ofAddress(addr), length, vec));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int madvise(long addr, long length, int advice) {
        try {
            return result((int) Memory.MADVISE.invokeExact(CALL_STATE.get(), MemorySegment.ofAddress(addr), length, advice));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- misc ----------------------------------------------------------------------------

    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) Misc.STRERROR.invokeExact(errno);
            return s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int clockGettime(int clock, MemorySegment timespec) {
        try {
            return result((int) Misc.CLOCK_GETTIME.invokeExact(CALL_STATE.get(), clock, timespec));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long getrandom(MemorySegment buf, long len, int flags) {
        try {
            return result((long) Misc.GETRANDOM.invokeExact(CALL_STATE.get(), buf, len, flags));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int uname(MemorySegment utsname) {
        try {
            return result((int) Misc.UNAME.invokeExact(CALL_STATE.get(), utsname));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int getpid() {
        try {
            return (int) Misc.GETPID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Real and effective user and group ids of the VMM process: {uid, euid, gid, egid}. */
    public static int[] ids() {
        try {
            return new int[]{(int) Misc.GETUID.invokeExact(), (int) Misc.GETEUID.invokeExact(),
                    (int) Misc.GETGID.invokeExact(), (int) Misc.GETEGID.invokeExact()};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int nanosleep(MemorySegment req, MemorySegment rem) {
        try {
            return result((int) Misc.NANOSLEEP.invokeExact(CALL_STATE.get(), req, rem));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
