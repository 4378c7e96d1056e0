package dev.scratchvm.vmm;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.kvm.VcpuRegisters;
import dev.scratchvm.linux.Signals;
import dev.scratchvm.memory.GuestMemory;

import static dev.scratchvm.kvm.VcpuRegisters.Gpr.RAX;
import static dev.scratchvm.kvm.VcpuRegisters.Gpr.RSP;

/**
 * Turns a CPU exception taken by the guest program into a report. The IDT's stubs
 * run on the VMM's ring-0 stack and tell the VMM the vector; the CPU left the
 * faulting rip (and an error code for some vectors) on that stack.
 */
final class GuestFaults {
    private static final String[] NAMES = {"divide error (#DE)", "debug (#DB)", "NMI", "breakpoint (#BP)",
            "overflow (#OF)", "bound range (#BR)", "invalid opcode (#UD)", "device not available (#NM)",
            "double fault (#DF)", "coprocessor segment overrun", "invalid TSS (#TS)", "segment not present (#NP)",
            "stack fault (#SS)", "general protection fault (#GP)", "page fault (#PF)", "reserved",
            "x87 floating-point error (#MF)", "alignment check (#AC)", "machine check (#MC)",
            "SIMD floating-point error (#XM)", "virtualization exception (#VE)", "control protection (#CP)"};
    private static final long ERROR_CODE_VECTORS = (1L << 8) | (1L << 10) | (1L << 11) | (1L << 12) | (1L << 13)
            | (1L << 14) | (1L << 17) | (1L << 21) | (1L << 29) | (1L << 30);

    private GuestFaults() {
    }

    static Outcome describe(GuestMemory memory, VcpuRegisters regs, boolean verbose) {
        int vector = (int) (regs.get(RAX) & 0xff);
        long rsp = regs.get(RSP);
        boolean hasError = vector < 32 && (ERROR_CODE_VECTORS >> vector & 1) != 0;
        long frame = hasError ? rsp + 8 : rsp;
        // The CPU pushed rip, cs, rflags, rsp, ss of the faulting code onto the ring-0 stack.
        long[] interrupted = null;
        String where = "";
        if (frame >= BootLayout.FAULT_STACK && frame + 40 <= BootLayout.FAULT_STACK_TOP) {
            interrupted = new long[5];
            for (int i = 0; i < 5; i++) interrupted[i] = memory.readLong(frame + 8L * i);
            where = " at rip 0x" + Long.toHexString(interrupted[0]);
        }
        String name = vector < NAMES.length ? NAMES[vector] : "exception " + vector;
        StringBuilder reason = new StringBuilder("guest crashed: ").append(name).append(where);
        if (vector == 14) {
            long cr2 = regs.sregs().cr2();
            reason.append(" accessing 0x").append(Long.toHexString(cr2));
            if (cr2 < BootLayout.GUEST_BASE && cr2 < 0x1000) reason.append(" (NULL pointer dereference)");
        }
        if (verbose) reason.append('\n').append(faultRegisters(regs, interrupted));
        int signal = switch (vector) {
            case 0, 16, 19 -> Signals.SIGFPE;
            case 1, 3 -> Signals.SIGTRAP;
            case 6 -> Signals.SIGILL;
            case 17 -> Signals.SIGBUS;
            default -> Signals.SIGSEGV;
        };
        return new Outcome.Killed(signal, reason.toString());
    }

    /**
     * The program's registers at the fault: rip, rsp, rflags, cs and ss from the exception
     * frame, the others from the vCPU (the stub changed only al, which held the vector).
     */
    private static String faultRegisters(VcpuRegisters regs, long[] frame) {
        if (frame == null) return registers(regs);
        var r = regs.regs();
        var s = regs.sregs();
        return String.format("  rip=%016x rsp=%016x rflags=%016x cs=%04x ss=%04x%n"
                        + "  rax=%014x?? rbx=%016x rcx=%016x rdx=%016x%n"
                        + "  rsi=%016x rdi=%016x rbp=%016x r8 =%016x%n"
                        + "  r9 =%016x r10=%016x r11=%016x r12=%016x%n"
                        + "  r13=%016x r14=%016x r15=%016x%n  cr2=%x cr3=%x fs.base=%x",
                frame[0], frame[3], frame[2], frame[1] & 0xffff, frame[4] & 0xffff, r.rax() >>> 8, r.rbx(), r.rcx(),
                r.rdx(), r.rsi(), r.rdi(), r.rbp(), r.r8(), r.r9(), r.r10(), r.r11(), r.r12(), r.r13(), r.r14(), r.r15(),
                s.cr2(), s.cr3(), s.fs().base());
    }

    /** A register dump for --verbose. */
    static String registers(VcpuRegisters regs) {
        var r = regs.regs();
        var s = regs.sregs();
        return String.format("  rip=%016x rsp=%016x rflags=%016x%n  rax=%016x rbx=%016x rcx=%016x rdx=%016x%n"
                        + "  rsi=%016x rdi=%016x rbp=%016x r8 =%016x%n  cs=%04x ss=%04x cr0=%x cr2=%x cr3=%x cr4=%x efer=%x fs.base=%x",
                r.rip(), r.rsp(), r.rflags(), r.rax(), r.rbx(), r.rcx(), r.rdx(), r.rsi(), r.rdi(), r.rbp(), r.r8(),
                s.cs().selector(), s.ss().selector(), s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.efer(), s.fs().base());
    }
}
