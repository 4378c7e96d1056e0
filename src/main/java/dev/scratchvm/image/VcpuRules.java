package dev.scratchvm.image;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.boot.LongMode;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.Registers;
import dev.scratchvm.x86.Segment;
import dev.scratchvm.x86.SpecialRegisters;
import dev.scratchvm.x86.VcpuEvents;

import static dev.scratchvm.image.KernelRules.hex;

/**
 * Which vCPU state an image may carry. The VMM owns everything that decides what ring 3 can
 * reach: paging (CR0, CR3, CR4, EFER), the descriptor tables and TSS (with its I/O bitmap),
 * the SYSCALL and SYSENTER MSRs, and ring 3 itself (CS/SS). An image must hold exactly what
 * {@link LongMode} sets (for the MSRs see {@link MsrRules}); the guest owns the rest
 * (registers, FS/GS base, XSAVE, TSC, a few MSRs), each within its architectural range.
 *
 * <p>The same image restores on every KVM flavour: it is captured after the system call
 * returned, so CS/SS are back at ring 3 on kvm_pvm and on VMX/SVM alike. KVM may still report
 * bits ScratchVM never set and that differ by flavour (CR0.ET, EFER.NXE, CR4 bits such as
 * PGE or MCE, segment accessed/granularity bits, a busy TSS type), so control registers are
 * compared under masks of the bits that ScratchVM sets or that change what ring 3 can reach,
 * and segments by the attributes that matter.
 */
final class VcpuRules {
    /**
     * CR0: PE and PG (protection and paging confine ring 3), MP and NE (set by ScratchVM), EM,
     * TS and AM (clear: they would fault every FPU or unaligned access). ET is hard-wired and
     * reported differently by flavour; WP, NW and CD only affect ring 0 writes and caching.
     */
    private static final long CR0_CHECKED = 0x1 | 0x2 | 0x4 | 0x8 | 0x20 | (1L << 18) | (1L << 31);
    /**
     * CR4: PAE, LA57 and PCIDE decide how CR3's tables are read; OSFXSR, OSXMMEXCPT and OSXSAVE
     * are what ScratchVM enables; TSD, PCE, UMIP, FSGSBASE, PKE and CET would change what ring 3
     * may do; SMEP and SMAP would stop the ring-0 exception stubs, which live in a user page;
     * VMXE and SMXE enable nested virtualization and SMX. KVM may report others (VME, PVI, DE,
     * PSE, MCE, PGE) itself; they change nothing for a long-mode guest without a kernel.
     */
    private static final long CR4_CHECKED = 0x4 | 0x20 | 0x100 | 0x200 | 0x400 | 0x800 | 0x1000 | 0x2000 | 0x4000
            | 0x10000 | 0x20000 | 0x40000 | 0x100000 | 0x200000 | 0x400000 | 0x800000;
    /** EFER: SCE, LME, LMA as ScratchVM sets them, and SVME clear. NXE and the rest KVM may report. */
    private static final long EFER_CHECKED = 0x1 | 0x100 | 0x400 | 0x1000;
    /** RFLAGS bits a ring-3 program can have: CF, 1, PF, AF, ZF, SF, TF, IF, DF, OF, NT, RF, AC, ID (not IOPL, VM, VIF, VIP). */
    private static final long RFLAGS_ALLOWED = 0x1 | 0x2 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800
            | 0x4000 | 0x10000 | 0x40000 | 0x200000;
    private static final int KVM_MP_STATE_RUNNABLE = 0;
    /** DR7's L0-G3 breakpoint enables and GD: ScratchVM sets no debug registers. */
    private static final long DR7_ENABLES = 0xff | 0x2000;

    private VcpuRules() {
    }

