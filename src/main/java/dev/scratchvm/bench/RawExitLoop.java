package dev.scratchvm.bench;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.boot.LongMode;
import dev.scratchvm.kvm.Kvm;
import dev.scratchvm.kvm.Vcpu;
import dev.scratchvm.kvm.Vm;
import dev.scratchvm.kvm.VmExit;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.vmm.CpuFeatures;

/**
 * The floor for a guest system call: a minimal ring-3 guest in the same long-mode
 * set-up ({@code out %al,$0x10; jmp .-4}, paging on), each iteration one VM exit and
 * one return to the guest through the same Vcpu code path, with no system call work.
 */
public final class RawExitLoop implements AutoCloseable {
    private final Kvm kvm = Kvm.open();
    private final GuestMemory memory = GuestMemory.allocate(4L << 20, BootLayout.GUEST_BASE);
    private final Vm vm = kvm.createVm();
    private final Vcpu vcpu;

    public RawExitLoop() {
        vm.setUserMemoryRegion(0, 0, memory.segment());
        vcpu = vm.createVcpu(0);
        LongMode.writeTables(memory);
        var cpuid = kvm.supportedCpuid();
        LongMode.configure(vcpu, cpuid, CpuFeatures.xcr0(cpuid));
        long code = BootLayout.GUEST_BASE;
        memory.write(code, new byte[]{(byte) 0xe6, (byte) BootLayout.SYSCALL_PORT, (byte) 0xeb, (byte) 0xfc});
        vcpu.setRegs(VcpuState.Registers.atEntry(code, memory.size() - 64));
        vcpu.setValidSyncRegs(Vcpu.SYNC_REGS);
    }

    /** Runs {@code exits} round trips; returns nanoseconds per exit. */
    public double nanosPerExit(int exits) {
        long start = System.nanoTime();
        for (int i = 0; i < exits; i++) {
            VmExit exit = vcpu.run();
            if (!(exit instanceof VmExit.Io)) throw new IllegalStateException("raw exit loop: " + exit.describe());
        }
        return (System.nanoTime() - start) / (double) exits;
    }

    @Override
    public void close() {
        vcpu.close();
        vm.close();
        memory.close();
        kvm.close();
    }
}
