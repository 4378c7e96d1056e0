package dev.scratchvm.bench;

import dev.scratchvm.kvm.Vcpu;
import dev.scratchvm.kvm.VmExit;
import dev.scratchvm.vmm.BareVm;

/**
 * The floor for a guest system call: a minimal ring-3 guest in the same long-mode
 * set-up ({@code out %al,$0x10; jmp .-4}, paging on), each iteration one VM exit and
 * one return to the guest through the same Vcpu code path, with no system call work.
 */
public final class RawExitLoop implements AutoCloseable {
    private final BareVm vm = new BareVm();
    private final Vcpu vcpu;

    public RawExitLoop() {
        try {
            vcpu = vm.exitLoopVcpu(0);
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
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
