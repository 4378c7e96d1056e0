package dev.scratchvm.linux;

import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.FileLock;
import dev.scratchvm.state.KernelState.Mapping;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.sys.NativeException;
import dev.scratchvm.sys.Wakeup;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Linux personality the guest program talks to: a dispatch table of system call
 * handlers over the guest's memory, address space, file descriptors and root
 * directory. Its state is captured as a {@link KernelState} and rebuilt from one.
 */
public final class LinuxKernel implements AutoCloseable {
    private final GuestArgs args;
    private final GuestRoot root;
    private final Trace trace;
    private final FdTable fds = new FdTable();
    private final AddressSpace space;
    private final ProcessCalls process;
    private final SyscallTable table = new SyscallTable();
    private final Signals signals;
    private final Timers timers;
    private final GuestCpuClock cpuClock = new GuestCpuClock();
    private final SignalDelivery delivery;
    private final FileCalls files;
    private final TimeCalls time;
    private final Limits limits;
    private final UtsCalls uts;
    /** Cuts the guest's blocking calls short when the VMM needs the vCPU (a pause). */
    private final Wakeup wakeup = new Wakeup();
    private final Waits waits = new Waits(wakeup);
    /** What all the guest's pipes may hold. */
    private final PipeBudget pipes = new PipeBudget();
    /** Fingerprints of open files from earlier captures, for captures while no file is mapped shared. */
    private final FingerprintCache fingerprints = new FingerprintCache();

    private LinuxKernel(GuestMemory memory, GuestRoot root, Trace trace, CpuAccess cpu, AddressSpace space,
                        List<KernelState.SignalAction> actions, KernelState.SignalState signalState) {
        this.signals = new Signals(actions, signalState);
        this.timers = new Timers(() -> {
            cpu.interruptGuest();
            wakeup.wake();
        }, cpuClock, signalState.timers());
        this.args = new GuestArgs(memory, space);
        this.root = root;
        this.trace = trace;
        this.space = space;
        long stackSize = memory.size() - space.mmapTop() - GuestMemory.PAGE_SIZE;
        ProcFs proc = new ProcFs(new ProcFiles(memory, space, root, signals, this::umask, cpu::cpuid), fds, root);
        FileCalls files = new FileCalls(args, fds, root, trace, signals, wakeup, waits, proc);
        this.files = files;
        files.register(table);
        new MetadataCalls(args, root, files).register(table);
        new ExtentCalls(args, files, wakeup).register(table);
        new MemoryCalls(args, space, files, trace).register(table);
        this.process = new ProcessCalls(args, cpu, trace);
        process.register(table);
        this.limits = new Limits(args, fds, memory.size(), stackSize);
        limits.register(table);
        this.uts = new UtsCalls(args);
        uts.register(table);
        new MemfdCalls(args, fds).register(table);
        this.time = new TimeCalls(args, wakeup);
        time.register(table);
        this.delivery = new SignalDelivery(signals, timers, new SignalFrames(args, cpu, space.mmapTop()), cpu, time, trace);
        new SignalCalls(args, cpu, signals, delivery, wakeup).register(table);
        new TimerCalls(args, timers, signals).register(table);
        new SignalFdCalls(args, fds, files, signals, delivery, trace).register(table);
        new ChannelCalls(args, fds, files, trace, pipes).register(table);
        new WaitCalls(args, fds, files, time, waits).register(table);
        table.registerControl(Nr.EXIT, "exit", this::exit);
        table.registerControl(Nr.EXIT_GROUP, "exit_group", this::exit);
    }

    /** A fresh process: stdio on fd 0-2, break at the end of the program image. */
    public static LinuxKernel boot(GuestMemory memory, GuestRoot root, Trace trace, CpuAccess cpu, Stdio stdio,
                                   long imageEnd, long stackBottom) {
        long mmapTop = stackBottom - GuestMemory.PAGE_SIZE; // one guard page below the stack
        AddressSpace space = new AddressSpace(memory, imageEnd, imageEnd, imageEnd, mmapTop, List.of());
        LinuxKernel kernel = new LinuxKernel(memory, root, trace, cpu, space, List.of(),
                KernelState.SignalState.NONE);
        for (int fd = 0; fd < 3; fd++) kernel.fds.installAt(fd, OpenFile.stdio(fd, stdio), false);
        return kernel;
    }

