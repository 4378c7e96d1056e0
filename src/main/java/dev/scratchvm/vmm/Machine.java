package dev.scratchvm.vmm;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.boot.ElfException;
import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.boot.LongMode;
import dev.scratchvm.boot.PageTables;
import dev.scratchvm.boot.ProgramLoader;
import dev.scratchvm.image.StateRules;
import dev.scratchvm.kvm.DirtyLog;
import dev.scratchvm.kvm.Kvm;
import dev.scratchvm.kvm.KvmException;
import dev.scratchvm.kvm.Vcpu;
import dev.scratchvm.kvm.VcpuRegisters;
import dev.scratchvm.kvm.TranslationFlush;
import dev.scratchvm.kvm.Vm;
import dev.scratchvm.kvm.VmExit;
import dev.scratchvm.linux.Call;
import dev.scratchvm.linux.Control;
import dev.scratchvm.linux.CpuAccess;
import dev.scratchvm.linux.GuestRoot;
import dev.scratchvm.linux.KernelRestoreException;
import dev.scratchvm.linux.LinuxKernel;
import dev.scratchvm.linux.Signals;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.MemoryState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.x86.Registers;
import dev.scratchvm.x86.Xcr;

import java.util.List;

import static dev.scratchvm.kvm.VcpuRegisters.Gpr.R10;
import static dev.scratchvm.kvm.VcpuRegisters.Gpr.R11;
import static dev.scratchvm.kvm.VcpuRegisters.Gpr.R8;
import static dev.scratchvm.kvm.VcpuRegisters.Gpr.R9;
import static dev.scratchvm.kvm.VcpuRegisters.Gpr.RAX;
import static dev.scratchvm.kvm.VcpuRegisters.Gpr.RCX;
import static dev.scratchvm.kvm.VcpuRegisters.Gpr.RDI;
import static dev.scratchvm.kvm.VcpuRegisters.Gpr.RDX;
import static dev.scratchvm.kvm.VcpuRegisters.Gpr.RFLAGS;
import static dev.scratchvm.kvm.VcpuRegisters.Gpr.RIP;
import static dev.scratchvm.kvm.VcpuRegisters.Gpr.RSI;

/**
 * One micro-VM: a KVM VM with one vCPU, its guest memory, and the Linux personality
 * serving the program's system calls. {@link #run()} drives the vCPU until the program
 * exits, asks to be saved, or faults; {@link #capture()} and {@link #restore} are the
 * two halves of the persist pattern.
 */
public final class Machine implements AutoCloseable {
    private final Kvm kvm;
    private final Vm vm;
    private final Vcpu vcpu;
    private final GuestMemory memory;
    private final MachineConfig config;
    private final List<CpuidEntry> cpuid;
    private final List<Integer> msrs;
    private LinuxKernel kernel;
    private final VcpuRegisters regs;
    /**
     * Whether SYSCALL took the guest to ring 0, as it does on VMX/SVM hardware (CS = STAR's
     * kernel selector). On the software platform here CPL stays 3 and nothing needs fixing;
     * on hardware, every completion must put CS/SS back at ring 3 as SYSRET would. Learned
     * from the first system call, so the common case costs no extra work per call.
     */
    private Boolean syscallEntersRing0;
    /** Wall-clock time (ns since the epoch) of the first KVM_RUN, for start-up measurements. */
    private long firstEntryEpochNanos;
    /** The thread that runs the guest (kernel tid), once it has; what {@link #kick} signals. */
    private volatile int vcpuTid;
    /** A kick not yet answered by {@link #run} returning {@link Outcome.Interrupted}. */
    private volatile boolean kicked;
    /** System calls served; read by other threads for status, so only ever written by the vCPU thread. */
    private volatile long syscalls;
    /** KVM's log of guest writes (null when the config turned it off); merged into memory.dirtyPages(). */
    private DirtyLog dirtyLog;
    /** The image this machine's memory equals apart from its dirty pages: a diff's parent (vmm.Snapshots). */
    private SnapshotParent snapshotParent;
    /** Picks the completed system calls after which {@link #run} stops; null: never. Only the vCPU thread uses it. */
    private java.util.function.Predicate<Call> stopAfter;
    /** The program's page tables, following the kernel's address space (built once the kernel exists). */
    private PageTables pageTables;
    /** Created at the first change of the page tables. */
    private TranslationFlush translationFlush;