    /** The first broken rule, naming the field, or null. */
    static String check(VcpuState v, long memorySize) {
        String p = v.mpState() == KVM_MP_STATE_RUNNABLE ? null
                : "vCPU mp_state is " + v.mpState() + ", not runnable (images are taken at a system call return)";
        if (p == null) p = registers(v.regs(), memorySize);
        if (p == null) p = controlRegisters(v.sregs());
        if (p == null) p = tables(v.sregs());
        if (p == null) p = segments(v.sregs());
        if (p == null) p = MsrRules.check(v.msrs());
        if (p == null) p = events(v.events(), v.sregs());
        if (p == null && (v.debug().dr7() & DR7_ENABLES) != 0) {
            p = "vCPU dr7 is " + hex(v.debug().dr7()) + ": ScratchVM sets no hardware breakpoints";
        }
        if (p == null && (v.tscKhz() < 0 || v.tscKhz() > 0xffffffffL)) p = "vCPU tsc_khz " + v.tscKhz() + " is out of range";
        return p;
    }

    private static String registers(Registers r, long size) {
        if (r.rip() < BootLayout.GUEST_BASE || r.rip() >= size) {
            return "vCPU rip " + hex(r.rip()) + " is not in guest memory " + KernelRules.range(size);
        }
        if ((r.rflags() & ~RFLAGS_ALLOWED) != 0 || (r.rflags() & 2) == 0) {
            return "vCPU rflags " + hex(r.rflags()) + " is not what a ring-3 program can have (IOPL 0, no VM, VIF, VIP or reserved bits)";
        }
        return null;
    }

    private static String controlRegisters(SpecialRegisters s) {
        SpecialRegisters own = LongMode.sregs(s);
        if ((s.cr0() & CR0_CHECKED) != (own.cr0() & CR0_CHECKED)) {
            return "vCPU cr0 is " + hex(s.cr0()) + ", ScratchVM runs with " + hex(own.cr0());
        }
        if ((s.cr3() & ~0xfffL) != own.cr3()) {
            return "vCPU cr3 is " + hex(s.cr3()) + ", ScratchVM's page tables are at " + hex(own.cr3());
        }
        if ((s.cr4() & CR4_CHECKED) != (own.cr4() & CR4_CHECKED)) {
            return "vCPU cr4 is " + hex(s.cr4()) + ", ScratchVM runs with " + hex(own.cr4());
        }
        if ((s.efer() & EFER_CHECKED) != (own.efer() & EFER_CHECKED)) {
            return "vCPU efer is " + hex(s.efer()) + ", ScratchVM runs with " + hex(own.efer());
        }
        return null;
    }

    private static String tables(SpecialRegisters s) {
        SpecialRegisters own = LongMode.sregs(s);
        if (!s.gdt().equals(own.gdt())) {
            return "vCPU gdt is " + hex(s.gdt().base()) + "/" + hex(s.gdt().limit()) + ", ScratchVM's GDT is "
                    + hex(own.gdt().base()) + "/" + hex(own.gdt().limit());
        }
        if (!s.idt().equals(own.idt())) {
            return "vCPU idt is " + hex(s.idt().base()) + "/" + hex(s.idt().limit()) + ", ScratchVM's IDT is "
                    + hex(own.idt().base()) + "/" + hex(own.idt().limit());
        }
        Segment tr = s.tr(), ownTr = own.tr();
        // type 9 (available) or 11 (busy): KVM reports the TSS busy once it is loaded.
        if (tr.base() != ownTr.base() || tr.limit() != ownTr.limit() || tr.selector() != ownTr.selector()
                || (tr.type() & ~2) != 9 || tr.present() != 1 || tr.s() != 0) {
            return "vCPU tr is base " + hex(tr.base()) + " limit " + hex(tr.limit()) + " selector " + hex(tr.selector())
                    + ", ScratchVM's TSS is base " + hex(ownTr.base()) + " limit " + hex(ownTr.limit())
                    + " selector " + hex(ownTr.selector());
        }
        Segment ldt = s.ldt();
        // No LDT: either none at all, or KVM's reset value (base 0, limit 0xffff), which ScratchVM keeps.
        boolean noLdt = ldt.unusable() != 0 || ldt.present() == 0 || (ldt.base() == 0 && (ldt.limit() & 0xffffffffL) <= 0xffff);
        if (ldt.selector() != 0 || !noLdt) {
            return "vCPU ldt is selector " + hex(ldt.selector()) + " base " + hex(ldt.base()) + ": ScratchVM uses no LDT";
        }
        return null;
    }