    /** Names the process after the file it was started from, as execve does (prctl PR_GET_NAME shows it). */
    public void nameAfter(String execfn) {
        process.name = ProcessCalls.commOf(execfn);
    }

    /** Rebuilds the kernel from saved state, re-opening every file; refuses if one is missing or changed. */
    public static LinuxKernel restore(GuestMemory memory, GuestRoot root, Trace trace, CpuAccess cpu, Stdio stdio,
                                      KernelState state) throws KernelRestoreException {
        AddressSpace space = new AddressSpace(memory, state.brkStart(), state.brk(), state.mmapBase(), state.mmapTop(),
                state.mappings());
        LinuxKernel kernel = new LinuxKernel(memory, root, trace, cpu, space, state.signalActions(),
                state.signals());
        kernel.process.clearChildTid = state.clearChildTid();
        kernel.process.robustList = state.robustList();
        kernel.files.umask = state.umask();
        kernel.time.restart = state.restart();
        kernel.process.name = state.processName().getBytes(StandardCharsets.ISO_8859_1);
        kernel.process.dumpable = state.dumpable();
        kernel.uts.hostname = state.hostname().getBytes(StandardCharsets.ISO_8859_1);
        kernel.uts.domainname = state.domainname().getBytes(StandardCharsets.ISO_8859_1);
        root.setCwd(state.cwd());
        Map<Integer, OpenFile> files = new java.util.HashMap<>();
        try {
            kernel.limits.restore(state.resourceLimits());
            Map<Integer, VirtualFile> objects = VirtualFiles.rebuild(state, kernel.pipes, kernel.signals, kernel.delivery);
            for (OpenFileState f : state.files()) {
                VirtualFile v = objects.get(f.id());
                files.put(f.id(), v != null ? new OpenFile(v, f.kind(), f.flags()) : reopen(root, stdio, f));
            }
            for (FdState fd : state.fds()) {
                OpenFile f = files.get(fd.fileId());
                if (f == null) throw new KernelRestoreException("fd " + fd.fd() + " refers to unknown open file " + fd.fileId());
                if (fd.fd() < 0 || fd.fd() >= FdTable.MAX_FDS) {
                    throw new KernelRestoreException("fd " + fd.fd() + " is outside the fd table (0 to " + (FdTable.MAX_FDS - 1) + ")");
                }
                kernel.fds.installAt(fd.fd(), f, fd.closeOnExec());
            }
            space.restoreShared(files);
            VirtualFiles.restoreInterest(state, files);
            // Last, once every file is open again: closing one of them would drop POSIX locks taken before.
            for (OpenFileState s : state.files()) {
                if (!s.locks().isEmpty() && (files.get(s.id()).isStdio() || files.get(s.id()).virtual != null
                        || (s.flags() & Libc.O_PATH) != 0)) {
                    throw new KernelRestoreException("file " + s.id() + " holds locks but is standard I/O, O_PATH or a "
                            + s.kind());
                }
                for (FileLock lock : s.locks()) {
                    if (lock.owner() == KernelState.LockOwner.POSIX) kernel.fds.usesPosixLocks();
                    else kernel.fds.usesLocks();
                    HostLocks.take(files.get(s.id()).hostFd, lock, s.path());
                }
            }
        } catch (KernelRestoreException | RuntimeException e) {
            // Installed files are closed by the table, the others here; each host fd exactly once.
            kernel.fds.closeAll();
            space.releaseFiles();
            for (OpenFile f : files.values()) f.closeHostFd();
            kernel.timers.close();
            kernel.wakeup.close();
            throw e;
        }
        return kernel;
    }

