package dev.scratchvm.state;

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

    /** General purpose registers, rip and rflags: struct kvm_regs. */
    public record Registers(long rax, long rbx, long rcx, long rdx, long rsi, long rdi, long rsp, long rbp,
                            long r8, long r9, long r10, long r11, long r12, long r13, long r14, long r15,
                            long rip, long rflags) {
        public Registers withRax(long value) {
            return new Registers(value, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15,
                    rip, rflags);
        }

        /** A register set with everything zero except the entry point, stack pointer and rflags bit 1. */
        public static Registers atEntry(long rip, long rsp) {
            return new Registers(0, 0, 0, 0, 0, 0, rsp, 0, 0, 0, 0, 0, 0, 0, 0, 0, rip, 0x2);
        }
    }

    /** One segment register: struct kvm_segment. */
    public record Segment(long base, int limit, int selector, int type, int present, int dpl, int db, int s,
                          int l, int g, int avl, int unusable) {
        public Segment withBase(long newBase) {
            return new Segment(newBase, limit, selector, type, present, dpl, db, s, l, g, avl, unusable);
        }
    }

    /** GDTR or IDTR: struct kvm_dtable. */
    public record DescriptorTable(long base, int limit) {
    }

    /** struct kvm_sregs. */
    public record SpecialRegisters(Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss,
                                   Segment tr, Segment ldt, DescriptorTable gdt, DescriptorTable idt,
                                   long cr0, long cr2, long cr3, long cr4, long cr8, long efer, long apicBase,
                                   List<Long> interruptBitmap) {
        public SpecialRegisters {
            interruptBitmap = List.copyOf(interruptBitmap);
            if (interruptBitmap.size() != 4) throw new IllegalArgumentException("interrupt bitmap needs 4 words");
        }

        public SpecialRegisters withFs(Segment newFs) {
            return new SpecialRegisters(cs, ds, es, newFs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer,
                    apicBase, interruptBitmap);
        }

        public SpecialRegisters withCodeAndStack(Segment newCs, Segment newSs) {
            return new SpecialRegisters(newCs, ds, es, fs, gs, newSs, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer,
                    apicBase, interruptBitmap);
        }

        public SpecialRegisters withGs(Segment newGs) {
            return new SpecialRegisters(cs, ds, es, fs, newGs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer,
                    apicBase, interruptBitmap);
        }
    }

    /** One extended control register (XCR0 enables x87/SSE/AVX state). */
    public record Xcr(int index, long value) {
    }

    /** struct kvm_debugregs. */
    public record DebugRegisters(List<Long> db, long dr6, long dr7, long flags) {
        public DebugRegisters {
            db = List.copyOf(db);
            if (db.size() != 4) throw new IllegalArgumentException("need 4 debug address registers");
        }
    }

    /** One model-specific register. */
    public record Msr(int index, long value) {
    }

    /** struct kvm_vcpu_events, field by field. */
    public record VcpuEvents(int exceptionInjected, int exceptionNr, int exceptionHasErrorCode,
                             int exceptionPending, int exceptionErrorCode,
                             int interruptInjected, int interruptNr, int interruptSoft, int interruptShadow,
                             int nmiInjected, int nmiPending, int nmiMasked,
                             int sipiVector, int flags,
                             int smiSmm, int smiPending, int smiInsideNmi, int smiLatchedInit,
                             int tripleFaultPending, int exceptionHasPayload, long exceptionPayload) {
    }

    /** One entry of the CPUID table: struct kvm_cpuid_entry2. */
    public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
    }
}
