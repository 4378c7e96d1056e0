package dev.scratchvm.vmm;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.boot.LongMode;
import dev.scratchvm.kvm.Kvm;
import dev.scratchvm.kvm.Vcpu;
import dev.scratchvm.kvm.Vm;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.VcpuState.CpuidEntry;

import java.util.List;

/**
 * A 4 MiB VM with the long-mode tables in place and no program: for code that needs the
 * real KVM set-up without a guest (the benchmark's raw-exit floor, the warm-up).
 */
public final class BareVm implements AutoCloseable {
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