    private static OpenFile reopen(GuestRoot root, Stdio stdio, OpenFileState s) throws KernelRestoreException {
        return switch (s.kind()) {
            case STDIN -> OpenFile.stdio(0, stdio);
            case STDOUT -> OpenFile.stdio(1, stdio);
            case STDERR -> OpenFile.stdio(2, stdio);
            case PIPE, EVENTFD, TIMERFD, EPOLL, SIGNALFD -> throw new KernelRestoreException("open file " + s.id() + " is a " + s.kind()
                    + " with no record describing it");
            case GHOST -> {
                // Unlinked again, and a regular file to the guest as before.
                int hostFd = GhostFiles.recreate(root, s);
                if (hostFd < 0) throw new KernelRestoreException("cannot re-create the deleted file " + s.path() + ": "
                        + Libc.strerror(-hostFd));
                yield new OpenFile(hostFd, FileKind.REGULAR, s.path(), s.flags(), s.mode());
            }
            case PROC, MEMFD -> {
                // /proc: the bytes generated at open, not a new generation: a read goes on where it was.
                // memfd: the bytes it held, in a new in-memory file.
                int hostFd = ProcFs.memoryFile(s.content(), s.offset());
                if (hostFd < 0) throw new KernelRestoreException("cannot hold " + s.path() + ": " + Libc.strerror(-hostFd));
                yield new OpenFile(hostFd, s.kind(), s.path(), s.flags(), s.mode());
            }
            case REGULAR, DIRECTORY, DEVICE -> {
                // Never repeat the open's side effects: no O_CREAT, O_EXCL or O_TRUNC the second time.
                int flags = s.flags() & ~(Libc.O_CREAT | Libc.O_EXCL | Libc.O_TRUNC);
                int hostFd = root.open(s.path(), flags, 0);
                if (hostFd < 0) throw new KernelRestoreException("cannot reopen " + s.path() + ": " + Libc.strerror(-hostFd));
                try {
                    boolean pathOnly = (s.flags() & Libc.O_PATH) != 0;
                    if (s.kind() == FileKind.REGULAR && !pathOnly) checkUnchanged(hostFd, s);
                    if (s.kind() != FileKind.DEVICE && !pathOnly && Libc.lseek(hostFd, s.offset(), Libc.SEEK_SET) < 0) {
                        throw new KernelRestoreException("cannot seek " + s.path() + " to offset " + s.offset());
                    }
                } catch (KernelRestoreException | RuntimeException e) {
                    Libc.close(hostFd);
                    throw e;
                }
                yield new OpenFile(hostFd, s.kind(), s.path(), s.flags(), s.mode());
            }
        };
    }

    private static void checkUnchanged(int hostFd, OpenFileState s) throws KernelRestoreException {
        FileFingerprint saved = s.fingerprint(), now = FileFingerprints.of(hostFd);
        if (saved.size() != now.size()) {
            throw new KernelRestoreException("file " + s.path() + " changed since the VM was saved (size " + now.size()
                    + ", expected " + saved.size() + ")");
        }
        if (saved.crc32c() != now.crc32c()) {
            throw new KernelRestoreException("file " + s.path() + " changed since the VM was saved (same size, different content)");
        }
    }

    /** System call number of the guest's SAVE request (guest/include/scratchvm.h). */
    public static final long SYS_SAVE = 0x5c00;

    /** Runs one system call: its result, or what else the vCPU must do. */
    public Control syscall(Call call) {
        if (call.nr() == SYS_SAVE) return new Control.Save();
        SyscallTable.Entry entry = table.lookup(call.nr());
        if (entry == null) {
            trace.other("SYSCALL " + call.nr() + " (not implemented)", -Errno.ENOSYS);
            return new Control.Return(-Errno.ENOSYS);
        }
        long result;
        delivery.callStarts();
        try {
            if (entry.control() != null) return entry.control().handle(call);
            result = entry.handler().handle(call);
        } catch (SyscallError e) {
            result = -e.errno;
        } catch (Interrupted i) {
            if (trace.all()) trace.event(entry.name().toUpperCase() + " interrupted, restarts as " + i.restartNr);
            delivery.callInterrupted(i.restart);
            return new Control.Restart(i.restartNr);
        }
        if (!entry.selfTraced() && trace.all()) {
            trace.other(entry.name().toUpperCase() + " " + Long.toHexString(call.a0()) + " " + Long.toHexString(call.a1())
                    + " " + Long.toHexString(call.a2()), result);
        }
        return new Control.Return(result);
    }

    /** The dispatch table, for the compatibility report generated from it. */
    SyscallTable table() {
        return table;
    }

    /** The file mode creation mask, for /proc/self/status. */
    private int umask() {
        return files.umask;
    }

    private Control exit(Call call) {
        int status = (int) (call.a0() & 0xff);
        trace.event("EXIT " + status);
        return new Control.Exit(status);
    }

    /**
     * The guest is about to run for the first time in this VMM: restored timerfds start
     * counting their remaining time now, so the time spent restoring (or migrating) does not
     * count, as it does not for a sleep the guest finishes through restart_syscall.
     */
    public void startClocks() {
        for (int fd : fds.openFds()) if (fds.file(fd).virtual instanceof TimerFd t) t.thaw();
    }

