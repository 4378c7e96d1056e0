package dev.scratchvm.state;

import java.util.List;

/**
 * What the VMM's Linux personality knows about the guest process that is not in
 * guest memory or the vCPU: program break, mappings, where file access is confined,
 * and the open files.
 *
 * @param brkStart      lowest program break (end of the loaded ELF image)
 * @param brk           current program break
 * @param mmapBase      lowest address the anonymous-mmap allocator may hand out
 * @param mmapTop       highest address (exclusive) of the mmap area
 * @param mappings      live anonymous mappings made by the guest
 * @param cwd           guest's working directory, as a path inside the root ("/" = the root)
 * @param clearChildTid address registered by set_tid_address
 * @param robustList    address registered by set_robust_list
 * @param files         open file descriptions, shared by the fds that refer to them
 * @param fds           the guest's file descriptor table
 * @param signalActions rt_sigaction dispositions other than the default
 * @param umask         the file mode creation mask (umask(2))
 * @param restart       a sleep interrupted by a pause, to be finished when the guest runs again; null if none
 * @param processName   prctl's process name (comm): its 0 to 15 bytes, one char per byte (ISO-8859-1)
 * @param dumpable      prctl's PR_SET_DUMPABLE flag
 * @param signals       blocked and pending signals, the alternate signal stack and the armed timers
 * @param resourceLimits setrlimit's limits that differ from the VMM's initial ones, at most one per resource
 * @param hostname      uname's nodename (sethostname), ISO-8859-1, 0 to 64 bytes
 * @param domainname    uname's domainname (setdomainname), ISO-8859-1, 0 to 64 bytes
 * @param pipes         pipes the VMM holds for the guest, with their unread bytes
 * @param eventFds      eventfd counters
 * @param timerFds      timerfds, with the time to their next expiry
 * @param epolls        epoll instances and their interest lists
 * @param signalFds     signalfds and the signals they read
 */
