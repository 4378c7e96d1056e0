package dev.scratchvm.kvm;

import dev.scratchvm.sys.Libc;
import dev.scratchvm.sys.NativeException;

import java.lang.foreign.MemorySegment;

/**
 * Makes KVM forget every translation it derived from the guest's page tables, after the VMM
 * rewrote them from user space while the vCPU was stopped. Neither a CR3 reload nor an exit
 * does that everywhere: with shadow paging (kvm_pvm, or hardware without EPT/NPT) KVM keeps
 * shadow pages built from the old entries and write-protects the tables only against the
 * guest's own stores, not the VMM's; on VMX/SVM the guest TLB (tagged by VPID/ASID) survives
 * exits. Moving a memory slot does: KVM zaps all its shadow and TDP pages (x86's default
 * for a deleted or moved slot, KVM_X86_QUIRK_SLOT_ZAP_ALL), frees the vCPU's roots, and
 * loading new roots flushes the vCPU's TLB for them. So a one-page slot that the guest never
 * maps is kept above the largest guest memory and moved between two addresses per flush: one
 * ioctl, and the guest refaults the translations it uses afterwards.
 */
public final class TranslationFlush implements AutoCloseable {
    private static final int SLOT = 1;
    private static final long PAGE = 4096, BASE = 64L << 30;

    private final Vm vm;
    private final MemorySegment page;
    private boolean high;

    public TranslationFlush(Vm vm) {
        long addr = Libc.mmap(0, PAGE, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        if (addr < 0) throw new NativeException("mmap of the translation-flush page", (int) -addr);
        this.vm = vm;
        this.page = MemorySegment.ofAddress(addr).reinterpret(PAGE);
        vm.setUserMemoryRegion(SLOT, BASE, page);
    }

    /** Drops KVM's translations; call while the vCPU is stopped, after the tables changed. */
    public void flush() {
        high = !high;
        vm.setUserMemoryRegion(SLOT, high ? BASE + PAGE : BASE, page);
    }

    @Override
    public void close() {
        Libc.munmap(page.address(), PAGE);
    }
}
