package dev.scratchvm.kvm;

import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.x86.DebugRegisters;
import dev.scratchvm.x86.Msr;
import dev.scratchvm.x86.SpecialRegisters;
import dev.scratchvm.x86.VcpuEvents;
import dev.scratchvm.x86.Xcr;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A vCPU file descriptor and its shared kvm_run region. One method per ioctl. Buffers
 * for the exit path are allocated once, so running the guest allocates nothing.
 */
public final class Vcpu implements AutoCloseable {
    private static final int EXIT_IO = 2, EXIT_HLT = 5, EXIT_MMIO = 6, EXIT_SHUTDOWN = 8, EXIT_FAIL_ENTRY = 9,
            EXIT_INTERNAL_ERROR = 17;
    /** Bits of kvm_valid_regs / kvm_dirty_regs. */
    public static final long SYNC_REGS = 1, SYNC_SREGS = 2, SYNC_EVENTS = 4;
    // Offsets inside struct kvm_run (linux/kvm.h); checked against the header by a test.
    private static final long RUN_IMMEDIATE_EXIT = 1, RUN_EXIT_REASON = 8, RUN_EXIT_UNION = 32,
            RUN_VALID_REGS = 288, RUN_DIRTY_REGS = 296, RUN_SYNC_REGS = 304, RUN_SYNC_SREGS = 448;

    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment run;
    private final MemorySegment scratch;
    private final VcpuRegisters registers;