    private Machine(Kvm kvm, Vm vm, Vcpu vcpu, GuestMemory memory, MachineConfig config, List<CpuidEntry> cpuid) {
        this.kvm = kvm;
        this.vm = vm;
        this.vcpu = vcpu;
        this.memory = memory;
        this.config = config;
        this.cpuid = cpuid;
        this.msrs = VcpuStates.savableMsrs(kvm);
        if (kvm.checkExtension(Kvm.CAP_SYNC_REGS) == 0) throw new IllegalStateException("KVM lacks KVM_CAP_SYNC_REGS");
        this.regs = vcpu.registers();
    }

    /** Creates a VM and loads a program into it; the vCPU is ready at the ELF entry point in ring 3. */
    public static Machine boot(MachineConfig config, ElfImage elf, List<String> argv, List<String> env, String execfn,
                               byte[] random16) throws ElfException {
        Kvm kvm = Kvm.open();
        GuestMemory memory = null;
        Vm vm = null;
        Vcpu vcpu = null;
        GuestRoot root = null;
        DirtyLog log = null;
        try {
            memory = GuestMemory.allocate(config.memorySize(), BootLayout.GUEST_BASE);
            vm = kvm.createVm();
            log = registerMemory(vm, memory, config);
            vcpu = vm.createVcpu(0);
            List<CpuidEntry> cpuid = kvm.supportedCpuid();
            Machine m = new Machine(kvm, vm, vcpu, memory, config, cpuid);
            m.dirtyLog = log;
            m.setUpCpu();
            int[] ids = dev.scratchvm.sys.Libc.ids();
            long stackSize = Math.min(8L << 20, config.memorySize() / 8) & ~0xfffL;
            var program = ProgramLoader.load(memory, elf, argv, env, execfn, random16,
                    new ProgramLoader.ProcessIdentity(ids[0], ids[1], ids[2], ids[3], CpuFeatures.hwcap(cpuid)), stackSize);
            root = GuestRoot.open(config.root());
            m.kernel = LinuxKernel.boot(memory, root, config.trace(), m.new Cpu(), config.stdio(),
                    program.imageEnd(), program.stackBottom());
            m.kernel.nameAfter(execfn);
            m.buildPageTables();
            m.regs.setRegs(Registers.atEntry(program.entry(), program.stackPointer()));
            return m;
        } catch (RuntimeException | ElfException e) {
            cleanUp(kvm, vm, vcpu, memory, root, log);
            throw e;
        }
    }

    private void setUpCpu() {
        LongMode.writeTables(memory);
        LongMode.configure(vcpu, cpuid, CpuFeatures.xcr0(cpuid));
    }

    /** Supplies guest memory contents on restore (from an image file or a migration stream). */
    @FunctionalInterface
    public interface MemoryLoader {
        void load(GuestMemory memory) throws Exception;
    }

    /** Thrown by {@link #restore} with a one-line reason; nothing is left running. */
    public static final class RestoreException extends Exception {
        public RestoreException(String message) {
            super(message);
        }
    }

    /**
     * Rebuilds a machine from saved state. CPU compatibility is checked first; files are
     * re-opened last, after everything else succeeded. The vCPU does not run until
     * {@link #run()} is called.
     */
    public static Machine restore(MachineConfig config, MachineState state, MemoryLoader loader) throws RestoreException {
        return restore(config, state, loader, null);
    }