    private static String segments(SpecialRegisters s) {
        Segment cs = s.cs(), ss = s.ss();
        if (cs.selector() != BootLayout.USER_CS || cs.dpl() != 3 || cs.l() != 1 || cs.db() != 0 || cs.present() != 1
                || cs.s() != 1 || (cs.type() & 8) == 0 || cs.unusable() != 0) {
            return "vCPU cs is selector " + hex(cs.selector()) + " dpl " + cs.dpl()
                    + ", not ScratchVM's 64-bit ring-3 code segment " + hex(BootLayout.USER_CS);
        }
        if (ss.selector() != BootLayout.USER_DS || ss.dpl() != 3 || ss.present() != 1 || ss.s() != 1
                || (ss.type() & 0xa) != 2 || ss.unusable() != 0) {
            return "vCPU ss is selector " + hex(ss.selector()) + " dpl " + ss.dpl()
                    + ", not ScratchVM's ring-3 data segment " + hex(BootLayout.USER_DS);
        }
        String[] names = {"ds", "es", "fs", "gs"};
        Segment[] data = {s.ds(), s.es(), s.fs(), s.gs()};
        for (int i = 0; i < 4; i++) {
            Segment d = data[i];
            // What ring 3 can load: the null selector, or one of ScratchVM's two ring-3 descriptors.
            int index = d.selector() & ~3;
            boolean usable = d.present() == 1 && d.unusable() == 0;
            if ((index != 0 && index != (BootLayout.USER_DS & ~3) && index != (BootLayout.USER_CS & ~3))
                    || (usable && index != 0 && d.dpl() != 3)) {
                return "vCPU " + names[i] + " is selector " + hex(d.selector()) + " dpl " + d.dpl()
                        + ", not one a ring-3 program can load";
            }
        }
        if (!canonical(s.fs().base())) return "vCPU fs base " + hex(s.fs().base()) + " is not canonical";
        if (!canonical(s.gs().base())) return "vCPU gs base " + hex(s.gs().base()) + " is not canonical";
        return null;
    }

    private static String events(VcpuEvents e, SpecialRegisters s) {
        // Nothing is ever in flight at a system call return, and nothing in ScratchVM raises
        // an NMI or SMI or injects an interrupt: any of these would be the image's doing
        // (SMM in particular hangs the vCPU, there being no SMM handler).
        int[] values = {e.exceptionInjected(), e.exceptionPending(), e.exceptionHasPayload(), e.interruptInjected(),
                e.interruptShadow(), e.nmiInjected(), e.nmiPending(), e.nmiMasked(), e.smiSmm(), e.smiPending(),
                e.smiInsideNmi(), e.smiLatchedInit(), e.tripleFaultPending()};
        String[] names = {"exception_injected", "exception_pending", "exception_has_payload", "interrupt_injected",
                "interrupt_shadow", "nmi_injected", "nmi_pending", "nmi_masked", "smi_smm", "smi_pending",
                "smi_inside_nmi", "smi_latched_init", "triple_fault_pending"};
        for (int i = 0; i < values.length; i++) {
            if (values[i] != 0) return "vCPU events." + names[i] + " is " + values[i] + ", must be 0";
        }
        for (int i = 0; i < 4; i++) {
            if (s.interruptBitmap().get(i) != 0) {
                return "vCPU interrupt_bitmap" + i + " is " + hex(s.interruptBitmap().get(i)) + ", must be 0 (no interrupt sources)";
            }
        }
        return null;
    }

    /** 48-bit canonical: bits 63-47 all equal. (A 57-bit address space is not enabled: CR4.LA57 is checked.) */
    static boolean canonical(long v) {
        return (v >> 47) == 0 || (v >> 47) == -1;
    }
}