    Vcpu(int fd, int mmapSize) {
        this.fd = fd;
        long addr = Libc.mmap(0, mmapSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        if (addr < 0) {
            Libc.close(fd);
            throw new KvmException("mmap kvm_run", (int) -addr);
        }
        this.run = MemorySegment.ofAddress(addr).reinterpret(mmapSize);
        this.scratch = arena.allocate(64 * 1024, 64);
        this.registers = new VcpuRegisters(this, run.asSlice(RUN_SYNC_REGS, Structs.REGS.byteSize()),
                run.asSlice(RUN_SYNC_SREGS, Structs.SREGS.byteSize()));
    }

    /** This vCPU's registers: the only way to read or write them. */
    public VcpuRegisters registers() {
        return registers;
    }

    /** KVM_RUN until the next exit. */
    public VmExit run() {
        registers.beforeRun();
        int r = Libc.ioctl(fd, Ioctls.RUN, 0L);
        registers.afterRun();
        if (r < 0) {
            if (-r == Errno.EINTR || -r == Errno.EAGAIN) return new VmExit.Interrupted();
            if (-r == Errno.EFAULT) return new VmExit.BadAddress();
            throw new KvmException("KVM_RUN", -r);
        }
        int reason = run.get(JAVA_INT, RUN_EXIT_REASON);
        return switch (reason) {
            case EXIT_IO -> ioExit();
            case EXIT_HLT -> new VmExit.Halt();
            case EXIT_SHUTDOWN -> new VmExit.Shutdown();
            case EXIT_FAIL_ENTRY -> new VmExit.FailEntry(run.get(JAVA_LONG, RUN_EXIT_UNION));
            case EXIT_INTERNAL_ERROR -> new VmExit.InternalError(run.get(JAVA_INT, RUN_EXIT_UNION));
            case EXIT_MMIO -> new VmExit.Mmio(run.get(JAVA_LONG, RUN_EXIT_UNION),
                    run.get(JAVA_BYTE, RUN_EXIT_UNION + 8 + 8 + 4) != 0, run.get(JAVA_INT, RUN_EXIT_UNION + 16));
            default -> new VmExit.Other(reason);
        };
    }

    private VmExit.Io ioExit() {
        boolean out = run.get(JAVA_BYTE, RUN_EXIT_UNION) == 1;
        int size = run.get(JAVA_BYTE, RUN_EXIT_UNION + 1);
        int port = Short.toUnsignedInt(run.get(JAVA_SHORT, RUN_EXIT_UNION + 2));
        int count = run.get(JAVA_INT, RUN_EXIT_UNION + 4);
        long dataOffset = run.get(JAVA_LONG, RUN_EXIT_UNION + 8);
        long data = 0;
        if (out && dataOffset > 0 && dataOffset + size <= run.byteSize()) {
            for (int i = size - 1; i >= 0; i--) data = (data << 8) | Byte.toUnsignedLong(run.get(JAVA_BYTE, dataOffset + i));
        }
        return new VmExit.Io(port, out, size, count, data);
    }

    /**
     * Sets kvm_run.immediate_exit. With it set, KVM_RUN completes any pending I/O and
     * applies dirty sync registers, then returns EINTR without entering the guest: the
     * documented way to make the vCPU state consistent before reading it.
     */
    public void setImmediateExit(boolean on) {
        // Volatile: another thread sets it to stop a vCPU thread that is about to enter the guest.
        IMMEDIATE_EXIT.setVolatile(run, RUN_IMMEDIATE_EXIT, (byte) (on ? 1 : 0));
    }

    private static final java.lang.invoke.VarHandle IMMEDIATE_EXIT = JAVA_BYTE.varHandle();

    /**
     * KVM_SET_SIGNAL_MASK: the signals blocked while this vCPU is inside KVM_RUN (a 64-bit
     * mask, bit n-1 for signal n). A signal blocked outside KVM_RUN but not inside it can
     * only arrive there, where it makes KVM_RUN return EINTR instead of running a handler.
     */
    public void setSignalMask(long mask) {
        scratch.set(JAVA_INT, 0, 8);
        scratch.set(JAVA_LONG.withByteAlignment(4), 4, mask);
        ioctl("KVM_SET_SIGNAL_MASK", Ioctls.SET_SIGNAL_MASK, scratch);
    }

    /** Completes a pending exit without running guest code (see {@link #setImmediateExit}). */
    public void completePendingExit() {
        setImmediateExit(true);
        try {
            VmExit exit = run();
            if (!(exit instanceof VmExit.Interrupted)) throw new KvmException("KVM_RUN with immediate_exit entered the guest");
        } finally {
            setImmediateExit(false);
        }
    }

    /** Asks KVM to copy these register sets into kvm_run on every exit (KVM_CAP_SYNC_REGS). */
    void setValidSyncRegs(long mask) {
        run.set(JAVA_LONG, RUN_VALID_REGS, mask);
    }

    /** Marks sync register sets that KVM must load from kvm_run on the next KVM_RUN. */
    void markSyncRegsDirty(long mask) {
        run.set(JAVA_LONG, RUN_DIRTY_REGS, run.get(JAVA_LONG, RUN_DIRTY_REGS) | mask);
    }

    // ---- state ioctls ------------------------------------------------------------------

    private void ioctl(String name, long request, MemorySegment arg) {
        Kvm.check(name, Libc.ioctl(fd, request, arg));
    }

    /** KVM_GET_REGS into {@code buffer} (a struct kvm_regs); returns it. */
    MemorySegment getRegs(MemorySegment buffer) {
        ioctl("KVM_GET_REGS", Ioctls.GET_REGS, buffer);
        return buffer;
    }

    /** KVM_SET_REGS from {@code buffer} (a struct kvm_regs). */
    void setRegs(MemorySegment buffer) {
        ioctl("KVM_SET_REGS", Ioctls.SET_REGS, buffer);
    }

    SpecialRegisters getSregs() {
        ioctl("KVM_GET_SREGS", Ioctls.GET_SREGS, scratch);
        return Structs.readSregs(scratch);
    }

    void setSregs(SpecialRegisters sregs) {
        Structs.writeSregs(scratch, sregs);
        ioctl("KVM_SET_SREGS", Ioctls.SET_SREGS, scratch);
    }

    public int getMpState() {
        ioctl("KVM_GET_MP_STATE", Ioctls.GET_MP_STATE, scratch);
        return scratch.get(JAVA_INT, 0);
    }

    public void setMpState(int state) {
        scratch.set(JAVA_INT, 0, state);
        ioctl("KVM_SET_MP_STATE", Ioctls.SET_MP_STATE, scratch);
    }

    /** KVM_GET_XSAVE: the 4 KiB architectural XSAVE area. */
    public byte[] getXsave() {
        ioctl("KVM_GET_XSAVE", Ioctls.GET_XSAVE, scratch);
        return scratch.asSlice(0, Structs.XSAVE_SIZE).toArray(JAVA_BYTE);
    }

    public void setXsave(byte[] xsave) {
        if (xsave.length != Structs.XSAVE_SIZE) throw new KvmException("XSAVE area of " + xsave.length + " bytes, expected " + Structs.XSAVE_SIZE);
        MemorySegment.copy(xsave, 0, scratch, JAVA_BYTE, 0, xsave.length);
        ioctl("KVM_SET_XSAVE", Ioctls.SET_XSAVE, scratch);
    }

    public List<Xcr> getXcrs() {
        ioctl("KVM_GET_XCRS", Ioctls.GET_XCRS, scratch);
        int n = Math.min(16, scratch.get(JAVA_INT, 0));
        List<Xcr> xcrs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) xcrs.add(new Xcr(scratch.get(JAVA_INT, 8 + 16L * i), scratch.get(JAVA_LONG, 8 + 16L * i + 8)));
        return xcrs;
    }