    /** Cuts short whatever host wait the guest's current call is in, now or when it starts. */
    public Wakeup wakeup() {
        return wakeup;
    }

    /**
     * Captures the kernel state. Offsets and fingerprints are read from the host now, and
     * paths are re-resolved now, so a file renamed while open is saved under its new name.
     *
     * @throws KernelRestoreException when a file cannot be described (e.g. deleted while open)
     */
    public KernelState capture() throws KernelRestoreException {
        Map<OpenFile, Integer> ids = new java.util.LinkedHashMap<>(); // in id order; OpenFile has identity equality
        Map<OpenFile, List<FileLock>> locks = new IdentityHashMap<>();
        // Locks first: fingerprinting a write-only file opens and closes a second descriptor of
        // it, which drops the process's POSIX locks on it; they are taken again below. A guest
        // that never locked holds none: no need to ask the host.
        List<OpenFile> mapped = new ArrayList<>();
        for (Mapping m : space.mappings()) if (m.shared()) mapped.add(space.sharedFile(m.start()));
        // Stores through a shared mapping may change a file without changing its timestamps.
        FingerprintCache cache = mapped.isEmpty() ? fingerprints : null;
        for (int fd : fds.locksUsed() ? fds.openFds() : List.<Integer>of()) {
            OpenFile f = fds.file(fd);
            if (!f.isStdio() && f.virtual == null && !locks.containsKey(f)) locks.put(f, HostLocks.held(f.hostFd));
        }
        // A file the guest mapped and then closed still holds the OFD locks and flocks taken through it.
        for (OpenFile f : fds.locksUsed() ? mapped : List.<OpenFile>of()) {
            if (!locks.containsKey(f)) locks.put(f, HostLocks.held(f.hostFd));
        }
        List<OpenFileState> files = new ArrayList<>();
        List<FdState> fdStates = new ArrayList<>();
        Map<List<Long>, Integer> ghosts = new java.util.HashMap<>(); // deleted files by {st_dev, st_ino}: the guest fd
        for (int fd : fds.openFds()) {
            FdTable.Slot slot = fds.get(fd);
            OpenFile f = slot.file();
            Integer id = ids.get(f);
            if (id == null) {
                id = ids.size();
                ids.put(f, id);
                files.add(describe(id, fd, f, locks.getOrDefault(f, List.of()), ghosts, cache));
            }
            fdStates.add(new FdState(fd, id, slot.closeOnExec()));
        }
        // Shared file mappings name their file; one the guest has closed is saved without an fd.
        List<Mapping> mappings = new ArrayList<>();
        for (Mapping m : space.mappings()) {
            if (m.shared()) {
                OpenFile f = space.sharedFile(m.start());
                Integer id = ids.get(f);
                if (id == null) {
                    id = ids.size();
                    ids.put(f, id);
                    files.add(describe(id, -1, f, locks.getOrDefault(f, List.of()), ghosts, cache));
                }
                m = new Mapping(m.start(), m.length(), m.prot(), id, m.fileOffset(), true);
            }
            mappings.add(m);
        }
        for (Map.Entry<OpenFile, List<FileLock>> e : locks.entrySet()) {
            for (FileLock lock : e.getValue()) {
                if (lock.owner() == KernelState.LockOwner.POSIX) HostLocks.take(e.getKey().hostFd, lock, e.getKey().path);
            }
        }
        VirtualFiles.Captured objects = VirtualFiles.capture(ids);
        return new KernelState(space.brkStart(), space.brk(), space.mmapBase(), space.mmapTop(), mappings,
                root.cwd(), process.clearChildTid, process.robustList, files, fdStates, signals.actions(),
                this.files.umask, time.restart, new String(process.name, StandardCharsets.ISO_8859_1), process.dumpable,
                signals.capture(timers.capture()), limits.changed(), new String(uts.hostname, StandardCharsets.ISO_8859_1),
                new String(uts.domainname, StandardCharsets.ISO_8859_1), objects.pipes(), objects.eventFds(), objects.timerFds(),
                objects.epolls(), objects.signalFds());
    }

