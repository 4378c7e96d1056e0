package dev.scratchvm.vmm;

import dev.scratchvm.image.StateRules;
import dev.scratchvm.kvm.Kvm;
import dev.scratchvm.kvm.Vcpu;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.x86.Msr;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads and writes the complete vCPU state, in the orders the KVM API requires
 * (see docs/vm-state.md). The vCPU must be outside KVM_RUN with no pending exit; registers
 * go through {@link dev.scratchvm.kvm.VcpuRegisters}, like every other register access.
 */
public final class VcpuStates {
    /**
     * MSRs that hold guest state and are not already in kvm_sregs: TSC, SYSENTER_CS/ESP/EIP,
     * MISC_ENABLE, PAT, STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE, TSC_AUX, exactly the ones an
     * image may hold. FS_BASE and GS_BASE are deliberately left to sregs: on this platform the
     * MSR copy can read 0 while sregs.fs.base holds the real base, and writing it back would lose TLS.
     */
    private static final List<Integer> CANDIDATE_MSRS = StateRules.savedMsrs();

    private VcpuStates() {
    }

    /** The candidate MSRs this host's KVM can save and restore. */
    public static List<Integer> savableMsrs(Kvm kvm) {
        Set<Integer> supported = Set.copyOf(kvm.msrIndexList());
        List<Integer> out = new ArrayList<>();
        for (int msr : CANDIDATE_MSRS) if (supported.contains(msr)) out.add(msr);
        return out;
    }

    /** Captures state; order follows the KVM documentation, events last. */
    public static VcpuState capture(Vcpu vcpu, List<Integer> msrs, List<CpuidEntry> cpuid) {
        int mp = vcpu.getMpState();                // MP_STATE first
        var regs = vcpu.registers().regs();
        var sregs = vcpu.registers().sregs();
        byte[] xsave = vcpu.getXsave();
        var xcrs = vcpu.getXcrs();
        var debug = vcpu.getDebugRegs();
        List<Msr> msrValues = vcpu.getMsrs(msrs);
        long tscKhz = vcpu.getTscKhz();
        var events = vcpu.getEvents();             // VCPU_EVENTS last: nothing after it may change them
        return new VcpuState(mp, regs, sregs, xsave, xcrs, debug, msrValues, events, cpuid, tscKhz);
    }

    /**
     * Restores state into a fresh vCPU. CPUID must be set before anything else (it decides
     * which XSAVE features and MSRs are valid); SREGS before MSRs (EFER); VCPU_EVENTS after
     * REGS, because KVM_SET_REGS drops a pending exception.
     */
    public static void restore(Vcpu vcpu, VcpuState s) {
        vcpu.setCpuid(s.cpuid());
        vcpu.setMpState(s.mpState());
        vcpu.registers().setRegs(s.regs());
        vcpu.registers().setSregs(s.sregs());
        vcpu.setXsave(s.xsave());
        vcpu.setXcrs(s.xcrs());
        vcpu.setDebugRegs(s.debug());
        vcpu.setMsrs(s.msrs());
        vcpu.setEvents(s.events());
    }
}
