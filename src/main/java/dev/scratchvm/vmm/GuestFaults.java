package dev.scratchvm.vmm;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.kvm.VcpuRegisters;
import dev.scratchvm.linux.Signals;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.x86.Registers;

import static dev.scratchvm.kvm.VcpuRegisters.Gpr.RAX;
import static dev.scratchvm.kvm.VcpuRegisters.Gpr.RSP;

/**
 * A CPU exception taken by the guest program: read from what the IDT's stubs leave on the
 * VMM's ring-0 stack (the program's rax, pushed by the stub; an error code for some vectors;
 * the rip, cs, rflags, rsp and ss the CPU pushed), turned into the signal Linux would send,
 * or into a report when the program ends of it.
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
    private static final int SEGV_MAPERR = 1, SEGV_ACCERR = 2, ILL_ILLOPN = 2, FPE_INTDIV = 1, FPE_INTOVF = 2,
            BUS_ADRALN = 1, TRAP_BRKPT = 1, SI_KERNEL = 0x80;

    private GuestFaults() {
    }

    /**
     * One exception.
     *
     * @param frame rip, cs, rflags, rsp, ss of the interrupted code; null when the stack did not hold them
     * @param rax   the program's rax, as the stub saved it
     */
    record Fault(int vector, long errorCode, long[] frame, long rax, long cr2) {
        /** Whether the program (ring 3) took it, so that it can be turned into a signal. */
        boolean inProgram() {
            return frame != null && (frame[1] & 3) == 3;
        }

        int signal() {
            return switch (vector) {
                case 0, 4, 16, 19 -> Signals.SIGFPE;
                case 1, 3 -> Signals.SIGTRAP;
                case 6 -> Signals.SIGILL;
                case 11, 12, 17 -> Signals.SIGBUS;
                default -> Signals.SIGSEGV;
            };
        }

        /** si_code as Linux's trap handlers give it. */
        int code() {
            return switch (vector) {
                case 14 -> (errorCode & 1) != 0 ? SEGV_ACCERR : SEGV_MAPERR;
                case 0 -> FPE_INTDIV;
                case 4 -> FPE_INTOVF;
                case 6 -> ILL_ILLOPN;
                case 17 -> BUS_ADRALN;
                case 1, 3 -> TRAP_BRKPT;
                default -> SI_KERNEL;
            };
        }

        /** si_addr: the address touched for a page fault, the instruction for SIGILL and SIGFPE, 0 otherwise. */
        long address() {
            return switch (vector) {
                case 14 -> cr2;
                case 0, 4, 6, 16, 19 -> frame[0];
                default -> 0;
            };
        }

        /** The program's registers at the fault. */
        Registers programRegisters(Registers now) {
            return new Registers(rax, now.rbx(), now.rcx(), now.rdx(), now.rsi(), now.rdi(), frame[3], now.rbp(),
                    now.r8(), now.r9(), now.r10(), now.r11(), now.r12(), now.r13(), now.r14(), now.r15(), frame[0],
                    frame[2]);
        }
    }

    static Fault read(GuestMemory memory, VcpuRegisters regs) {
        int vector = (int) (regs.get(RAX) & 0xff);
        long rsp = regs.get(RSP);
        boolean hasError = vector < 32 && (ERROR_CODE_VECTORS >> vector & 1) != 0;
        long errorAt = rsp + 8, frameAt = hasError ? rsp + 16 : rsp + 8;
        long[] frame = null;
        long rax = 0, error = 0;
        if (rsp >= BootLayout.FAULT_STACK && frameAt + 40 <= BootLayout.FAULT_STACK_TOP) {
            rax = memory.readLong(rsp);
            if (hasError) error = memory.readLong(errorAt);
            frame = new long[5];
            for (int i = 0; i < 5; i++) frame[i] = memory.readLong(frameAt + 8L * i);
        }
        return new Fault(vector, error, frame, rax, vector == 14 ? regs.sregs().cr2() : 0);
    }

    static Outcome describe(Fault f, VcpuRegisters regs, boolean verbose) {
        String where = f.frame() == null ? "" : " at rip 0x" + Long.toHexString(f.frame()[0]);
        String name = f.vector() < NAMES.length ? NAMES[f.vector()] : "exception " + f.vector();
        StringBuilder reason = new StringBuilder("guest crashed: ").append(name).append(where);
        if (f.vector() == 14) {
            long cr2 = f.cr2();
            reason.append(" accessing 0x").append(Long.toHexString(cr2));
            if (cr2 < BootLayout.GUEST_BASE && cr2 < 0x1000) reason.append(" (NULL pointer dereference)");
        }
        if (verbose) reason.append('\n').append(faultRegisters(regs, f));
        return new Outcome.Killed(f.signal(), reason.toString());
    }

    /**
     * The program's registers at the fault: rip, rsp, rflags, cs and ss from the exception
     * frame, rax from the stub's push, the others from the vCPU.
     */
    private static String faultRegisters(VcpuRegisters regs, Fault f) {
        long[] frame = f.frame();
        if (frame == null) return registers(regs);
        var r = regs.regs();
        var s = regs.sregs();
        return String.format("  rip=%016x rsp=%016x rflags=%016x cs=%04x ss=%04x%n"
                        + "  rax=%016x rbx=%016x rcx=%016x rdx=%016x%n"
                        + "  rsi=%016x rdi=%016x rbp=%016x r8 =%016x%n"
                        + "  r9 =%016x r10=%016x r11=%016x r12=%016x%n"
                        + "  r13=%016x r14=%016x r15=%016x%n  cr2=%x cr3=%x fs.base=%x",
                frame[0], frame[3], frame[2], frame[1] & 0xffff, frame[4] & 0xffff, f.rax(), r.rbx(), r.rcx(),
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