    /** Names what holds a file in a refusal: a guest fd, or (fd -1) only a shared mapping. */
    private static String who(int fd) {
        return fd < 0 ? "a file mapped shared" : "guest fd " + fd;
    }

    private OpenFileState describe(int id, int fd, OpenFile f, List<FileLock> locks, Map<List<Long>, Integer> ghosts,
                                   FingerprintCache cache) throws KernelRestoreException {
        if (f.isStdio() || f.virtual != null) return new OpenFileState(id, f.kind, "", f.flags, 0, 0, FileFingerprint.NONE);
        if (f.kind == FileKind.PROC) {
            long offset = Libc.lseek(f.hostFd, 0, Libc.SEEK_CUR);
            if (offset < 0) throw new KernelRestoreException(who(fd) + ": cannot read its offset");
            return new OpenFileState(id, f.kind, f.path, f.flags, f.mode, offset, FileFingerprint.NONE,
                    ProcFs.readAll(f.hostFd));
        }
        if (f.kind == FileKind.MEMFD) {
            long size = MemfdCalls.size(f.hostFd), offset = Libc.lseek(f.hostFd, 0, Libc.SEEK_CUR);
            if (size < 0 || offset < 0) throw new KernelRestoreException("guest fd " + fd + " (" + f.path + "): cannot read its size or offset");
            if (size > MemfdCalls.MAX_SAVED_BYTES) {
                throw new KernelRestoreException("guest fd " + fd + " (" + f.path + ") holds " + size + " bytes; a memfd of at most "
                        + MemfdCalls.MAX_SAVED_BYTES + " bytes can be saved");
            }
            return new OpenFileState(id, f.kind, f.path, f.flags, f.mode, offset, FileFingerprint.NONE, ProcFs.readAll(f.hostFd));
        }
        String path = f.kind == FileKind.DEVICE ? f.path : root.guestPathOf(f.hostFd);
        if (path == null && f.kind == FileKind.REGULAR && (f.flags & Libc.O_PATH) == 0) {
            long[] st = GhostFiles.stat(f.hostFd);
            if (st != null && st[0] == 0) {
                // Each saved one becomes a file of its own: two descriptions of one would come back apart.
                Integer other = ghosts.putIfAbsent(List.of(st[3], st[4]), fd);
                if (other != null) {
                    throw new KernelRestoreException(who(fd) + " (" + f.path + ") and " + who(other) + " are two opens of one "
                            + "deleted file; a deleted file can be saved through one open file description only");
                }
                return ghost(id, fd, f, locks, st);
            }
        }
        if (path == null) {
            throw new KernelRestoreException(who(fd) + " (" + f.path + ") was deleted or moved outside the root while open");
        }
        // An O_PATH descriptor names a file without opening it: no offset, no content to check.
        boolean pathOnly = (f.flags & Libc.O_PATH) != 0;
        long offset = f.kind == FileKind.DEVICE || pathOnly ? 0 : Libc.lseek(f.hostFd, 0, Libc.SEEK_CUR);
        if (offset < 0) throw new KernelRestoreException(who(fd) + ": cannot read its offset");
        FileFingerprint fp;
        try {
            fp = f.kind != FileKind.REGULAR || pathOnly ? FileFingerprint.NONE
                    : cache != null ? cache.of(f.hostFd) : FileFingerprints.of(f.hostFd);
        } catch (NativeException e) {
            throw new KernelRestoreException(who(fd) + " (" + path + "): cannot read the file to fingerprint it: "
                    + e.getMessage());
        }
        return new OpenFileState(id, f.kind, path, f.flags, f.mode, offset, fp, locks);
    }

    /** A regular file deleted while open: saved with its bytes and permission bits, under the path it was opened by. */
    private static OpenFileState ghost(int id, int fd, OpenFile f, List<FileLock> locks, long[] st) throws KernelRestoreException {
        String what = who(fd) + " (" + f.path + ")";
        long offset = Libc.lseek(f.hostFd, 0, Libc.SEEK_CUR);
        if (offset < 0) throw new KernelRestoreException(what + ": cannot read its offset");
        byte[] content = GhostFiles.content(f.hostFd, what);
        return new OpenFileState(id, FileKind.GHOST, f.path, f.flags, (int) st[2] & 07777, offset, FileFingerprint.NONE,
                locks, content);
    }

