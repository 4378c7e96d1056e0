package dev.scratchvm.bench;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.kvm.Vcpu;
import dev.scratchvm.kvm.VmExit;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.vmm.BareVm;

/**
 * The floor for a guest system call: a minimal ring-3 guest in the same long-mode
 * set-up ({@code out %al,$0x10; jmp .-4}, paging on), each iteration one VM exit and
 * one return to the guest through the same Vcpu code path, with no system call work.
 */
public final class RawExitLoop implements AutoCloseable {
    private static final long RFLAGS_IOPL3 = 3L << 12;
    private final BareVm vm = new BareVm();
    private final Vcpu vcpu;

    public RawExitLoop() {
        Vcpu v = null;
        try {
            v = vm.longModeVcpu(0);
            long code = BootLayout.GUEST_BASE;
            vm.memory().write(code, new byte[]{(byte) 0xe6, (byte) BootLayout.SYSCALL_PORT, (byte) 0xeb, (byte) 0xfc});
            // IOPL 3 lets this VMM-owned loop use the port without the TSS I/O bitmap, which
            // QEMU's emulated SVM refuses for the busy TSS that VMX requires.
            var entry = VcpuState.Registers.atEntry(code, vm.memory().size() - 64);
            v.registers().setRegs(new VcpuState.Registers(0, 0, 0, 0, 0, 0, entry.rsp(), 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    entry.rip(), entry.rflags() | RFLAGS_IOPL3));
        } catch (RuntimeException e) {
            if (v != null) v.close();
            vm.close();
            throw e;
        }
        vcpu = v;
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
    }
}
