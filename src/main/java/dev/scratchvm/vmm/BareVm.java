package dev.scratchvm.vmm;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.boot.LongMode;
import dev.scratchvm.kvm.Kvm;
import dev.scratchvm.kvm.Vcpu;
import dev.scratchvm.kvm.Vm;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.x86.Registers;

import java.util.List;

/**
 * A 4 MiB VM with the long-mode tables in place and no program: for code that needs the
 * real KVM set-up without a guest (the benchmark's raw-exit floor, the warm-up).
 */
public final class BareVm implements AutoCloseable {
    private static final long RFLAGS_IOPL3 = 3L << 12;
    private final Kvm kvm = Kvm.open();
    private final GuestMemory memory;
    private final Vm vm;
    private final List<CpuidEntry> cpuid;

    public BareVm() {
        GuestMemory m = null;
        Vm v = null;
        try {
            m = GuestMemory.allocate(4L << 20, BootLayout.GUEST_BASE);
            v = kvm.createVm();
            v.setUserMemoryRegion(0, 0, m.segment());
            LongMode.writeTables(m);
            cpuid = kvm.supportedCpuid();
        } catch (RuntimeException e) {
            if (v != null) v.close();
            if (m != null) m.close();
            kvm.close();
            throw e;
        }
        memory = m;
        vm = v;
    }

    public Kvm kvm() {
        return kvm;
    }

    public GuestMemory memory() {
        return memory;
    }

    public List<CpuidEntry> cpuid() {
        return cpuid;
    }

    /** A vCPU as Machine.boot leaves it: 64-bit ring 3, CPUID, XCR0, SYSCALL MSRs. */
    public Vcpu longModeVcpu(int id) {
        Vcpu vcpu = vm.createVcpu(id);
        LongMode.configure(vcpu, cpuid, CpuFeatures.xcr0(cpuid));
        return vcpu;
    }

    /**
     * A long-mode vCPU at ring 3 in a loop of I/O exits ({@code out %al,$0x10; jmp .-4} at the
     * guest base): one VM exit per {@code KVM_RUN}, no system call work. IOPL 3 lets this
     * VMM-owned loop use the port without the TSS I/O bitmap, which QEMU's emulated SVM refuses
     * for the busy TSS that VMX requires.
     */
    public Vcpu exitLoopVcpu(int id) {
        long code = BootLayout.GUEST_BASE;
        memory.write(code, new byte[]{(byte) 0xe6, (byte) BootLayout.SYSCALL_PORT, (byte) 0xeb, (byte) 0xfc});
        Vcpu vcpu = longModeVcpu(id);
        try {
            var entry = Registers.atEntry(code, memory.size() - 64);
            vcpu.registers().setRegs(new Registers(0, 0, 0, 0, 0, 0, entry.rsp(), 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    entry.rip(), entry.rflags() | RFLAGS_IOPL3));
            return vcpu;
        } catch (RuntimeException e) {
            vcpu.close();
            throw e;
        }
    }

    /** A vCPU as KVM creates it, for restoring a state into. */
    public Vcpu blankVcpu(int id) {
        return vm.createVcpu(id);
    }

    @Override
    public void close() {
        vm.close();
        memory.close();
        kvm.close();
    }
}