    /**
     * Fingerprints the open regular files into the capture's cache ahead of a capture that
     * must be quick (a live migration's stop). Call on the vCPU thread; the returned task may
     * run on any thread while the guest goes on: what changes afterwards is read again at the
     * capture. It reads through the guest's own descriptors and opens or closes none (closing
     * any descriptor of a file drops the process's POSIX locks on it), so write-only files are
     * left to the capture; a descriptor the guest closes meanwhile fails the read or names
     * another file, which the cache notices (it compares the file before and after).
     */
    public Runnable fingerprintAhead() {
        List<Integer> hostFds = new ArrayList<>();
        for (int fd : fds.openFds()) {
            OpenFile f = fds.file(fd);
            if (f.kind != FileKind.REGULAR || f.isStdio() || f.virtual != null) continue;
            int access = f.flags & Libc.O_ACCMODE;
            if ((f.flags & Libc.O_PATH) != 0 || access == Libc.O_WRONLY) continue;
            hostFds.add(f.hostFd);
        }
        return () -> {
            for (int hostFd : hostFds) {
                try {
                    fingerprints.of(hostFd);
                } catch (RuntimeException ignored) {
                    // The capture reads it itself, and reports what is wrong.
                }
            }
        };
    }

    /** Host fds of the open regular files, by guest path (for shipping file contents on migration). */
    public Map<String, Integer> regularFiles() {
        Map<String, Integer> out = new java.util.LinkedHashMap<>();
        for (int fd : fds.openFds()) {
            OpenFile f = fds.file(fd);
            if (f.kind == FileKind.REGULAR) out.putIfAbsent(f.path, f.hostFd);
        }
        return out;
    }

    /**
     * Whether a timer expired since signals were last delivered: a volatile read, for the
     * run loop to ask before every guest run.
     */
    public boolean signalsDue() {
        return delivery.due();
    }

    /**
     * The guest is about to run: timers restored from a saved state start counting down now,
     * so the time the restore took does not count against them.
     */
    public void startTimers() {
        cpuClock.bindToCurrentThread();
        timers.start();
    }

    /** The vCPU enters the guest (KVM_RUN): the guest's user time runs. Cheap unless ITIMER_VIRTUAL was armed. */
    public void guestEnters() {
        cpuClock.enter();
    }

    /** The vCPU is back from the guest. */
    public void guestLeaves() {
        cpuClock.leave();
    }

    /**
     * Delivers the pending signals that are not blocked, with the vCPU's registers as the
     * program would resume (after a system call: its result in place, or set up to be made
     * again): handlers get their frames, ignored signals are dropped.
     *
     * @return the signal whose default action ends the process, or 0 to run on
     */
    public int deliverSignals() {
        return delivery.deliver();
    }

    /**
     * The program faulted (the vCPU's registers are back at the faulting instruction):
     * sends it {@code signal} with the fault's details, to a handler if it has one.
     *
     * @param code    si_code (SEGV_MAPERR, ...)
     * @param address si_addr and, for a page fault, the sigcontext's cr2
     * @param vector  the exception vector (the sigcontext's trapno)
     * @param error   the exception's error code
     * @return the signal that ends the process, or 0 when a handler runs
     */
    public int deliverFault(int signal, int code, long address, int vector, long error) {
        // A page fault's si_code is the address space's answer, not the CPU's: a PROT_NONE page is
        // absent from the page tables, yet Linux says SEGV_ACCERR for it since a mapping is there.
        if (vector == PAGE_FAULT && signal == Signals.SIGSEGV) {
            code = space.protectionAt(address) == AddressSpace.UNMAPPED ? SEGV_MAPERR : SEGV_ACCERR;
        }
        return delivery.deliverFault(signal, code, new SignalFrames.Fault(vector, error, address));
    }

    private static final int PAGE_FAULT = 14, SEGV_MAPERR = 1, SEGV_ACCERR = 2;

    /** The protections of the program's pages, which the page tables follow. */
    public dev.scratchvm.memory.Protections protections() {
        return space;
    }

    /** What changed in the protections since the last call, or null: the page tables to rewrite. */
    public ProtectionChange takeProtectionChanges() {
        return space.takeChanged();
    }

    public GuestRoot root() {
        return root;
    }

    /** Closes every guest fd (the VMM's own stdio stays open). */
    @Override
    public void close() {
        timers.close();
        fds.closeAll();
        space.releaseFiles();
        wakeup.close();
    }
}
