package dev.scratchvm.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The host C library, reached through FFM downcalls. Every call returns what the
 * kernel would: a non-negative result, or {@code -errno} on failure (errno is captured
 * by the linker right after the call, so nothing in between can clobber it). The
 * {@code check} variants throw {@link NativeException} instead.
 *
 * <p>Every function is called through one native shape, six 64-bit integer arguments and a
 * 64-bit result, because the JVM generates (and cannot cache across runs) a stub per
 * distinct shape, at ~4 ms each: one shape instead of twenty-five is most of the VMM's
 * start-up. This is exact for the x86-64 System V ABI used here: integer and pointer
 * arguments travel in the same six registers whatever their declared width, unused
 * registers are ignored by the callee, an {@code int} result is the low half of rax (taken
 * with a cast), and variadic functions (open, ioctl, fcntl, syscall) get their own handle
 * kind so the linker sets %al as the ABI requires for variadic calls.
 */
public final class Libc {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MemoryLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CALL_STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));
    private static final FunctionDescriptor SIX_LONGS = FunctionDescriptor.of(JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);

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
    public static final int F_GETFL = 3, F_SETFL = 4;
    public static final long SYS_OPENAT2 = 437;
    private static final long SYS_MEMFD_CREATE = 319, MFD_CLOEXEC = 1;

    private Libc() {
    }

    private static MethodHandle fixed(String name) {
        return LINKER.downcallHandle(symbol(name), SIX_LONGS, Linker.Option.captureCallState("errno"));
    }

    private static MethodHandle variadic(String name) {
        return LINKER.downcallHandle(symbol(name), SIX_LONGS, Linker.Option.captureCallState("errno"),
                Linker.Option.firstVariadicArg(1));
    }

    private static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError(name));
    }

    private static long call(MethodHandle h, long a, long b, long c, long d, long e, long f) {
        try {
            return (long) h.invokeExact(CALL_STATE.get(), a, b, c, d, e, f);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int errno() {
        return (int) ERRNO.get(CALL_STATE.get(), 0L);
    }

    /** A function returning long/ssize_t/pointer: -1 means failure. */
    private static long asLong(long raw) {
        return raw == -1 ? -errno() : raw;
    }

    /** A function returning int: only the low 32 bits of rax are defined. */
    private static int asInt(long raw) {
        int v = (int) raw;
        return v == -1 ? -errno() : v;
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

    /** The address of a native segment; a heap segment has none to give. */
    private static long a(MemorySegment s) {
        if (!s.isNative()) throw new IllegalArgumentException("a heap memory segment cannot be passed to native code");
        return s.address();
    }

    // Handles are grouped in holder classes so a process only links the ones it uses.
    private static final class Files {
        static final MethodHandle OPENAT = variadic("openat"), CLOSE = fixed("close"), READ = fixed("read"),
                WRITE = fixed("write"), PREAD = fixed("pread64"), PWRITE = fixed("pwrite64"), READV = fixed("readv"),
                WRITEV = fixed("writev"), LSEEK = fixed("lseek64"), FSYNC = fixed("fsync"), FDATASYNC = fixed("fdatasync"),
                FTRUNCATE = fixed("ftruncate64"), FSTAT = fixed("fstat64"), FSTATAT = fixed("fstatat64"),
                STATX = fixed("statx"), DUP = fixed("dup"), UNLINKAT = fixed("unlinkat"), MKDIRAT = fixed("mkdirat"), MKNODAT = fixed("mknodat"),
                RENAMEAT = fixed("renameat"), FACCESSAT = fixed("faccessat"), READLINKAT = fixed("readlinkat"),
                GETDENTS64 = fixed("getdents64"), IOCTL = variadic("ioctl"), FCNTL = variadic("fcntl"),
                SYSCALL = variadic("syscall"), PWRITEV2 = fixed("pwritev2");
        static final MethodHandle COPY_FILE_RANGE = fixed("copy_file_range");
    }

    private static final class Memory {
        static final MethodHandle MMAP = fixed("mmap"), MUNMAP = fixed("munmap"), MINCORE = fixed("mincore"),
                MADVISE = fixed("madvise"), MSYNC = fixed("msync"), MPROTECT = fixed("mprotect");
    }

    private static final class Misc {
        static final MethodHandle STRERROR = fixed("strerror"), CLOCK_GETTIME = fixed("clock_gettime"),
                GETRANDOM = fixed("getrandom"), UNAME = fixed("uname"), GETPID = fixed("getpid"), GETUID = fixed("getuid"),
                GETEUID = fixed("geteuid"), GETGID = fixed("getgid"), GETEGID = fixed("getegid"),
                NANOSLEEP = fixed("nanosleep");
    }

    // ---- files ---------------------------------------------------------------------------

    public static int openat(int dirfd, MemorySegment path, int flags, int mode) {
        return asInt(call(Files.OPENAT, dirfd, a(path), flags, mode, 0, 0));
    }

    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            return openat(AT_FDCWD, arena.allocateFrom(path), flags, mode);
        }
    }

    /** openat2(2): {@code how} is a struct open_how {u64 flags, u64 mode, u64 resolve}. */
    public static int openat2(int dirfd, MemorySegment path, MemorySegment how) {
        return (int) asLong(call(Files.SYSCALL, SYS_OPENAT2, dirfd, a(path), a(how), how.byteSize(), 0));
    }

    /** memfd_create(2): an anonymous in-memory file (MFD_CLOEXEC). */
    public static int memfdCreate(String name) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) asLong(call(Files.SYSCALL, SYS_MEMFD_CREATE, a(arena.allocateFrom(name)), MFD_CLOEXEC, 0, 0, 0));
        }
    }

    public static int close(int fd) {
        return asInt(call(Files.CLOSE, fd, 0, 0, 0, 0, 0));
    }

    public static long read(int fd, MemorySegment buf, long count) {
        return asLong(call(Files.READ, fd, a(buf), count, 0, 0, 0));
    }

    public static long write(int fd, MemorySegment buf, long count) {
        return asLong(call(Files.WRITE, fd, a(buf), count, 0, 0, 0));
    }

    public static long pread(int fd, MemorySegment buf, long count, long offset) {
        return asLong(call(Files.PREAD, fd, a(buf), count, offset, 0, 0));
    }

    public static long pwrite(int fd, MemorySegment buf, long count, long offset) {
        return asLong(call(Files.PWRITE, fd, a(buf), count, offset, 0, 0));
    }

    /** readv(2) with an array of host struct iovec. */
    public static long readv(int fd, MemorySegment iov, int count) {
        return asLong(call(Files.READV, fd, a(iov), count, 0, 0, 0));
    }

    public static long writev(int fd, MemorySegment iov, int count) {
        return asLong(call(Files.WRITEV, fd, a(iov), count, 0, 0, 0));
    }

    public static long lseek(int fd, long offset, int whence) {
        return asLong(call(Files.LSEEK, fd, offset, whence, 0, 0, 0));
    }

    public static int fsync(int fd) {
        return asInt(call(Files.FSYNC, fd, 0, 0, 0, 0, 0));
    }

    public static int fdatasync(int fd) {
        return asInt(call(Files.FDATASYNC, fd, 0, 0, 0, 0, 0));
    }

    public static int ftruncate(int fd, long length) {
        return asInt(call(Files.FTRUNCATE, fd, length, 0, 0, 0, 0));
    }

    /** fstat(2) into a 144-byte struct stat (x86-64 layout, identical for host and guest). */
    public static int fstat(int fd, MemorySegment statbuf) {
        return asInt(call(Files.FSTAT, fd, a(statbuf), 0, 0, 0, 0));
    }

    public static int fstatat(int dirfd, MemorySegment path, MemorySegment statbuf, int flags) {
        return asInt(call(Files.FSTATAT, dirfd, a(path), a(statbuf), flags, 0, 0));
    }

    public static int statx(int dirfd, MemorySegment path, int flags, int mask, MemorySegment statxbuf) {
        return asInt(call(Files.STATX, dirfd, a(path), flags, mask, a(statxbuf), 0));
    }

    public static int dup(int fd) {
        return asInt(call(Files.DUP, fd, 0, 0, 0, 0, 0));
    }

    public static int unlinkat(int dirfd, MemorySegment path, int flags) {
        return asInt(call(Files.UNLINKAT, dirfd, a(path), flags, 0, 0, 0));
    }

    public static int mkdirat(int dirfd, MemorySegment path, int mode) {
        return asInt(call(Files.MKDIRAT, dirfd, a(path), mode, 0, 0, 0));
    }

    public static int mknodat(int dirfd, MemorySegment path, int mode, long dev) {
        return asInt(call(Files.MKNODAT, dirfd, a(path), mode, dev, 0, 0));
    }

    public static int renameat(int olddirfd, MemorySegment oldpath, int newdirfd, MemorySegment newpath) {
        return asInt(call(Files.RENAMEAT, olddirfd, a(oldpath), newdirfd, a(newpath), 0, 0));
    }

    public static int faccessat(int dirfd, MemorySegment path, int mode, int flags) {
        return asInt(call(Files.FACCESSAT, dirfd, a(path), mode, flags, 0, 0));
    }

    public static long readlinkat(int dirfd, MemorySegment path, MemorySegment buf, long size) {
        return asLong(call(Files.READLINKAT, dirfd, a(path), a(buf), size, 0, 0));
    }

    public static long getdents64(int fd, MemorySegment buf, long size) {
        return asLong(call(Files.GETDENTS64, fd, a(buf), size, 0, 0, 0));
    }

    /** fcntl(2) with an integer argument. */
    public static int fcntl(int fd, int cmd, int arg) {
        return asInt(call(Files.FCNTL, fd, cmd, arg, 0, 0, 0));
    }

    /** ioctl(2) whose argument is a pointer. */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        return asInt(call(Files.IOCTL, fd, request, a(arg), 0, 0, 0));
    }

    /** ioctl(2) whose argument is an integer. */
    public static int ioctl(int fd, long request, long arg) {
        return asInt(call(Files.IOCTL, fd, request, arg, 0, 0, 0));
    }

    // ---- memory --------------------------------------------------------------------------

    /** mmap(2); returns the address, or a negative errno. */
    public static long mmap(long addr, long length, int prot, int flags, int fd, long offset) {
        return asLong(call(Memory.MMAP, addr, length, prot, flags, fd, offset));
    }

    public static int munmap(long addr, long length) {
        return asInt(call(Memory.MUNMAP, addr, length, 0, 0, 0, 0));
    }

    /** mprotect(2); 0 or a negative errno. */
    public static int mprotect(long addr, long length, int prot) {
        return asInt(call(Memory.MPROTECT, addr, length, prot, 0, 0, 0));
    }

    /** mincore(2): one byte per page in {@code vec}, bit 0 set when the page is resident. */
    public static int mincore(long addr, long length, MemorySegment vec) {
        return asInt(call(Memory.MINCORE, addr, length, a(vec), 0, 0, 0));
    }

    public static int madvise(long addr, long length, int advice) {
        return asInt(call(Memory.MADVISE, addr, length, advice, 0, 0, 0));
    }

    /** msync(2); 0 or a negative errno. */
    public static int msync(long addr, long length, int flags) {
        return asInt(call(Memory.MSYNC, addr, length, flags, 0, 0, 0));
    }

    // ---- misc ----------------------------------------------------------------------------

    public static String strerror(int errno) {
        long s = call(Misc.STRERROR, errno, 0, 0, 0, 0, 0);
        return MemorySegment.ofAddress(s).reinterpret(1024).getString(0);
    }

    public static int clockGettime(int clock, MemorySegment timespec) {
        return asInt(call(Misc.CLOCK_GETTIME, clock, a(timespec), 0, 0, 0, 0));
    }

    public static long getrandom(MemorySegment buf, long len, int flags) {
        return asLong(call(Misc.GETRANDOM, a(buf), len, flags, 0, 0, 0));
    }

    public static int uname(MemorySegment utsname) {
        return asInt(call(Misc.UNAME, a(utsname), 0, 0, 0, 0, 0));
    }

    public static int getpid() {
        return (int) call(Misc.GETPID, 0, 0, 0, 0, 0, 0);
    }

    /** Real and effective user and group ids of the VMM process: {uid, euid, gid, egid}. */
    public static int[] ids() {
        return new int[]{(int) call(Misc.GETUID, 0, 0, 0, 0, 0, 0), (int) call(Misc.GETEUID, 0, 0, 0, 0, 0, 0),
                (int) call(Misc.GETGID, 0, 0, 0, 0, 0, 0), (int) call(Misc.GETEGID, 0, 0, 0, 0, 0, 0)};
    }

    public static int nanosleep(MemorySegment req, MemorySegment rem) {
        return asInt(call(Misc.NANOSLEEP, a(req), a(rem), 0, 0, 0, 0));
    }

    // ---- threads, signals and waiting -------------------------------------------------------

    private static final long SYS_RT_SIGACTION = 13, SYS_RT_SIGPROCMASK = 14, SYS_RT_SIGTIMEDWAIT = 128,
            SYS_GETTID = 186, SYS_TGKILL = 234, SYS_PPOLL = 271, SYS_EVENTFD2 = 290;
    public static final int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
    public static final int POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 16, POLLNVAL = 32;
    public static final int EFD_CLOEXEC = 02000000, EFD_NONBLOCK = 04000;
    public static final int RWF_NOWAIT = 8;

    private static long sys(long nr, long a, long b, long c, long d, long e) {
        return asLong(call(Files.SYSCALL, nr, a, b, c, d, e));
    }

    /** Whether {@code fd} is a pipe, socket or character device, where reads and writes wait on someone else. */
    public static boolean waitsOnPeer(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(144, 8);
            if (fstat(fd, st) < 0) return false;
            int type = st.get(java.lang.foreign.ValueLayout.JAVA_INT, 24) & 0170000; // st_mode
            return type == 0010000 || type == 0140000 || type == 0020000;
        }
    }

    /** The calling thread's kernel thread id. */
    public static int gettid() {
        return (int) sys(SYS_GETTID, 0, 0, 0, 0, 0);
    }

    /** Sends {@code signal} to one thread of this process. */
    public static int tgkill(int tid, int signal) {
        return (int) sys(SYS_TGKILL, getpid(), tid, signal, 0, 0);
    }

    /** rt_sigprocmask(2) for the calling thread only; sets are 64-bit masks (bit n-1 = signal n). */
    public static int sigprocmask(int how, MemorySegment set, MemorySegment old) {
        return (int) sys(SYS_RT_SIGPROCMASK, how, set.equals(MemorySegment.NULL) ? 0 : a(set),
                old.equals(MemorySegment.NULL) ? 0 : a(old), 8, 0);
    }

    /** Sets {@code signal}'s disposition to SIG_IGN, process-wide. */
    public static int ignoreSignal(int signal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment act = arena.allocate(32, 8); // struct kernel_sigaction: handler, flags, restorer, mask
            act.set(JAVA_LONG, 0, 1); // SIG_IGN
            return (int) sys(SYS_RT_SIGACTION, signal, act.address(), 0, 8, 0);
        }
    }

    /** Takes one pending signal of {@code set} without waiting: its number, or -EAGAIN when none is pending. */
    public static int sigtimedwaitNow(MemorySegment set, MemorySegment zeroTimespec) {
        return (int) sys(SYS_RT_SIGTIMEDWAIT, a(set), 0, a(zeroTimespec), 8, 0);
    }

    public static int eventfd(int initial, int flags) {
        return (int) sys(SYS_EVENTFD2, initial, flags, 0, 0, 0);
    }

    /** ppoll(2) without a signal mask; {@code timeout} is a struct timespec, or NULL to wait without limit. */
    public static int ppoll(MemorySegment fds, int count, MemorySegment timeout) {
        return (int) sys(SYS_PPOLL, a(fds), count, timeout.equals(MemorySegment.NULL) ? 0 : a(timeout), 0, 8);
    }

    /** pwritev2(2) at the current offset (-1) with RWF_ flags. */
    public static long pwritev2(int fd, MemorySegment iov, int count, int flags) {
        return asLong(call(Files.PWRITEV2, fd, a(iov), count, -1, flags, 0));
    }

    // ---- locks, metadata and in-kernel copies (raw system calls: no libc wrapper quirks) -------

    private static final long SYS_SENDFILE = 40, SYS_FLOCK = 73, SYS_TRUNCATE = 76, SYS_FCHMOD = 91, SYS_FCHOWN = 93,
            SYS_GETGROUPS = 115, SYS_FSTATFS = 138, SYS_FADVISE64 = 221, SYS_FCHOWNAT = 260, SYS_LINKAT = 265,
            SYS_SYMLINKAT = 266, SYS_FCHMODAT = 268, SYS_SYNC_FILE_RANGE = 277, SYS_UTIMENSAT = 280,
            SYS_FALLOCATE = 285, SYS_RENAMEAT2 = 316;
    public static final int F_GETLK = 5, F_SETLK = 6, F_SETLKW = 7, F_OFD_GETLK = 36, F_OFD_SETLK = 37, F_OFD_SETLKW = 38;
    public static final int F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
    public static final int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    public static final int AT_SYMLINK_FOLLOW = 0x400;

    /** fcntl(2) whose argument is a pointer (a struct flock). */
    public static int fcntl(int fd, int cmd, MemorySegment arg) {
        return asInt(call(Files.FCNTL, fd, cmd, a(arg), 0, 0, 0));
    }

    public static int flock(int fd, int operation) {
        return (int) sys(SYS_FLOCK, fd, operation, 0, 0, 0);
    }

    /** truncate(2) by path (a /proc/self/fd link, so no descriptor of the file is opened and closed). */
    public static int truncate(MemorySegment path, long length) {
        return (int) sys(SYS_TRUNCATE, a(path), length, 0, 0, 0);
    }

    public static int fchmod(int fd, int mode) {
        return (int) sys(SYS_FCHMOD, fd, mode, 0, 0, 0);
    }

    public static int fchmodat(int dirfd, MemorySegment path, int mode) {
        return (int) sys(SYS_FCHMODAT, dirfd, a(path), mode, 0, 0);
    }

    public static int fchown(int fd, int uid, int gid) {
        return (int) sys(SYS_FCHOWN, fd, uid, gid, 0, 0);
    }

    public static int fchownat(int dirfd, MemorySegment path, int uid, int gid, int flags) {
        return (int) sys(SYS_FCHOWNAT, dirfd, a(path), uid, gid, flags);
    }

    /** utimensat(2); {@code times} is NULL or two struct timespec. */
    public static int utimensat(int dirfd, MemorySegment path, MemorySegment times, int flags) {
        return (int) sys(SYS_UTIMENSAT, dirfd, path.equals(MemorySegment.NULL) ? 0 : a(path),
                times.equals(MemorySegment.NULL) ? 0 : a(times), flags, 0);
    }

    public static int symlinkat(MemorySegment target, int dirfd, MemorySegment path) {
        return (int) sys(SYS_SYMLINKAT, a(target), dirfd, a(path), 0, 0);
    }

    public static int linkat(int olddirfd, MemorySegment oldpath, int newdirfd, MemorySegment newpath, int flags) {
        return (int) sys(SYS_LINKAT, olddirfd, a(oldpath), newdirfd, a(newpath), flags);
    }

    public static int renameat2(int olddirfd, MemorySegment oldpath, int newdirfd, MemorySegment newpath, int flags) {
        return (int) sys(SYS_RENAMEAT2, olddirfd, a(oldpath), newdirfd, a(newpath), flags);
    }

    /** getgroups(2) into an array of {@code size} gid_t (NULL with size 0 asks for the count). */
    public static int getgroups(int size, MemorySegment list) {
        return (int) sys(SYS_GETGROUPS, size, list.equals(MemorySegment.NULL) ? 0 : a(list), 0, 0, 0);
    }

    /** fstatfs(2) into a 120-byte struct statfs (x86-64 layout, identical for host and guest). */
    public static int fstatfs(int fd, MemorySegment buf) {
        return (int) sys(SYS_FSTATFS, fd, a(buf), 0, 0, 0);
    }

    /** sendfile(2); {@code offset} is NULL (use and move in's offset) or one loff_t. */
    public static long sendfile(int out, int in, MemorySegment offset, long count) {
        return sys(SYS_SENDFILE, out, in, offset.equals(MemorySegment.NULL) ? 0 : a(offset), count, 0);
    }

    public static long copyFileRange(int in, MemorySegment inOffset, int out, MemorySegment outOffset, long length,
                                     int flags) {
        // Six arguments: one more than syscall() can carry here, so through the C library's wrapper.
        return asLong(call(Files.COPY_FILE_RANGE, in, inOffset.equals(MemorySegment.NULL) ? 0 : a(inOffset),
                out, outOffset.equals(MemorySegment.NULL) ? 0 : a(outOffset), length, flags));
    }

    public static int fallocate(int fd, int mode, long offset, long length) {
        return (int) sys(SYS_FALLOCATE, fd, mode, offset, length, 0);
    }

    public static int fadvise(int fd, long offset, long length, int advice) {
        return (int) sys(SYS_FADVISE64, fd, offset, length, advice, 0);
    }

    public static int syncFileRange(int fd, long offset, long length, int flags) {
        return (int) sys(SYS_SYNC_FILE_RANGE, fd, offset, length, flags, 0);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
