package dev.scratchvm.linux;

import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.KernelState.AltStack;
import dev.scratchvm.state.KernelState.PendingSignal;
import dev.scratchvm.state.KernelState.SignalAction;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.x86.Registers;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * x86-64 Linux's struct rt_sigframe on the guest's stack: built when a handler is entered,
 * read back by rt_sigreturn. The layout is the kernel's (arch/x86/include/asm/sigframe.h,
 * uapi asm/sigcontext.h), so libc code that looks into a ucontext_t finds what it expects:
 * <pre>
 *   frame+0    pretcode (sa_restorer; the handler's return address)
 *   frame+8    struct ucontext: uc_flags, uc_link, uc_stack (24), uc_mcontext (256), uc_sigmask (8)
 *   frame+312  siginfo_t (128)
 *   above      the XSAVE area uc_mcontext.fpstate points to, 64-byte aligned, ending in FP_XSTATE_MAGIC2
 * </pre>
 */
final class SignalFrames {
    private static final int UC = 8, UC_STACK = UC + 16, MCONTEXT = UC + 40, SIGMASK = UC + 296, INFO = UC + 304;
    static final int FRAME_SIZE = INFO + 128;
    /** sigcontext words after the 16 general registers, rip and eflags. */
    private static final int SC_CSGSFS = 18, SC_ERR = 19, SC_TRAPNO = 20, SC_OLDMASK = 21, SC_CR2 = 22, SC_FPSTATE = 23;
    private static final long UC_FP_XSTATE = 1, UC_SIGCONTEXT_SS = 2, UC_STRICT_RESTORE_SS = 4;
    private static final int FP_XSTATE_MAGIC1 = 0x46505853, FP_XSTATE_MAGIC2 = 0x46505845, SW_BYTES = 464;
    private static final int MXCSR = 24, MXCSR_MASK = 28, XSTATE_BV = 512, XCOMP_BV = 520, LEGACY = 512, HEADER = 64;
    private static final int REDZONE = 128;
    /** Flags a frame may change (Linux's FIX_EFLAGS less TF and RF: the VMM does not debug its guest). */
    private static final long FIX_EFLAGS = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x400 | 0x800 | 0x40000;
    private static final long DF = 0x400, TF = 0x100, RF = 0x10000;

    private final GuestArgs args;
    private final CpuAccess cpu;
    /** The absent page below the stack: a frame that would reach it overflowed the stack. */
    private final long guardPage;

    SignalFrames(GuestArgs args, CpuAccess cpu, long guardPage) {
        this.args = args;
        this.cpu = cpu;
        this.guardPage = guardPage;
    }

    /** Fault details for siginfo and sigcontext: trap number, error code and address (SIGSEGV and friends). */
    record Fault(int trapNo, long errorCode, long address) {
        static final Fault NONE = new Fault(0, 0, 0);
    }

    /**
     * Pushes a frame for {@code info} and points the vCPU at the handler. {@code regs} is the
     * state the handler's return resumes, {@code oldMask} the mask rt_sigreturn restores.
     *
     * @throws SyscallError EFAULT when the frame does not fit writable guest memory
     */
    void enter(Registers regs, PendingSignal info, int overrun, SignalAction action, long oldMask, AltStack alt,
               Fault fault) {
        if ((action.flags() & Signals.SA_RESTORER) == 0) throw new SyscallError(Errno.EFAULT); // x86-64 has no vDSO trampoline
        if (!canonical(action.handler())) throw new SyscallError(Errno.EFAULT); // Linux's return to it would fault
        long sp = regs.rsp() - REDZONE;
        boolean onAlt = onStack(alt, regs.rsp());
        if ((action.flags() & Signals.SA_ONSTACK) != 0 && alt != null && !onAlt) sp = alt.sp() + alt.size();
        int xsize = cpu.fpuStateSize();
        long fp = (sp - (xsize + 4)) & ~63L;
        long frame = ((fp - FRAME_SIZE) & ~15L) - 8;
        long end = fp + xsize + 4;
        // The VMM writes guest memory directly, past the page tables: refuse what the program could not write.
        if (frame < guardPage + GuestMemory.PAGE_SIZE && end > guardPage) throw new SyscallError(Errno.EFAULT);
        MemorySegment f = args.output(frame, fp + xsize + 4 - frame);
        f.fill((byte) 0);
        long fpOff = fp - frame;

        byte[] xsave = cpu.fpuState();
        MemorySegment.copy(xsave, 0, f, JAVA_BYTE, fpOff, xsize);
        f.set(JAVA_INT_UNALIGNED, fpOff + SW_BYTES, FP_XSTATE_MAGIC1);
        f.set(JAVA_INT_UNALIGNED, fpOff + SW_BYTES + 4, xsize + 4);
        f.set(JAVA_LONG_UNALIGNED, fpOff + SW_BYTES + 8, cpu.fpuFeatures());
        f.set(JAVA_INT_UNALIGNED, fpOff + SW_BYTES + 16, xsize);
        f.set(JAVA_INT_UNALIGNED, fpOff + xsize, FP_XSTATE_MAGIC2);

        f.set(JAVA_LONG_UNALIGNED, 0, action.restorer());
        f.set(JAVA_LONG_UNALIGNED, UC, UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS);
        if (alt != null) {
            f.set(JAVA_LONG_UNALIGNED, UC_STACK, alt.sp());
            f.set(JAVA_INT_UNALIGNED, UC_STACK + 8, (onAlt ? Signals.SS_ONSTACK : 0) | alt.flags());
            f.set(JAVA_LONG_UNALIGNED, UC_STACK + 16, alt.size());
        } else {
            f.set(JAVA_INT_UNALIGNED, UC_STACK + 8, Signals.SS_DISABLE);
        }
        long[] gregs = {regs.r8(), regs.r9(), regs.r10(), regs.r11(), regs.r12(), regs.r13(), regs.r14(), regs.r15(),
                regs.rdi(), regs.rsi(), regs.rbp(), regs.rbx(), regs.rdx(), regs.rax(), regs.rcx(), regs.rsp(),
                regs.rip(), regs.rflags()};
        for (int i = 0; i < gregs.length; i++) f.set(JAVA_LONG_UNALIGNED, MCONTEXT + 8L * i, gregs[i]);
        f.set(JAVA_LONG_UNALIGNED, MCONTEXT + 8L * SC_CSGSFS, cpu.userCodeSelector() | (long) cpu.userStackSelector() << 48);
        f.set(JAVA_LONG_UNALIGNED, MCONTEXT + 8L * SC_ERR, fault.errorCode());
        f.set(JAVA_LONG_UNALIGNED, MCONTEXT + 8L * SC_TRAPNO, fault.trapNo());
        f.set(JAVA_LONG_UNALIGNED, MCONTEXT + 8L * SC_OLDMASK, oldMask);
        f.set(JAVA_LONG_UNALIGNED, MCONTEXT + 8L * SC_CR2, fault.address());
        f.set(JAVA_LONG_UNALIGNED, MCONTEXT + 8L * SC_FPSTATE, fp);
        f.set(JAVA_LONG_UNALIGNED, SIGMASK, oldMask);
        writeInfo(f, INFO, info, overrun, fault);

        // The handler starts with a clean FPU, as Linux gives it (fpu__clear_user_states).
        cpu.setFpuState(initialFpu(xsave));
        long flags = regs.rflags() & ~(DF | TF | RF);
        cpu.setRegisters(new Registers(0, regs.rbx(), regs.rcx(), frame + UC, frame + INFO, info.signal(), frame,
                regs.rbp(), regs.r8(), regs.r9(), regs.r10(), regs.r11(), regs.r12(), regs.r13(), regs.r14(), regs.r15(),
                action.handler(), flags));
    }

    /** A siginfo_t (128 bytes at {@code at}, already zeroed) for {@code p}. */
    static void writeInfo(MemorySegment f, long at, PendingSignal p, int overrun, Fault fault) {
        f.set(JAVA_INT_UNALIGNED, at, p.signal());
        f.set(JAVA_INT_UNALIGNED, at + 8, p.code());
        switch (p.code()) {
            case Signals.SI_TIMER -> {
                f.set(JAVA_INT_UNALIGNED, at + 16, p.timerId());
                f.set(JAVA_INT_UNALIGNED, at + 20, overrun);
                f.set(JAVA_LONG_UNALIGNED, at + 24, p.value());
            }
            case Signals.SI_USER, Signals.SI_TKILL, Signals.SI_QUEUE -> {
                f.set(JAVA_INT_UNALIGNED, at + 16, p.pid());
                f.set(JAVA_INT_UNALIGNED, at + 20, p.uid());
                f.set(JAVA_LONG_UNALIGNED, at + 24, p.value());
            }
            default -> {
                if (fault != Fault.NONE) f.set(JAVA_LONG_UNALIGNED, at + 16, fault.address());
            }
        }
    }

    /** Whether {@code sp} is on the alternate stack (Linux's on_sig_stack). */
    static boolean onStack(AltStack alt, long sp) {
        return alt != null && Long.compareUnsigned(sp - alt.sp(), alt.size()) <= 0 && sp != alt.sp();
    }

    /** What rt_sigreturn finds in a frame: the registers, masks and alternate stack to restore. */
    record Saved(Registers regs, long mask, long stackSp, int stackFlags, long stackSize) {
    }

    /**
     * Reads the frame whose ucontext starts at {@code uc} and restores the FPU state from it.
     * Null when the frame is unusable (unreadable, a non-canonical rip, a broken FPU area):
     * the caller then forces SIGSEGV, as Linux does for a bad frame.
     *
     * @param userFlags the rflags the program had at the rt_sigreturn call (only the arithmetic and direction flags come from the frame)
     */
    Saved restore(long uc, long userFlags) {
        MemorySegment m;
        try {
            m = args.buffer(uc, SIGMASK + 8 - UC);
        } catch (SyscallError e) {
            return null;
        }
        long[] g = new long[24];
        for (int i = 0; i < g.length; i++) g[i] = m.get(JAVA_LONG_UNALIGNED, MCONTEXT - UC + 8L * i);
        long rip = g[16];
        if (!canonical(rip) || !canonical(g[15])) return null;
        if (!restoreFpu(g[SC_FPSTATE])) return null;
        long flags = (userFlags & ~FIX_EFLAGS) | (g[17] & FIX_EFLAGS);
        Registers r = new Registers(g[13], g[11], g[14], g[12], g[9], g[8], g[15], g[10], g[0], g[1], g[2], g[3],
                g[4], g[5], g[6], g[7], rip, flags);
        return new Saved(r, m.get(JAVA_LONG_UNALIGNED, SIGMASK - UC), m.get(JAVA_LONG_UNALIGNED, UC_STACK - UC),
                m.get(JAVA_INT_UNALIGNED, UC_STACK - UC + 8), m.get(JAVA_LONG_UNALIGNED, UC_STACK - UC + 16));
    }

    /**
     * Loads the FPU from a frame's XSAVE area: all of it when its software bytes and end
     * marker say it is one (as Linux checks), the legacy FXSAVE part otherwise; the header
     * and MXCSR are sanitised so that no value the guest wrote can make the load fail.
     */
    private boolean restoreFpu(long at) {
        byte[] now = cpu.fpuState();
        if (at == 0) {
            cpu.setFpuState(initialFpu(now));
            return true;
        }
        if ((at & 63) != 0) return false;
        MemorySegment legacy;
        try {
            legacy = args.buffer(at, LEGACY);
        } catch (SyscallError e) {
            return false;
        }
        int size = cpu.fpuStateSize();
        long features = cpu.fpuFeatures();
        int length = LEGACY;
        long allowed = 3;
        if (legacy.get(JAVA_INT_UNALIGNED, SW_BYTES) == FP_XSTATE_MAGIC1) {
            int frameSize = legacy.get(JAVA_INT_UNALIGNED, SW_BYTES + 16);
            long frameFeatures = legacy.get(JAVA_LONG_UNALIGNED, SW_BYTES + 8);
            if (frameSize >= LEGACY + HEADER && frameSize <= size && args.memory().contains(at, frameSize + 4L)
                    && args.buffer(at + frameSize, 4).get(JAVA_INT_UNALIGNED, 0) == FP_XSTATE_MAGIC2) {
                length = frameSize;
                allowed = features & frameFeatures;
            }
        }
        byte[] next = new byte[now.length];
        MemorySegment.copy(args.buffer(at, length), JAVA_BYTE, 0, next, 0, length);
        MemorySegment n = MemorySegment.ofArray(next);
        long bv = length > LEGACY ? n.get(JAVA_LONG_UNALIGNED, XSTATE_BV) & allowed : 3;
        for (int i = LEGACY; i < LEGACY + HEADER; i++) next[i] = 0;
        n.set(JAVA_LONG_UNALIGNED, XSTATE_BV, bv);
        n.set(JAVA_LONG_UNALIGNED, XCOMP_BV, 0);
        int mask = MemorySegment.ofArray(now).get(JAVA_INT_UNALIGNED, MXCSR_MASK);
        n.set(JAVA_INT_UNALIGNED, MXCSR_MASK, mask);
        n.set(JAVA_INT_UNALIGNED, MXCSR, n.get(JAVA_INT_UNALIGNED, MXCSR) & (mask == 0 ? 0xffbf : mask));
        for (int i = SW_BYTES; i < LEGACY; i++) next[i] = 0;
        cpu.setFpuState(next);
        return true;
    }

    /** The FPU as after FNINIT and a default MXCSR, with no extended state in use. */
    private static byte[] initialFpu(byte[] current) {
        byte[] init = new byte[current.length];
        MemorySegment s = MemorySegment.ofArray(init);
        s.set(JAVA_BYTE, 0, (byte) 0x7f);
        s.set(JAVA_BYTE, 1, (byte) 0x03);
        s.set(JAVA_INT_UNALIGNED, MXCSR, 0x1f80);
        s.set(JAVA_INT_UNALIGNED, MXCSR_MASK, MemorySegment.ofArray(current).get(JAVA_INT_UNALIGNED, MXCSR_MASK));
        s.set(JAVA_LONG_UNALIGNED, XSTATE_BV, 3);
        return init;
    }

    static boolean canonical(long addr) {
        return addr >= 0 && addr < (1L << 47);
    }
}