    /**
     * A machine without a state yet: guest memory, the VM with that memory registered (and
     * logged), its vCPU. A live migration's server builds it before the rounds arrive, so that
     * what is left for the guest's downtime is only what depends on the state.
     */
    public static final class Shell implements AutoCloseable {
        private final Kvm kvm;
        private Vm vm;
        private Vcpu vcpu;
        private DirtyLog log;
        private GuestMemory memory;

        private Shell(Kvm kvm) {
            this.kvm = kvm;
        }

        public GuestMemory memory() {
            return memory;
        }

        @Override
        public void close() {
            cleanUp(kvm, vm, vcpu, memory, null, log);
        }
    }

    /** Builds a {@link Shell} of {@code memoryBytes} (checked by the caller) for {@link #restore(MachineConfig, MachineState, Shell)}. */
    public static Shell shell(MachineConfig config, long memoryBytes) {
        Shell s = new Shell(Kvm.open());
        try {
            s.memory = GuestMemory.allocate(memoryBytes, BootLayout.GUEST_BASE);
            s.vm = s.kvm.createVm();
            s.log = registerMemory(s.vm, s.memory, config);
            s.vcpu = s.vm.createVcpu(0);
            s.kvm.supportedCpuid();   // asked by the restore's CPU check: now, not while the guest waits
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * As {@link #restore(MachineConfig, MachineState, MemoryLoader)}, into a shell whose memory
     * was filled already (a live migration's rounds). The machine owns the shell from here on:
     * it is released if the restore fails.
     */
    public static Machine restore(MachineConfig config, MachineState state, Shell shell) throws RestoreException {
        if (shell.memory.size() != state.memory().size()) {
            shell.close();
            throw new RestoreException("guest memory of " + shell.memory.size() + " bytes for a VM of " + state.memory().size());
        }
        return restore(config, state, m -> { }, shell);
    }

    private static Machine restore(MachineConfig config, MachineState state, MemoryLoader loader, Shell shell)
            throws RestoreException {
        // Whatever the state came from (an image, a migration stream), it is input: check what it means first.
        String refused = StateRules.check(state);
        if (refused != null) {
            if (shell != null) shell.close();
            throw new RestoreException("saved state refused: " + refused);
        }
        Kvm kvm;
        kvm = shell != null ? shell.kvm : Kvm.open();
        GuestMemory memory = shell != null ? shell.memory : null;
        Vm vm = shell != null ? shell.vm : null;
        Vcpu vcpu = shell != null ? shell.vcpu : null;
        GuestRoot root = null;
        DirtyLog log = shell != null ? shell.log : null;
        try {
            List<String> missing = CpuFeatures.missing(state.vcpu().cpuid(), state.vcpu().xcrs(), kvm.supportedCpuid());
            if (!missing.isEmpty()) {
                throw new RestoreException("this host's CPU lacks features the saved VM uses: " + String.join(", ", missing));
            }
            if (memory == null) memory = GuestMemory.allocate(state.memory().size(), BootLayout.GUEST_BASE);
            loader.load(memory);
            // The VMM's own pages are not taken from the image: boot's, with the guard page where
            // boot put it, just above the mmap area (LinuxKernel.boot).
            LongMode.rewriteTables(memory, state.kernel().mmapTop());
            if (vm == null) {
                vm = kvm.createVm();
                log = registerMemory(vm, memory, config);
                vcpu = vm.createVcpu(0);
            }
            Machine m = new Machine(kvm, vm, vcpu, memory, config, state.vcpu().cpuid());
            m.dirtyLog = log;
            VcpuStates.restore(vcpu, state.vcpu());
            root = GuestRoot.open(config.root());
            m.kernel = LinuxKernel.restore(memory, root, config.trace(), m.new Cpu(), config.stdio(), state.kernel());
            // Derived from the saved mappings, never taken from the image.
            m.buildPageTables();
            return m;
        } catch (RestoreException e) {
            cleanUp(kvm, vm, vcpu, memory, root, log);
            throw e;
        } catch (KernelRestoreException e) {
            cleanUp(kvm, vm, vcpu, memory, root, log);
            throw new RestoreException(e.getMessage());
        } catch (Exception e) {
            cleanUp(kvm, vm, vcpu, memory, root, log);
            throw new RestoreException(e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    /** Registers guest memory as slot 0, with KVM logging the guest's writes unless the config says not to. */
    private static DirtyLog registerMemory(Vm vm, GuestMemory memory, MachineConfig config) {
        if (!config.dirtyLog()) {
            vm.setUserMemoryRegion(0, 0, memory.segment());
            return null;
        }
        DirtyLog log = vm.dirtyLog(0, memory.size() / GuestMemory.PAGE_SIZE);
        try {
            vm.setUserMemoryRegion(0, 0, memory.segment(), Vm.MEM_LOG_DIRTY_PAGES);
            log.fetch(new long[(int) ((log.pages() + 63) / 64)]);   // proves the host can log, before anything runs
        } catch (KvmException e) {
            log.close();
            throw new IllegalStateException("this host's KVM cannot log dirty pages, which diff snapshots need: " + e.getMessage());
        }
        return log;
    }

    /** KVM's dirty log of guest memory, or null when dirty logging is off. */
    public DirtyLog dirtyLog() {
        return dirtyLog;
    }

    /** The parent a diff snapshot of this machine would name, or null (set by vmm.Snapshots). */
    SnapshotParent snapshotParent() {
        return snapshotParent;
    }

    void snapshotParent(SnapshotParent parent) {
        this.snapshotParent = parent;
    }

    /** Releases what a failed boot or restore had built, the vCPU and the guest root included. */
    private static void cleanUp(Kvm kvm, Vm vm, Vcpu vcpu, GuestMemory memory, GuestRoot root, DirtyLog log) {
        if (root != null) root.close();
        if (log != null) log.close();
        if (vcpu != null) vcpu.close();
        if (vm != null) vm.close();
        if (memory != null) memory.close();
        kvm.close();
    }

    /** How this machine was built. */
    public MachineConfig config() {
        return config;
    }

    /** When the guest first ran in this VMM (ns since the epoch), or 0 if it has not yet. */
    public long firstEntryEpochNanos() {
        return firstEntryEpochNanos;
    }

    /**
     * Starts the guest's clocks if they have not started, as the first {@link #run} does: a
     * caller that must announce the start before the guest's first exit calls it just before.
     *
     * @return when the guest (first) started in this VMM, ns since the epoch
     */
    public long start() {
        if (firstEntryEpochNanos == 0) {
            java.time.Instant now = java.time.Instant.now();
            firstEntryEpochNanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
            kernel.startClocks();
        }
        return firstEntryEpochNanos;
    }

    public GuestMemory memory() {
        return memory;
    }

    public LinuxKernel kernel() {
        return kernel;
    }

    /**
     * Runs the guest until it exits, requests SAVE, can no longer run, or is kicked
     * ({@link Outcome.Interrupted}). Runs on the calling thread, which becomes the one
     * {@link #kick} interrupts.
     */
    private static final int SIGBUS = 7;

    public Outcome run() {
        int tid = Libc.gettid();
        if (tid != vcpuTid) {
            KickSignal.prepare(vcpu);
            vcpuTid = tid;
        }
        start();
        kernel.startTimers();
        // What became deliverable while the guest was not running (restored pending signals, a
        // timer that expired during a pause) is delivered before it runs on.
        if (!inVmmCode()) {
            Outcome o = deliverSignals();
            if (o != null) return o;
        }
        while (true) {
            if (kicked) {
                // A kick can land between the guest's SYSCALL and the stub's OUT: the vCPU is in
                // the VMM's own code then, no state to save. Let it reach its exit first.
                if (!inVmmCode()) return acknowledgeKick();
                vcpu.setImmediateExit(false);
                KickSignal.drain();
            }
            // A timer expired while the guest computed: deliver its signal at this instruction
            // boundary (in the VMM's stubs, the system call's completion delivers it instead).
            if (kernel.signalsDue() && !inVmmCode()) {
                Outcome o = deliverSignals();
                if (o != null) return o;
            }
            kernel.guestEnters();
            VmExit exit = vcpu.run();
            kernel.guestLeaves();
            switch (exit) {
                case VmExit.Io io when io.port() == BootLayout.SYSCALL_PORT && fromSyscallStub() -> {
                    Outcome o = syscall();
                    if (o != null) return o;
                }
                case VmExit.Io io when io.port() == BootLayout.EXCEPTION_PORT -> {
                    Outcome o = fault();
                    if (o != null) return o;
                }
                case VmExit.Interrupted i -> {
                    if (!kicked) dropStaleKick();
                }
                case VmExit.BadAddress b when memory.anyShared(memory.guestBase(), memory.size() - memory.guestBase()) -> {
                    // The guest touched a shared file page past the end of the file: SIGBUS on Linux.
                    config.trace().event("KILLED by SIGBUS");
                    return new Outcome.Killed(SIGBUS, "the program was killed by SIGBUS (a shared file mapping past the end of its file)");
                }
                default -> {
                    return new Outcome.Failed(exit.describe() + " at rip 0x" + Long.toHexString(regs.get(RIP))
                            + (config.verbose() ? "\n" + GuestFaults.registers(regs) : ""));
                }
            }
        }
    }

    /**
     * The program took a CPU exception: back to its registers in ring 3, as the exception
     * left them, then its signal (SIGSEGV, SIGFPE, ...) to its handler. Without one, or for
     * a fault in the VMM's own code, the VM ends with a report.
     */
    private Outcome fault() {
        GuestFaults.Fault f = GuestFaults.read(memory, regs);
        if (!f.inProgram()) return GuestFaults.describe(f, regs, config.verbose());
        regs.setRegs(f.programRegisters(regs.regs()));
        regs.setSregs(LongMode.backToRing3(regs.sregs()));
        if (spurious(f)) return null; // back to the faulting instruction, as the program left it
        int signal;
        try {
            signal = kernel.deliverFault(f.signal(), f.code(), f.address(), f.vector(), f.errorCode());
        } catch (RuntimeException e) {
            return new Outcome.Failed("internal error delivering a fault's signal: " + e.getMessage());
        }
        if (signal == 0) return null;
        Outcome.Killed report = (Outcome.Killed) GuestFaults.describe(f, regs, config.verbose());
        return signal == report.signal() ? report : new Outcome.Killed(signal, report.reason());
    }

    /**
     * Writes the program's page tables from the kernel's address space, before the vCPU first
     * runs here (nothing is cached yet, so no flush). NX bits only where EFER.NXE is on: an
     * image saved without it keeps running without (bit 63 would be reserved).
     */
    private void buildPageTables() {
        boolean nx = (regs.sregs().efer() & LongMode.EFER_NXE) != 0;
        pageTables = PageTables.build(memory, kernel.protections(), nx);
        kernel.takeProtectionChanges();
    }

    /**
     * After a system call that changed protections: rewrites the affected page-table entries
     * and makes KVM forget what it derived from the old ones (the program cannot INVLPG from
     * ring 3, and KVM keeps translations across exits: shadow pages on kvm_pvm, the VPID/ASID-
     * tagged TLB and paging-structure caches on VMX/SVM).
     * <ul>
     *   <li>A changed page-directory entry (a region split or joined, a 2 MiB page's rights)
     *       drops everything ({@link TranslationFlush}), gain or loss: KVM's shadow pages mirror
     *       the old structure, and a page table given back to the pool and reused for another
     *       region would otherwise be shadowed with the old region's translations.</li>
     *   <li>4 KiB entries that lost an access: KVM's mappings of exactly those pages are
     *       dropped (identity-mapped, so they are the stale translations) through the host's
     *       MMU notifier ({@link GuestMemory#dropHostTranslations}).</li>
     *   <li>4 KiB entries that only gained: nothing; a stale translation can only fault, and
     *       that fault is retried ({@link #spurious}).</li>
     * </ul>
     * A program that never changes its mappings never gets here.
     */
    private void updatePageTables() {
        var change = kernel.takeProtectionChanges();
        if (change == null) return;
        if (pageTables.update(change.from(), change.to())) {
            flushTranslations();
            return;
        }
        if (!change.reduced()) return;
        long from = Math.max(memory.guestBase(), change.from()), to = Math.min(memory.size(), change.to());
        if (from < to && !memory.dropHostTranslations(from, to - from)) flushTranslations();
    }

    private void flushTranslations() {
        if (translationFlush == null) translationFlush = new TranslationFlush(vm);
        translationFlush.flush();
    }

    private static final long PF_WRITE = 2, PF_FETCH = 0x10;

    /**
     * Whether a page fault is spurious: the protections allow the access now, and it faulted
     * only on a translation cached before they grew (the TLB of VMX/SVM hardware may keep one,
     * as Intel's SDM allows, since no flush follows a change that only adds accesses). Linux
     * retries those too. A second spurious fault at the same place flushes first.
     */
    private boolean spurious(GuestFaults.Fault f) {
        if (f.vector() != 14) return false;
        int prot = kernel.protections().at(f.cr2());
        boolean allowed = dev.scratchvm.memory.Protections.accessible(prot)
                && ((f.errorCode() & PF_WRITE) == 0 || (prot & dev.scratchvm.memory.Protections.WRITE) != 0)
                && ((f.errorCode() & PF_FETCH) == 0 || (prot & dev.scratchvm.memory.Protections.EXEC) != 0);
        if (!allowed) {
            lastSpurious = -1;
            return false;
        }
        if (lastSpurious == f.cr2()) {
            if (flushedForSpurious) return false; // still faulting after a flush: the tables are wrong, say so
            flushTranslations();
            flushedForSpurious = true;
        } else {
            flushedForSpurious = false;
        }
        lastSpurious = f.cr2();
        return true;
    }

    private long lastSpurious = -1;
    private boolean flushedForSpurious;

    /** Whether the vCPU is in the VMM's stubs (below the guest's memory), not in the program. */
    private boolean inVmmCode() {
        return regs.get(RIP) < memory.guestBase();
    }

    private boolean fromSyscallStub() {
        long rip = regs.get(RIP);
        return rip == BootLayout.SYSCALL_ENTRY || rip == BootLayout.SYSCALL_ENTRY + 2;
    }

    /**
     * Takes the vCPU out of the guest as soon as possible, from any thread: now if it is in
     * KVM_RUN (a signal), at its next entry otherwise (immediate_exit), and out of any
     * host wait a system call is in (the kernel's wakeup). {@link #run} then returns
     * {@link Outcome.Interrupted}, with the guest at an instruction boundary or about to
     * make the interrupted call again.
     */
    public void kick() {
        kicked = true;
        vcpu.setImmediateExit(true);
        kernel.wakeup().wake();
        int tid = vcpuTid;
        if (tid != 0) KickSignal.send(tid);
    }

    /**
     * Pulls the vCPU out of the guest so that the run loop delivers a timer's signal, from
     * any thread; unlike {@link #kick}, {@link #run} does not return for it.
     */
    private void interruptGuest() {
        vcpu.setImmediateExit(true);
        int tid = vcpuTid;
        if (tid != 0) KickSignal.send(tid);
    }

    /**
     * What a kick that was already answered may leave behind: two kicks close together are
     * answered once, and the second's immediate_exit, wake or signal can land after the
     * answer. Left in place they would end every KVM_RUN and every wait at once, forever.
     * Clearing them loses no new kick: {@code kicked}, set before all three, is checked
     * before the next KVM_RUN.
     */
    private void dropStaleKick() {
        vcpu.setImmediateExit(false);
        KickSignal.drain();
        kernel.wakeup().clear();
    }

    private Outcome acknowledgeKick() {
        kicked = false;
        vcpu.setImmediateExit(false);
        KickSignal.drain();
        kernel.wakeup().clear();
        return new Outcome.Interrupted();
    }

    /**
     * Completes the exit the vCPU stopped at (a system call's return, a restart) without
     * running guest code, so that its state can be read, saved or left as it is. Call on
     * the thread that ran the guest.
     */
    public void settle() {
        vcpu.completePendingExit();
    }

    /**
     * Makes {@link #run} return {@link Outcome.Interrupted} right after each system call that
     * completed and that {@code when} accepts (asked on the vCPU thread, in call order), with
     * the guest as a kick landing just then leaves it: back in the program, the call's result
     * in rax. A deterministic place to pause or snapshot a program in the middle of its work,
     * where a kick lands wherever the guest happens to be. Null stops nowhere.
     */
    public void stopAfter(java.util.function.Predicate<Call> when) {
        this.stopAfter = when;
    }

    /** How many system calls the guest has made in this VMM. */
    public long syscallCount() {
        return syscalls;
    }

    /** Serves one system call; null means "keep running". */
    private Outcome syscall() {
        long nr = regs.get(RAX);
        syscalls++;
        Call call = new Call(nr, regs.get(RDI), regs.get(RSI), regs.get(RDX), regs.get(R10), regs.get(R8), regs.get(R9));
        Control control;
        try {
            control = kernel.syscall(call);
            updatePageTables();
            lastSpurious = -1;
        } catch (RuntimeException e) {
            // A VMM bug or a broken invariant: stop this VM cleanly rather than let the exception escape.
            return new Outcome.Failed("internal error serving system call " + nr + ": " + e.getMessage());
        }
        switch (control) {
            case Control.Return r -> complete(r.value());
            case Control.Resume r -> backToUser();
            case Control.Restart r -> {
                restart(r.nr());
                // A signal that cut the call short is delivered first: its handler decides whether the call is made again.
                Outcome o = deliverSignals();
                if (o != null) return o;
                if (kicked) return acknowledgeKick();
                dropStaleKick();
                return null;
            }
            case Control.Exit e -> {
                return new Outcome.Exited(e.status());
            }
            case Control.Save s -> {
                // The resumed guest sees SAVE return 0. Completing the exit now makes the state consistent.
                complete(0);
                vcpu.completePendingExit();
                return new Outcome.SaveRequested();
            }
        }
        Outcome o = deliverSignals();
        if (o == null && stopAfter != null && stopAfter.test(call)) return new Outcome.Interrupted();
        return o;
    }

    /** Delivers pending signals; an outcome only when one ends the program. */
    private Outcome deliverSignals() {
        int signal;
        try {
            signal = kernel.deliverSignals();
        } catch (RuntimeException e) {
            return new Outcome.Failed("internal error delivering a signal: " + e.getMessage());
        }
        if (signal == 0) return null;
        config.trace().event("KILLED by " + Signals.name(signal));
        return new Outcome.Killed(signal, "the program was killed by " + Signals.name(signal));
    }

    /**
     * Returns from the guest's SYSCALL as SYSRET would: rax = result, rip = rcx, rflags = r11,
     * and, where SYSCALL entered ring 0 (VMX/SVM hardware), CS/SS back at ring 3. Whether it
     * did is learned from the first call; from then on KVM syncs the special registers at
     * every exit, so each return stays free of ioctls.
     */
    private void complete(long result) {
        backToUser();
        regs.set(RAX, result);
        regs.set(RIP, regs.get(RCX));
        regs.set(RFLAGS, regs.get(R11));
    }

    /** Where SYSCALL entered ring 0, puts CS/SS back at ring 3 as SYSRET would (the registers are the caller's). */
    private void backToUser() {
        if (syscallEntersRing0 == null) {
            syscallEntersRing0 = !LongMode.isUserCode(regs.sregs().cs().selector());
            if (syscallEntersRing0) regs.syncSpecialRegisters(true);
        }
        if (syscallEntersRing0) regs.setSregs(LongMode.backToRing3(regs.sregs()));
    }

    /**
     * Leaves the guest about to execute its {@code syscall} instruction (two bytes before
     * the return address SYSCALL put in rcx) with rax = {@code nr}, as Linux does for
     * -ERESTARTSYS: flags and privilege level as SYSRET would restore them.
     */
    private void restart(long nr) {
        complete(nr);
        regs.set(RIP, regs.get(RIP) - 2);
    }

    /**
     * After a SAVE that could not be completed: the guest continues here, and its SAVE
     * returns {@code -errno} instead of 0.
     */
    public void failSave(int errno) {
        regs.set(RAX, -errno);
    }

    /** The CPUID table the guest was given. */
    public List<CpuidEntry> cpuid() {
        return cpuid;
    }

    /** The guest's extended control registers (XCR0); only while the vCPU is stopped. */
    public List<dev.scratchvm.x86.Xcr> xcrs() {
        return vcpu.getXcrs();
    }

    /** Captures the whole machine; only valid while stopped at a SAVE request. */
    public MachineState capture() throws KernelRestoreException {
        VcpuState cpu = VcpuStates.capture(vcpu, msrs, cpuid);
        return new MachineState(cpu, new MemoryState(memory.size(), GuestMemory.PAGE_SIZE), kernel.capture());
    }

    /** The program's registers and FPU state for the system call layer, through the one register owner. */
    private final class Cpu implements CpuAccess {
        private long xcr0 = -1;
        private int xsaveSize;

        @Override
        public Registers registers() {
            return regs.regs();
        }

        @Override
        public void setRegisters(Registers r) {
            regs.setRegs(r);
        }

        @Override
        public byte[] fpuState() {
            return vcpu.getXsave();
        }

        @Override
        public void setFpuState(byte[] xsave) {
            vcpu.setXsave(xsave);
        }

        @Override
        public int fpuStateSize() {
            fpuFeatures();
            return xsaveSize;
        }

        @Override
        public long fpuFeatures() {
            if (xcr0 < 0) {
                xcr0 = 3;
                for (Xcr x : vcpu.getXcrs()) if (x.index() == 0) xcr0 = x.value();
                xsaveSize = Math.min(CpuFeatures.xsaveSize(cpuid, xcr0), 4096);
            }
            return xcr0;
        }

        @Override
        public void interruptGuest() {
            Machine.this.interruptGuest();
        }

        @Override
        public int userCodeSelector() {
            return BootLayout.USER_CS;
        }

        @Override
        public int userStackSelector() {
            return BootLayout.USER_DS;
        }

        @Override
        public long fsBase() {
            return regs.sregs().fs().base();
        }

        @Override
        public void setFsBase(long base) {
            var s = regs.sregs();
            regs.setSregs(s.withFs(s.fs().withBase(base)));
        }

        @Override
        public long gsBase() {
            return regs.sregs().gs().base();
        }

        @Override
        public void setGsBase(long base) {
            var s = regs.sregs();
            regs.setSregs(s.withGs(s.gs().withBase(base)));
        }

        @Override
        public List<CpuidEntry> cpuid() {
            return cpuid;
        }
    }

    @Override
    public void close() {
        if (kernel != null) {
            kernel.close();
            kernel.root().close();
        }
        vcpu.close();
        if (dirtyLog != null) dirtyLog.close();
        vm.close();
        if (translationFlush != null) translationFlush.close();
        memory.close();
        kvm.close();
    }
}