public record KernelState(long brkStart, long brk, long mmapBase, long mmapTop, List<Mapping> mappings,
                          String cwd, long clearChildTid, long robustList,
                          List<OpenFileState> files, List<FdState> fds, List<SignalAction> signalActions,
                          int umask, Restart restart, String processName, boolean dumpable, SignalState signals,
                          List<ResourceLimit> resourceLimits, String hostname, String domainname, List<PipeState> pipes,
                          List<EventFdState> eventFds, List<TimerFdState> timerFds, List<EpollState> epolls,
                          List<SignalFdState> signalFds) {
    /** Linux's default mask for a new process. */
    public static final int DEFAULT_UMASK = 022;
    /** The longest process name: Linux's comm is 16 bytes with its NUL. */
    public static final int MAX_PROCESS_NAME = 15;
    /** The VM's own host name until the guest sets one (never the host's). */
    public static final String DEFAULT_HOSTNAME = "scratchvm";
    /** Linux's domain name until one is set. */
    public static final String DEFAULT_DOMAINNAME = "(none)";
    /** Linux's __NEW_UTS_LEN: a host or domain name is at most 64 bytes. */
    public static final int MAX_UTS_NAME = 64;

    public KernelState {
        resourceLimits = List.copyOf(resourceLimits);
        mappings = List.copyOf(mappings);
        files = List.copyOf(files);
        fds = List.copyOf(fds);
        signalActions = List.copyOf(signalActions);
        if (signals == null) signals = SignalState.NONE;
        pipes = List.copyOf(pipes);
        eventFds = List.copyOf(eventFds);
        timerFds = List.copyOf(timerFds);
        epolls = List.copyOf(epolls);
        signalFds = List.copyOf(signalFds);
    }

    /** A process holding no signalfd. */
    public KernelState(long brkStart, long brk, long mmapBase, long mmapTop, List<Mapping> mappings,
                       String cwd, long clearChildTid, long robustList,
                       List<OpenFileState> files, List<FdState> fds, List<SignalAction> signalActions,
                       int umask, Restart restart, String processName, boolean dumpable, SignalState signals,
                       List<ResourceLimit> resourceLimits, String hostname, String domainname, List<PipeState> pipes,
                       List<EventFdState> eventFds, List<TimerFdState> timerFds, List<EpollState> epolls) {
        this(brkStart, brk, mmapBase, mmapTop, mappings, cwd, clearChildTid, robustList, files, fds, signalActions, umask,
                restart, processName, dumpable, signals, resourceLimits, hostname, domainname, pipes, eventFds, timerFds,
                epolls, List.of());
    }

    /** A process holding no pipe, eventfd, timerfd or epoll instance. */
    public KernelState(long brkStart, long brk, long mmapBase, long mmapTop, List<Mapping> mappings, String cwd,
                       long clearChildTid, long robustList, List<OpenFileState> files, List<FdState> fds,
                       List<SignalAction> signalActions, int umask, Restart restart, String processName,
                       boolean dumpable, SignalState signals, List<ResourceLimit> resourceLimits, String hostname,
                       String domainname) {
        this(brkStart, brk, mmapBase, mmapTop, mappings, cwd, clearChildTid, robustList, files, fds, signalActions,
                umask, restart, processName, dumpable, signals, resourceLimits, hostname, domainname, List.of(), List.of(),
                List.of(), List.of());
    }

    /** With the default signal state, limits and names. */
    public KernelState(long brkStart, long brk, long mmapBase, long mmapTop, List<Mapping> mappings, String cwd,
                       long clearChildTid, long robustList, List<OpenFileState> files, List<FdState> fds,
                       List<SignalAction> signalActions, int umask, Restart restart, String processName,
                       boolean dumpable, List<PipeState> pipes, List<EventFdState> eventFds, List<TimerFdState> timerFds,
                       List<EpollState> epolls) {
        this(brkStart, brk, mmapBase, mmapTop, mappings, cwd, clearChildTid, robustList, files, fds, signalActions,
                umask, restart, processName, dumpable, SignalState.NONE, List.of(), DEFAULT_HOSTNAME, DEFAULT_DOMAINNAME,
                pipes, eventFds, timerFds, epolls);
    }

    /** A process with the VMM's initial limits and the VM's default host and domain names. */
    public KernelState(long brkStart, long brk, long mmapBase, long mmapTop, List<Mapping> mappings, String cwd,
                       long clearChildTid, long robustList, List<OpenFileState> files, List<FdState> fds,
                       List<SignalAction> signalActions, int umask, Restart restart, String processName,
                       boolean dumpable, SignalState signals) {
        this(brkStart, brk, mmapBase, mmapTop, mappings, cwd, clearChildTid, robustList, files, fds, signalActions,
                umask, restart, processName, dumpable, signals, List.of(), DEFAULT_HOSTNAME, DEFAULT_DOMAINNAME);
    }

    /** With nothing blocked, nothing pending, no alternate stack and no timer. */
    public KernelState(long brkStart, long brk, long mmapBase, long mmapTop, List<Mapping> mappings, String cwd,
                       long clearChildTid, long robustList, List<OpenFileState> files, List<FdState> fds,
                       List<SignalAction> signalActions, int umask, Restart restart, String processName,
                       boolean dumpable, List<ResourceLimit> resourceLimits, String hostname, String domainname) {
        this(brkStart, brk, mmapBase, mmapTop, mappings, cwd, clearChildTid, robustList, files, fds, signalActions,
                umask, restart, processName, dumpable, SignalState.NONE, resourceLimits, hostname, domainname);
    }

    /** With the default signal state, limits and names. */
    public KernelState(long brkStart, long brk, long mmapBase, long mmapTop, List<Mapping> mappings, String cwd,
                       long clearChildTid, long robustList, List<OpenFileState> files, List<FdState> fds,
                       List<SignalAction> signalActions, int umask, Restart restart, String processName, boolean dumpable) {
        this(brkStart, brk, mmapBase, mmapTop, mappings, cwd, clearChildTid, robustList, files, fds, signalActions,
                umask, restart, processName, dumpable, SignalState.NONE);
    }

    /** A process that never named itself and is dumpable (what images before 1.2 describe). */
    public KernelState(long brkStart, long brk, long mmapBase, long mmapTop, List<Mapping> mappings, String cwd,
                       long clearChildTid, long robustList, List<OpenFileState> files, List<FdState> fds,
                       List<SignalAction> signalActions, int umask, Restart restart) {
        this(brkStart, brk, mmapBase, mmapTop, mappings, cwd, clearChildTid, robustList, files, fds, signalActions,
                umask, restart, "", true);
    }

    /** A process with the default umask and no interrupted sleep. */
    public KernelState(long brkStart, long brk, long mmapBase, long mmapTop, List<Mapping> mappings, String cwd,
                       long clearChildTid, long robustList, List<OpenFileState> files, List<FdState> fds,
                       List<SignalAction> signalActions) {
        this(brkStart, brk, mmapBase, mmapTop, mappings, cwd, clearChildTid, robustList, files, fds, signalActions,
                DEFAULT_UMASK, null);
    }

    /** A process with every signal at its default disposition. */
    public KernelState(long brkStart, long brk, long mmapBase, long mmapTop, List<Mapping> mappings, String cwd,
                       long clearChildTid, long robustList, List<OpenFileState> files, List<FdState> fds) {
        this(brkStart, brk, mmapBase, mmapTop, mappings, cwd, clearChildTid, robustList, files, fds, List.of());
    }

    /**
     * Linux's restart block for a timed wait that a pause interrupted: the guest is left
     * about to execute {@code restart_syscall}, which finishes the wait for the time that
     * was left (relative, so it holds on another host whose clocks differ).
     *
     * @param call           the system call that was interrupted (nanosleep, clock_nanosleep, futex)
     * @param remainingNanos how long the wait still had to run, at least 0
     */
    public record Restart(int call, long remainingNanos) {
    }

    /**
     * The process's signal state beyond its dispositions.
     *
     * @param blocked  the blocked mask (bit n-1 for signal n); SIGKILL and SIGSTOP are never in it
     * @param pending  generated but not yet delivered, in the order they were generated
     * @param altStack the sigaltstack, or null when disabled
     * @param timers   armed or disarmed timers: alarm/setitimer's and timer_create's
     */
    public record SignalState(long blocked, List<PendingSignal> pending, AltStack altStack, List<TimerState> timers) {
        public static final SignalState NONE = new SignalState(0, List.of(), null, List.of());

        public SignalState {
            pending = List.copyOf(pending);
            timers = List.copyOf(timers);
        }
    }

    /**
     * A signal waiting for delivery, with what its siginfo_t will say.
     *
     * @param code    si_code (SI_USER, SI_TKILL, SI_TIMER, SI_KERNEL, ...)
     * @param pid     sender's pid, for SI_USER and SI_TKILL
     * @param uid     sender's uid, for SI_USER and SI_TKILL
     * @param timerId the timer that sent it, for SI_TIMER
     * @param value   si_value, for SI_TIMER and SI_QUEUE
     */
    public record PendingSignal(int signal, int code, int pid, int uid, int timerId, long value) {
    }

    /** sigaltstack: where handlers with SA_ONSTACK run; {@code flags} may hold SS_AUTODISARM. */
    public record AltStack(long sp, long size, int flags) {
    }

    /**
     * A timer and what it sends. Times are relative to the moment of capture, so a timer
     * keeps its remaining time on a host whose clocks differ.
     *
     * @param id             timer_create's id; {@link #ITIMER_REAL}, {@link #ITIMER_VIRTUAL}, {@link #ITIMER_PROF} for setitimer's
     * @param clock          CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME; {@link #CPU_CLOCK} for ITIMER_VIRTUAL and ITIMER_PROF
     * @param signal         the signal it sends (0 for SIGEV_NONE)
     * @param value          sigev_value, passed in si_value
     * @param remainingNanos time to the next expiry; 0 when disarmed
     * @param intervalNanos  period after the first expiry; 0 for a one-shot timer
     * @param overrun        expiries while its signal was still pending, not yet reported
     */
    public record TimerState(int id, int clock, int signal, long value, long remainingNanos, long intervalNanos,
                             int overrun) {
        public static final int ITIMER_REAL = -1, ITIMER_VIRTUAL = -2, ITIMER_PROF = -3;
        /** The clock of ITIMER_VIRTUAL and ITIMER_PROF: the guest's CPU time (Linux's CLOCK_PROCESS_CPUTIME_ID). */
        public static final int CPU_CLOCK = 2;
    }

    /** A struct rlimit for one resource; values compare unsigned, -1 is RLIM_INFINITY. */
    public record ResourceLimit(int resource, long soft, long hard) {
    }

    /** A struct k_sigaction as the guest installed it (handler 1 = SIG_IGN). */
    public record SignalAction(int signal, long handler, long flags, long restorer, long mask) {
    }

    /**
     * A mapping made by mmap: anonymous memory (private file mappings are copies, so they are
     * anonymous too), or a file mapped MAP_SHARED, whose pages are the file's and not guest memory.
     *
     * @param fileId     for a shared file mapping, the {@link OpenFileState#id()} of the file it maps
     *                   (-1 while the process runs: ids are given at capture); -1 otherwise
     * @param fileOffset for a shared file mapping, the file offset mapped at {@code start}; 0 otherwise
     * @param shared     whether this is a shared file mapping
     */
    public record Mapping(long start, long length, int prot, int fileId, long fileOffset, boolean shared) {
        /** An anonymous mapping. */
        public Mapping(long start, long length, int prot) {
            this(start, length, prot, -1, 0, false);
        }

        /** The same mapping over another range (a piece left by munmap, a grown one) at the matching file offset. */
        public Mapping resized(long newStart, long newLength) {
            return new Mapping(newStart, newLength, prot, fileId, shared ? fileOffset + (newStart - start) : 0, shared);
        }
    }

    /** What kind of host object an open file description stands for. */
    public enum FileKind {
        /** The VMM's own standard input/output/error (fd 0, 1, 2 of the VMM process). */
        STDIN, STDOUT, STDERR,
        /** A regular file under the guest root, re-opened by path. */
        REGULAR,
        /** A directory under the guest root (e.g. opened for getdents or as a dirfd). */
        DIRECTORY,
        /** /dev/null and friends: character devices re-opened by path. */
        DEVICE,
        /** A file or directory of the VM's /proc: its generated content is saved, not re-read. */
        PROC,
        /** An in-memory file from memfd_create: its bytes are saved and re-created. */
        MEMFD,
        /** One end of a pipe the VMM implements (O_RDONLY: the read end); see {@link PipeState}. */
        PIPE,
        /** An eventfd; see {@link EventFdState}. */
        EVENTFD,
        /** A timerfd; see {@link TimerFdState}. */
        TIMERFD,
        /** An epoll instance; see {@link EpollState}. */
        EPOLL,
        /** A regular file deleted while open: its bytes are saved and a new unlinked file re-created. */
        GHOST,
        /** A signalfd; see {@link SignalFdState}. */
        SIGNALFD
    }

    /**
     * A pipe held inside the VMM, as Linux keeps it: a ring of page-sized buffers, so how much
     * more it takes after a restore is what it took before.
     *
     * @param readFile  id of the open file of its read end, or -1 once that end is closed
     * @param writeFile id of the open file of its write end, or -1 once that end is closed
     * @param buffers   the unread bytes, oldest first, one entry per page in use (at most {@code pages})
     * @param pages     its capacity in pages: 16 unless F_SETPIPE_SZ changed it
     */
    public record PipeState(int readFile, int writeFile, List<PipeBuffer> buffers, int pages) {
        public PipeState {
            buffers = List.copyOf(buffers);
        }
    }

    /** One page of a pipe: {@code data} unread bytes starting {@code offset} bytes into the page. */
    public record PipeBuffer(int offset, byte[] data) {
        @Override
        public boolean equals(Object o) {
            return o instanceof PipeBuffer b && b.offset == offset && java.util.Arrays.equals(b.data, data);
        }

        @Override
        public int hashCode() {
            return 31 * offset + java.util.Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return "PipeBuffer[offset=" + offset + ", " + data.length + " bytes]";
        }
    }

    /** An eventfd: its counter (an unsigned 64-bit value below 2^64 - 1) and whether it counts as a semaphore. */
    /**
     * A signalfd: reading it takes the pending signals of its mask.
     *
     * @param file id of its open file
     * @param mask bit n-1 for signal n; never SIGKILL or SIGSTOP
     */
    public record SignalFdState(int file, long mask) {
    }

    public record EventFdState(int file, long count, boolean semaphore) {
    }

    /**
     * A timerfd. The time to its next expiry is saved relative to the capture, so it holds on
     * a host whose clocks read differently; an absolute timer becomes a relative one.
     *
     * @param file           id of its open file
     * @param clock          CLOCK_REALTIME (0), CLOCK_MONOTONIC (1) or CLOCK_BOOTTIME (7)
     * @param remainingNanos time to the next expiry; 0 when disarmed
     * @param intervalNanos  period after that; 0 for a one-shot timer
     * @param expirations    expirations not yet read
     */
    public record TimerFdState(int file, int clock, long remainingNanos, long intervalNanos, long expirations) {
    }

    /** An epoll instance: its open file and its interest list in the order the entries were added. */
    public record EpollState(int file, List<EpollEntry> entries) {
        public EpollState {
            entries = List.copyOf(entries);
        }
    }

    /**
     * One registration of an epoll instance (the fd and the open file it named when added).
     *
     * @param events      the events mask as epoll_ctl set it (EPOLLET, EPOLLONESHOT...); a
     *                    one-shot entry that fired keeps only its flag bits until EPOLL_CTL_MOD
     * @param edgePending an edge-triggered entry has an event not yet reported
     */
    public record EpollEntry(int fd, int file, int events, long data, boolean edgePending) {
    }

    /**
     * An open file description (what POSIX calls the object an fd refers to): shared by
     * dup'd descriptors, so they share one offset.
     *
     * @param id          identifier referenced by {@link FdState#fileId()}
     * @param kind        what it is
     * @param path        path inside the guest root, as resolved at open time ("" for stdio)
     * @param flags       Linux open flags as the guest passed them (O_ACCMODE, O_APPEND, ...)
     * @param mode        creation mode the guest passed
     * @param offset      current file offset
     * @param fingerprint what the file looked like when the state was captured
     * @param locks       the locks held through this open file description, taken again on restore
     * @param content     a /proc file's bytes as generated at open, a memfd's or a deleted file's bytes (empty for every other kind)
     */
    public record OpenFileState(int id, FileKind kind, String path, int flags, int mode, long offset,
                                FileFingerprint fingerprint, List<FileLock> locks, byte[] content) {
        public OpenFileState {
            locks = List.copyOf(locks);
            content = content == null ? new byte[0] : content.clone();
        }

        /** A file holding no lock, with no generated content. */
        public OpenFileState(int id, FileKind kind, String path, int flags, int mode, long offset,
                             FileFingerprint fingerprint) {
            this(id, kind, path, flags, mode, offset, fingerprint, List.of(), new byte[0]);
        }

        /** A file holding {@code locks}. */
        public OpenFileState(int id, FileKind kind, String path, int flags, int mode, long offset,
                             FileFingerprint fingerprint, List<FileLock> locks) {
            this(id, kind, path, flags, mode, offset, fingerprint, locks, new byte[0]);
        }

        /** A /proc file with the bytes it was generated with. */
        public OpenFileState(int id, FileKind kind, String path, int flags, int mode, long offset,
                             FileFingerprint fingerprint, byte[] content) {
            this(id, kind, path, flags, mode, offset, fingerprint, List.of(), content);
        }

        @Override
        public byte[] content() {
            return content.clone();
        }

        /** Value equality, the content compared byte for byte. */
        @Override
        public boolean equals(Object o) {
            return o instanceof OpenFileState f && id == f.id && kind == f.kind && path.equals(f.path) && flags == f.flags
                    && mode == f.mode && offset == f.offset && fingerprint.equals(f.fingerprint) && locks.equals(f.locks)
                    && java.util.Arrays.equals(content, f.content);
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(id, kind, path, flags, mode, offset, fingerprint, locks) * 31
                    + java.util.Arrays.hashCode(content);
        }

        @Override
        public String toString() {
            return "OpenFileState[id=" + id + ", kind=" + kind + ", path=" + path + ", flags=" + flags + ", mode=" + mode
                    + ", offset=" + offset + ", fingerprint=" + fingerprint + (locks.isEmpty() ? "" : ", locks=" + locks)
                    + (content.length == 0 ? "" : ", content=" + content.length + " bytes") + "]";
        }
    }

    /** Who a lock belongs to, which decides what releases it and with whom it conflicts. */
    public enum LockOwner {
        /** fcntl F_SETLK: the process's (all its descriptors of the file share it). */
        POSIX,
        /** fcntl F_OFD_SETLK: the open file description's. */
        OFD,
        /** flock(2): the open file description's, always the whole file. */
        FLOCK
    }

    /**
     * A lock held on a file, as the host reports it.
     *
     * @param owner  POSIX, OFD or flock
     * @param write  a write (exclusive) lock; else a read (shared) one
     * @param start  first byte, from the start of the file (the guest's whence already applied)
     * @param length how many bytes; 0 means to the end of the file, however long it grows
     */
    public record FileLock(LockOwner owner, boolean write, long start, long length) {
    }

    /**
     * Identity of a file's content at capture time, checked before it is re-opened.
     * Content is compared by checksum, not just size and time.
     */
    public record FileFingerprint(long size, long mtimeNanos, int crc32c) {
        public static final FileFingerprint NONE = new FileFingerprint(-1, 0, 0);
    }

    /** One slot of the fd table. */
    public record FdState(int fd, int fileId, boolean closeOnExec) {
    }
}
