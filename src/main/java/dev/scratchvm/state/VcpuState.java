package dev.scratchvm.state;

import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.x86.DebugRegisters;
import dev.scratchvm.x86.Msr;
import dev.scratchvm.x86.Registers;
import dev.scratchvm.x86.SpecialRegisters;
import dev.scratchvm.x86.VcpuEvents;
import dev.scratchvm.x86.Xcr;

import java.util.List;

/**
 * Complete architectural state of the single vCPU, in the order it is captured
 * (see docs/vm-state.md for why each part is needed).
 *
 * @param mpState  KVM_GET_MP_STATE
 * @param regs     KVM_GET_REGS
 * @param sregs    KVM_GET_SREGS
 * @param xsave    KVM_GET_XSAVE: the architectural XSAVE area (x87, SSE, AVX ...)
 * @param xcrs     KVM_GET_XCRS
 * @param debug    KVM_GET_DEBUGREGS
 * @param msrs     KVM_GET_MSRS for the MSRs listed in {@code dev.scratchvm.kvm.Msrs}
 * @param events   KVM_GET_VCPU_EVENTS (read last)
 * @param cpuid    the table given to KVM_SET_CPUID2
 * @param tscKhz   KVM_GET_TSC_KHZ
 */
public record VcpuState(int mpState, Registers regs, SpecialRegisters sregs, byte[] xsave, List<Xcr> xcrs,
                        DebugRegisters debug, List<Msr> msrs, VcpuEvents events, List<CpuidEntry> cpuid,
                        long tscKhz) {

    public VcpuState {
        xcrs = List.copyOf(xcrs);
        msrs = List.copyOf(msrs);
        cpuid = List.copyOf(cpuid);
        xsave = xsave.clone();
    }

    @Override
    public byte[] xsave() {
        return xsave.clone();
    }
}