    public void setXcrs(List<Xcr> xcrs) {
        if (xcrs.size() > 16) throw new KvmException("too many XCRs: " + xcrs.size());
        scratch.asSlice(0, Structs.XCRS_SIZE).fill((byte) 0);
        scratch.set(JAVA_INT, 0, xcrs.size());
        for (int i = 0; i < xcrs.size(); i++) {
            scratch.set(JAVA_INT, 8 + 16L * i, xcrs.get(i).index());
            scratch.set(JAVA_LONG, 8 + 16L * i + 8, xcrs.get(i).value());
        }
        ioctl("KVM_SET_XCRS", Ioctls.SET_XCRS, scratch);
    }

    public DebugRegisters getDebugRegs() {
        ioctl("KVM_GET_DEBUGREGS", Ioctls.GET_DEBUGREGS, scratch);
        return Structs.readDebugRegs(scratch);
    }

    public void setDebugRegs(DebugRegisters regs) {
        Structs.writeDebugRegs(scratch, regs);
        ioctl("KVM_SET_DEBUGREGS", Ioctls.SET_DEBUGREGS, scratch);
    }

    public VcpuEvents getEvents() {
        ioctl("KVM_GET_VCPU_EVENTS", Ioctls.GET_VCPU_EVENTS, scratch);
        return Structs.readEvents(scratch);
    }

    public void setEvents(VcpuEvents events) {
        Structs.writeEvents(scratch, events);
        ioctl("KVM_SET_VCPU_EVENTS", Ioctls.SET_VCPU_EVENTS, scratch);
    }

    /** KVM_GET_MSRS; fails unless KVM read every requested MSR. */
    public List<Msr> getMsrs(List<Integer> indices) {
        fillMsrs(indices.stream().map(i -> new Msr(i, 0)).toList());
        int n = Libc.ioctl(fd, Ioctls.GET_MSRS, scratch);
        if (n < 0) throw new KvmException("KVM_GET_MSRS", -n);
        if (n != indices.size()) {
            throw new KvmException("KVM_GET_MSRS read " + n + " of " + indices.size() + " MSRs (stopped at 0x" + Integer.toHexString(indices.get(n)) + ")");
        }
        List<Msr> msrs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long at = Structs.KVM_MSRS_HEADER + 16L * i;
            msrs.add(new Msr(scratch.get(JAVA_INT, at), scratch.get(JAVA_LONG, at + 8)));
        }
        return msrs;
    }

    /** KVM_SET_MSRS; fails unless KVM accepted every MSR. */
    public void setMsrs(List<Msr> msrs) {
        fillMsrs(msrs);
        int n = Libc.ioctl(fd, Ioctls.SET_MSRS, scratch);
        if (n < 0) throw new KvmException("KVM_SET_MSRS", -n);
        if (n != msrs.size()) {
            throw new KvmException("KVM_SET_MSRS accepted " + n + " of " + msrs.size() + " MSRs (refused 0x" + Integer.toHexString(msrs.get(n).index()) + ")");
        }
    }

    private void fillMsrs(List<Msr> msrs) {
        if (msrs.size() > 1024) throw new KvmException("too many MSRs: " + msrs.size());
        scratch.set(JAVA_INT, 0, msrs.size());
        scratch.set(JAVA_INT, 4, 0);
        for (int i = 0; i < msrs.size(); i++) {
            long at = Structs.KVM_MSRS_HEADER + 16L * i;
            scratch.set(JAVA_INT, at, msrs.get(i).index());
            scratch.set(JAVA_INT, at + 4, 0);
            scratch.set(JAVA_LONG, at + 8, msrs.get(i).value());
        }
    }

    /** KVM_SET_CPUID2. */
    public void setCpuid(List<CpuidEntry> entries) {
        long size = Structs.KVM_CPUID2_HEADER + entries.size() * Structs.CPUID_ENTRY.byteSize();
        if (size > scratch.byteSize()) throw new KvmException("CPUID table too large: " + entries.size() + " entries");
        scratch.set(JAVA_INT, 0, entries.size());
        scratch.set(JAVA_INT, 4, 0);
        for (int i = 0; i < entries.size(); i++) {
            Structs.writeCpuid(scratch, Structs.KVM_CPUID2_HEADER + i * Structs.CPUID_ENTRY.byteSize(), entries.get(i));
        }
        ioctl("KVM_SET_CPUID2", Ioctls.SET_CPUID2, scratch);
    }

    /** KVM_GET_TSC_KHZ. */
    public long getTscKhz() {
        return Kvm.check("KVM_GET_TSC_KHZ", Libc.ioctl(fd, Ioctls.GET_TSC_KHZ, 0L));
    }

    @Override
    public void close() {
        Libc.munmap(run.address(), run.byteSize());
        arena.close();
        Libc.close(fd);
    }
}
